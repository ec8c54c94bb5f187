// The end of a transcript: events, contexts, what each client received, the calls,
// metrics and scenario errors.
#include <cstdlib>

#include "runner.h"
#include "util.h"

namespace cpphost {

void Runner::writeTranscript(Json& out) const {
  out.set("events", events_);
  out.set("contexts", contexts_);
  out.set("clients", clients());
  out.set("calls", callsJson());
  out.set("metrics", metricsJson());
  Json errs = Json::array();
  for (const auto& e : errors_) errs.push(e);
  out.set("errors", errs);
  out.set("ok", errors_.empty());
}

Json Runner::clients() const {
  Json out = Json::object();
  for (const auto& s : streams_) {
    Json c = Json::object();
    const std::string* status = s->client.headers.get(":status");
    c.set("status", s->client.headersSent && status != nullptr ? Json(static_cast<int64_t>(std::atoll(status->c_str())))
                                                                : Json());
    c.set("headers", s->client.headers.toJson());
    c.set("body", bodyJson(s->client.body));
    c.set("complete", s->client.complete);
    c.set("reset", s->client.reset ? Json(s->client.resetReason) : Json(false));
    if (s->client.localReply) c.set("localReply", *s->client.localReply);
    c.set("pending", !s->client.complete && !s->client.reset);
    out.set(s->name, c);
  }
  return out;
}

Json Runner::callsJson() const {
  Json calls = Json::array();
  for (const auto& c : calls_) {
    Json j = Json::object();
    j.set("call", c.index);
    j.set("stream", c.streamName);
    j.set("cluster", c.cluster);
    const char* state = c.state == HttpCallRecord::State::Pending    ? "pending"
                        : c.state == HttpCallRecord::State::Answered ? "answered"
                        : c.state == HttpCallRecord::State::Dropped  ? "dropped"
                                                                     : "cancelled";
    j.set("state", state);
    calls.push(j);
  }
  return calls;
}

Json Runner::metricsJson() const {
  Json out = Json::object();
  for (const auto& m : metrics_) out.set(m.first, m.second.second);
  return out;
}

}  // namespace cpphost
