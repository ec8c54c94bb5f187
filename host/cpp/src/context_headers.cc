// Header map host functions on the stream's request and response headers (and the read-only
// headers of a call answer); an edit of the request headers clears the route cache.
#include <functional>

#include "envoy_context.h"
#include "events.h"
#include "stream.h"
#include "util.h"

namespace cpphost {

using proxy_wasm::Pairs;
using proxy_wasm::WasmHeaderMapType;

HeaderMap* EnvoyContext::getMap(WasmHeaderMapType type) {
  switch (type) {
    case WasmHeaderMapType::RequestHeaders: return request_headers_;
    case WasmHeaderMapType::ResponseHeaders: return response_headers_;
    default: return nullptr;  // trailers are not modelled; call answers are read-only
  }
}

const HeaderMap* EnvoyContext::getConstMap(WasmHeaderMapType type) {
  switch (type) {
    case WasmHeaderMapType::RequestHeaders:
      return access_log_phase_ ? access_log_request_headers_ : request_headers_;
    case WasmHeaderMapType::ResponseHeaders:
      return access_log_phase_ ? access_log_response_headers_ : response_headers_;
    case WasmHeaderMapType::HttpCallResponseHeaders: {
      auto* root = rootContext();
      return root != nullptr && root->http_call_response_ != nullptr ? &root->http_call_response_->headers : nullptr;
    }
    default:
      return nullptr;
  }
}

void EnvoyContext::onHeadersModified(WasmHeaderMapType type) {
  // Envoy 1.27 (Higress): an edit of the request headers clears the route cache.
  if (type == WasmHeaderMapType::RequestHeaders) clearRouteCache();
}

void EnvoyContext::clearRouteCache() {
  if (stream != nullptr && !disable_clear_route_cache_) {
    Json ev = Json::object();
    ev.set("ev", "clear_route_cache");
    ev.set("stream", stream->name);
    record(ev);
  }
}

WasmResult EnvoyContext::editHeaderMap(WasmHeaderMapType type, Json ev, const std::function<void(HeaderMap&)>& edit) {
  auto* map = getMap(type);
  if (map != nullptr) edit(*map);
  WasmResult r = map == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  ev.set("r", resultName(r));
  record(ev);
  if (map != nullptr) onHeadersModified(type);
  return r;
}

WasmResult EnvoyContext::addHeaderMapValue(WasmHeaderMapType type, std::string_view key, std::string_view value) {
  Json ev = call("add_header_map_value");
  ev.set("map", mapName(type));
  ev.set("key", utf8Lossy(key));
  ev.set("value", utf8Lossy(value));
  return editHeaderMap(type, std::move(ev), [&](HeaderMap& map) { map.addCopy(key, value); });
}

WasmResult EnvoyContext::getHeaderMapValue(WasmHeaderMapType type, std::string_view key, std::string_view* result) {
  auto* map = getConstMap(type);
  if (map == nullptr) return access_log_phase_ ? WasmResult::NotFound : WasmResult::BadArgument;
  auto* v = map->get(key);
  if (v == nullptr) return WasmResult::NotFound;
  *result = *v;
  return WasmResult::Ok;
}

WasmResult EnvoyContext::getHeaderMapPairs(WasmHeaderMapType type, Pairs* result) {
  result->clear();
  auto* map = getConstMap(type);
  if (map != nullptr) {
    for (const auto& e : map->entries) result->emplace_back(e.first, e.second);
  }
  return WasmResult::Ok;
}

WasmResult EnvoyContext::setHeaderMapPairs(WasmHeaderMapType type, const Pairs& pairs) {
  Json ev = call("set_header_map_pairs");
  ev.set("map", mapName(type));
  ev.set("pairs", pairsJson(pairs));
  return editHeaderMap(type, std::move(ev), [&](HeaderMap& map) {
    map.entries.clear();
    for (const auto& p : pairs) map.addCopy(p.first, p.second);
  });
}

WasmResult EnvoyContext::removeHeaderMapValue(WasmHeaderMapType type, std::string_view key) {
  Json ev = call("remove_header_map_value");
  ev.set("map", mapName(type));
  ev.set("key", utf8Lossy(key));
  return editHeaderMap(type, std::move(ev), [&](HeaderMap& map) { map.remove(key); });
}

WasmResult EnvoyContext::replaceHeaderMapValue(WasmHeaderMapType type, std::string_view key,
                                               std::string_view value) {
  Json ev = call("replace_header_map_value");
  ev.set("map", mapName(type));
  ev.set("key", utf8Lossy(key));
  ev.set("value", utf8Lossy(value));
  return editHeaderMap(type, std::move(ev), [&](HeaderMap& map) { map.setCopy(key, value); });
}

WasmResult EnvoyContext::getHeaderMapSize(WasmHeaderMapType type, uint32_t* result) {
  auto* map = getMap(type);
  if (map == nullptr) return WasmResult::BadArgument;
  *result = static_cast<uint32_t>(map->byteSize());
  return WasmResult::Ok;
}

}  // namespace cpphost
