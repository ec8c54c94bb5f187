// What a plugin does to its stream: continue it, close it, answer it locally -- all deferred
// until the VM call returns -- and failStream, cpp-host's answer to a failed VM.
#include <cctype>
#include <vector>

#include "envoy_context.h"
#include "events.h"
#include "runner.h"
#include "stream.h"
#include "util.h"

namespace cpphost {

using proxy_wasm::Pairs;
using proxy_wasm::WasmStreamType;

namespace {

/** StringUtil::replaceAllEmptySpace: details never carry blanks. */
std::string replaceAllEmptySpace(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (std::isspace(static_cast<unsigned char>(c))) c = '_';
  }
  return out;
}

}  // namespace

WasmResult EnvoyContext::continueStream(WasmStreamType type) {
  WasmResult r = WasmResult::Ok;
  Stream* s = stream;
  switch (type) {
    case WasmStreamType::Request:
      if (s != nullptr) wasm()->addAfterVmCallAction([s] { s->continueDecoding(); });
      break;
    case WasmStreamType::Response:
      if (s != nullptr) wasm()->addAfterVmCallAction([s] { s->continueEncoding(); });
      break;
    case WasmStreamType::Downstream:
      break;
    case WasmStreamType::Upstream:
      r = WasmResult::Unimplemented;
      break;
    default:
      r = WasmResult::BadArgument;
  }
  if (type == WasmStreamType::Request || type == WasmStreamType::Response) {
    // Envoy drops its request-side pointers on any continue.
    request_headers_ = nullptr;
    request_body_buffer_ = nullptr;
  }
  Json ev = call("continue_stream");
  ev.set("stream", streamTypeName(type));
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::closeStream(WasmStreamType type) {
  WasmResult r = WasmResult::Ok;
  Stream* s = stream;
  if (type == WasmStreamType::Request || type == WasmStreamType::Response) {
    if (s != nullptr) wasm()->addAfterVmCallAction([s] { s->resetStream("wasm_close_stream"); });
  } else if (type != WasmStreamType::Downstream && type != WasmStreamType::Upstream) {
    r = WasmResult::BadArgument;
  }
  Json ev = call("close_stream");
  ev.set("stream", streamTypeName(type));
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::sendLocalResponse(uint32_t response_code, std::string_view body_text,
                                           Pairs additional_headers, uint32_t grpc_status,
                                           std::string_view details) {
  Json ev = call("send_local_response");
  ev.set("status", static_cast<uint64_t>(response_code));
  ev.set("details", utf8Lossy(details));
  ev.set("body", bodyJson(body_text));
  ev.set("headers", pairsJson(additional_headers));
  ev.set("grpc_status", static_cast<int64_t>(static_cast<int32_t>(grpc_status)));
  ev.set("r", "Ok");
  record(ev);
  if (stream != nullptr) {
    std::vector<std::pair<std::string, std::string>> copy;
    for (const auto& p : additional_headers) copy.emplace_back(asciiLower(p.first), std::string(p.second));
    Stream* s = stream;
    std::string body(body_text);
    std::string d = replaceAllEmptySpace(details);
    int code = static_cast<int>(response_code);
    wasm()->addAfterVmCallAction([s, code, body, copy, d] {
      s->sendLocalReply(code, body, [copy](HeaderMap& h) {
        for (const auto& p : copy) h.addCopy(p.first, p.second);
      }, d);
    });
  }
  return WasmResult::Ok;
}

void EnvoyContext::failStream(WasmStreamType type) {
  if (stream == nullptr) return;
  if (type != WasmStreamType::Request && type != WasmStreamType::Response) return;
  Json ev = Json::object();
  ev.set("ev", "fail_stream");
  ev.set("stream", stream->name);
  ev.set("dir", streamTypeName(type));
  stream->runner->record(ev);
  // Envoy: sendLocalReply(503, "", ..., "wasm_fail_stream"). The first of the two
  // calls answers the client; the second finds the answer sent.
  stream->sendLocalReply(503, "", nullptr, "wasm_fail_stream");
}

}  // namespace cpphost
