// An HTTP call a root context makes (proxy_http_call), as the runner keeps it,
// and its answer as Envoy's AsyncClient hands it over.
#pragma once

#include <cstdint>
#include <string>

#include "header_map.h"

namespace cpphost {

class EnvoyContext;

/** An HTTP call's answer as Envoy's AsyncClient hands it over. */
struct CallResponse {
  HeaderMap headers;
  std::string body;
};

/** A pending or finished proxy_http_call, addressed in scenarios by its order. */
struct HttpCallRecord {
  int index = 0;
  uint32_t token = 0;
  EnvoyContext* root = nullptr;  // null once the root context is gone (call cancelled)
  std::string streamName;        // effective context when dispatched
  std::string cluster;
  HeaderMap headers;
  std::string body;
  int timeoutMs = 0;
  uint64_t deadlineMs = 0;  // monotonic; 0 = no timeout
  enum class State { Pending, Answered, Cancelled, Dropped } state = State::Pending;
};

}  // namespace cpphost
