// Envoy's HeaderMapImpl as far as a Wasm filter can tell.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json.h"

namespace cpphost {

/** Lower-case keys, pseudo-headers first, duplicates kept in order. */
struct HeaderMap {
  std::vector<std::pair<std::string, std::string>> entries;

  void addCopy(std::string_view key, std::string_view value);
  /** Envoy setCopy: replaces the first occurrence (others stay), else adds. */
  void setCopy(std::string_view key, std::string_view value);
  void remove(std::string_view key);
  const std::string* get(std::string_view key) const;
  size_t size() const { return entries.size(); }
  size_t byteSize() const;
  Json toJson() const;
};

}  // namespace cpphost
