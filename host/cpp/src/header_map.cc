#include "header_map.h"

#include "util.h"

namespace cpphost {

namespace {

bool isPseudo(std::string_view key) { return !key.empty() && key[0] == ':'; }

}  // namespace

void HeaderMap::addCopy(std::string_view key, std::string_view value) {
  std::string k = asciiLower(key);
  if (isPseudo(k)) {
    size_t pos = 0;
    while (pos < entries.size() && isPseudo(entries[pos].first)) pos++;
    entries.insert(entries.begin() + static_cast<long>(pos), {k, std::string(value)});
  } else {
    entries.emplace_back(k, std::string(value));
  }
}

void HeaderMap::setCopy(std::string_view key, std::string_view value) {
  std::string k = asciiLower(key);
  for (auto& e : entries) {
    if (e.first == k) {
      e.second = std::string(value);
      return;
    }
  }
  addCopy(k, value);
}

void HeaderMap::remove(std::string_view key) {
  std::string k = asciiLower(key);
  std::vector<std::pair<std::string, std::string>> kept;
  for (auto& e : entries) {
    if (e.first != k) kept.push_back(std::move(e));
  }
  entries = std::move(kept);
}

const std::string* HeaderMap::get(std::string_view key) const {
  std::string k = asciiLower(key);
  for (const auto& e : entries) {
    if (e.first == k) return &e.second;
  }
  return nullptr;
}

size_t HeaderMap::byteSize() const {
  size_t n = 0;
  for (const auto& e : entries) n += e.first.size() + e.second.size();
  return n;
}

Json HeaderMap::toJson() const {
  Json a = Json::array();
  for (const auto& e : entries) {
    Json p = Json::array();
    p.push(utf8Lossy(e.first));
    p.push(utf8Lossy(e.second));
    a.push(std::move(p));
  }
  return a;
}

}  // namespace cpphost
