#include "events.h"

#include "util.h"

namespace cpphost {

using proxy_wasm::Pairs;
using proxy_wasm::WasmBufferType;
using proxy_wasm::WasmHeaderMapType;
using proxy_wasm::WasmResult;
using proxy_wasm::WasmStreamType;

Json event(const char* name) {
  Json e = Json::object();
  e.set("ev", name);
  return e;
}

const char* resultName(WasmResult r) {
  switch (r) {
    case WasmResult::Ok: return "Ok";
    case WasmResult::NotFound: return "NotFound";
    case WasmResult::BadArgument: return "BadArgument";
    case WasmResult::SerializationFailure: return "SerializationFailure";
    case WasmResult::ParseFailure: return "ParseFailure";
    case WasmResult::BadExpression: return "BadExpression";
    case WasmResult::InvalidMemoryAccess: return "InvalidMemoryAccess";
    case WasmResult::Empty: return "Empty";
    case WasmResult::CasMismatch: return "CasMismatch";
    case WasmResult::ResultMismatch: return "ResultMismatch";
    case WasmResult::InternalFailure: return "InternalFailure";
    case WasmResult::BrokenConnection: return "BrokenConnection";
    case WasmResult::Unimplemented: return "Unimplemented";
  }
  return "Unknown";
}

const char* mapName(WasmHeaderMapType t) {
  switch (t) {
    case WasmHeaderMapType::RequestHeaders: return "request_headers";
    case WasmHeaderMapType::RequestTrailers: return "request_trailers";
    case WasmHeaderMapType::ResponseHeaders: return "response_headers";
    case WasmHeaderMapType::ResponseTrailers: return "response_trailers";
    case WasmHeaderMapType::GrpcReceiveInitialMetadata: return "grpc_initial_metadata";
    case WasmHeaderMapType::GrpcReceiveTrailingMetadata: return "grpc_trailing_metadata";
    case WasmHeaderMapType::HttpCallResponseHeaders: return "http_call_response_headers";
    case WasmHeaderMapType::HttpCallResponseTrailers: return "http_call_response_trailers";
  }
  return "unknown";
}

const char* bufferName(WasmBufferType t) {
  switch (t) {
    case WasmBufferType::HttpRequestBody: return "request_body";
    case WasmBufferType::HttpResponseBody: return "response_body";
    case WasmBufferType::NetworkDownstreamData: return "downstream_data";
    case WasmBufferType::NetworkUpstreamData: return "upstream_data";
    case WasmBufferType::HttpCallResponseBody: return "http_call_response_body";
    case WasmBufferType::GrpcReceiveBuffer: return "grpc_receive_buffer";
    case WasmBufferType::VmConfiguration: return "vm_configuration";
    case WasmBufferType::PluginConfiguration: return "plugin_configuration";
    case WasmBufferType::CallData: return "call_data";
    case WasmBufferType::RedisCallResponse: return "redis_call_response";
  }
  return "unknown";
}

const char* streamTypeName(WasmStreamType t) {
  switch (t) {
    case WasmStreamType::Request: return "request";
    case WasmStreamType::Response: return "response";
    case WasmStreamType::Downstream: return "downstream";
    case WasmStreamType::Upstream: return "upstream";
  }
  return "unknown";
}

const char* levelName(uint32_t level) {
  static const char* names[] = {"trace", "debug", "info", "warn", "error", "critical"};
  return level < 6 ? names[level] : "unknown";
}

const char* metricTypeName(uint32_t t) {
  switch (t) {
    case 0: return "counter";
    case 1: return "gauge";
    case 2: return "histogram";
  }
  return "unknown";
}

Json pairsJson(const Pairs& pairs) {
  Json a = Json::array();
  for (const auto& p : pairs) {
    Json e = Json::array();
    e.push(utf8Lossy(p.first));
    e.push(utf8Lossy(p.second));
    a.push(std::move(e));
  }
  return a;
}

}  // namespace cpphost
