// Properties (Envoy's Context::getProperty, setProperty): plugin, route and cluster names,
// request.* and response.* from the stream, values set by the plugin, the scenario's own.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "envoy_context.h"
#include "events.h"
#include "include/proxy-wasm/pairs_util.h"
#include "stream.h"
#include "util.h"

namespace cpphost {

namespace {
std::string int64Bytes(int64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}
}  // namespace

WasmResult EnvoyContext::getProperty(std::string_view path, std::string* result) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('\0', start);
    if (end == std::string_view::npos) end = path.size();
    parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (parts.empty()) return WasmResult::NotFound;
  const std::string& top = parts[0];
  if (parts.size() == 1) {
    if (top == "plugin_name") { if (!plugin_) return WasmResult::NotFound; *result = plugin_->name_; return WasmResult::Ok; }
    if (top == "plugin_root_id") { *result = std::string(root_id()); return WasmResult::Ok; }
    if (top == "plugin_vm_id") { *result = std::string(wasm()->vm_id()); return WasmResult::Ok; }
  }
  if (stream == nullptr) return WasmResult::NotFound;
  if (parts.size() == 1) {
    if (top == "route_name") { if (stream->route.empty()) return WasmResult::NotFound; *result = stream->route; return WasmResult::Ok; }
    if (top == "cluster_name") { if (stream->cluster.empty()) return WasmResult::NotFound; *result = stream->cluster; return WasmResult::Ok; }
    auto fs = filter_state_.find(top);
    if (fs != filter_state_.end()) { *result = fs->second; return WasmResult::Ok; }
  }
  const HeaderMap* req = request_headers_ != nullptr ? request_headers_ : access_log_request_headers_;
  const HeaderMap* resp = response_headers_ != nullptr ? response_headers_ : access_log_response_headers_;
  auto header = [&](const HeaderMap* m, const char* key) -> WasmResult {
    if (m == nullptr) return WasmResult::NotFound;
    auto* v = m->get(key);
    if (v == nullptr) return WasmResult::NotFound;
    *result = *v;
    return WasmResult::Ok;
  };
  if (top == "request" && parts.size() >= 2) {
    const std::string& f = parts[1];
    if (parts.size() == 2) {
      if (f == "path") return header(req, ":path");
      if (f == "host") return header(req, ":authority");
      if (f == "scheme") return header(req, ":scheme");
      if (f == "method") return header(req, ":method");
      if (f == "referer") return header(req, "referer");
      if (f == "useragent") return header(req, "user-agent");
      if (f == "id") return header(req, "x-request-id");
      if (f == "protocol") { *result = stream->downstreamProtocol; return WasmResult::Ok; }
      if (f == "url_path" || f == "query") {
        if (req == nullptr || req->get(":path") == nullptr) return WasmResult::NotFound;
        const std::string& p = *req->get(":path");
        size_t q = p.find('?');
        *result = f == "url_path" ? p.substr(0, q) : (q == std::string::npos ? "" : p.substr(q + 1));
        return WasmResult::Ok;
      }
      if (f == "headers") {
        if (req == nullptr) return WasmResult::NotFound;
        proxy_wasm::StringPairs pairs(req->entries.begin(), req->entries.end());
        size_t n = proxy_wasm::PairsUtil::pairsSize(pairs);
        result->assign(n, '\0');
        proxy_wasm::PairsUtil::marshalPairs(pairs, result->data(), n);
        return WasmResult::Ok;
      }
    } else if (parts.size() == 3 && f == "headers") {
      return header(req, parts[2].c_str());
    }
    return WasmResult::NotFound;
  }
  if (top == "response" && parts.size() >= 2) {
    const std::string& f = parts[1];
    if (parts.size() == 2 && f == "code") {
      const HeaderMap* m = stream->client.headersSent ? &stream->client.headers
                           : stream->responseHeadersReceived ? &stream->responseHeaders : nullptr;
      if (m == nullptr || m->get(":status") == nullptr) return WasmResult::NotFound;
      *result = int64Bytes(std::atoll(m->get(":status")->c_str()));
      return WasmResult::Ok;
    }
    if (parts.size() == 3 && f == "headers") return header(resp, parts[2].c_str());
    return WasmResult::NotFound;
  }
  // Scenario-provided properties, by dotted path (e.g. source.address).
  std::string dotted;
  for (size_t i = 0; i < parts.size(); i++) dotted += (i ? "." : "") + parts[i];
  auto p = stream->properties.find(dotted);
  if (p != stream->properties.end()) { *result = p->second; return WasmResult::Ok; }
  return WasmResult::NotFound;
}

WasmResult EnvoyContext::setProperty(std::string_view key, std::string_view value) {
  WasmResult r;
  auto parseU32 = [](std::string_view s, uint32_t& out) {
    if (s.empty() || s.size() > 10) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > 0xFFFFFFFFULL) return false;
    out = static_cast<uint32_t>(v);
    return true;
  };
  if (stream == nullptr) {
    r = WasmResult::NotFound;  // no stream info outside a stream
  } else if (key == "clear_route_cache") {
    // Higress: "off" stops header edits from clearing the route cache.
    disable_clear_route_cache_ = value == "off";
    r = WasmResult::Ok;
  } else if (key == "set_decoder_buffer_limit" || key == "set_encoder_buffer_limit") {
    uint32_t limit = 0;
    if (!parseU32(value, limit)) {
      r = WasmResult::BadArgument;
    } else {
      if (key == "set_decoder_buffer_limit") stream->setDecoderLimit(limit);
      else stream->setEncoderLimit(limit);
      r = WasmResult::Ok;
    }
  } else {
    filter_state_[std::string(key)] = std::string(value);
    r = WasmResult::Ok;
  }
  Json ev = call("set_property");
  ev.set("key", utf8Lossy(key));
  ev.set("value", utf8Lossy(value));
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

}  // namespace cpphost
