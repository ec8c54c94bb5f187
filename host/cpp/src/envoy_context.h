// EnvoyContext: the ContextBase Envoy 1.27 (as Higress builds it) implements in
// source/extensions/common/wasm/context.cc -- the VM context, root contexts, and
// one per stream, the Wasm HTTP filter itself. Its parts are defined by job:
//
//   envoy_context.cc       construction, the filter entry points (decodeHeaders, ...),
//                          logs, clocks, configuration, body buffers
//   context_http_calls.cc  proxy_http_call and its answers (gRPC, Redis: Unimplemented)
//   context_headers.cc     header map host functions, the route cache
//   context_properties.cc  proxy_get_property / proxy_set_property
//   context_metrics.cc     counters, gauges, histograms
//   context_control.cc     continue, close, local replies, failStream
//
// Every behaviour modelled is described, with the Envoy source it follows, in
// tests/conformance/README.md ("What the C++ host models").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "envoy_buffer.h"
#include "envoy_wasm.h"
#include "header_map.h"
#include "http_call.h"
#include "include/proxy-wasm/context.h"
#include "json.h"

namespace cpphost {

class Runner;
struct Stream;

class EnvoyContext : public proxy_wasm::ContextBase {
public:
  EnvoyContext(EnvoyWasm* wasm);                                                  // VM context
  EnvoyContext(EnvoyWasm* wasm, const std::shared_ptr<proxy_wasm::PluginBase>& plugin);  // root
  EnvoyContext(EnvoyWasm* wasm, uint32_t root_context_id,
               const std::shared_ptr<proxy_wasm::PluginHandleBase>& plugin_handle);  // stream
  ~EnvoyContext() override;

  EnvoyWasm* envoyWasm() const { return static_cast<EnvoyWasm*>(wasm_); }
  EnvoyContext* rootContext() const { return static_cast<EnvoyContext*>(root_context()); }
  Runner* runner() const { return runner_; }
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  bool inVmContextCreated() const { return in_vm_context_created_; }
  bool destroyedFlag() const { return destroyed_; }
  std::shared_ptr<proxy_wasm::PluginHandleBase> pluginHandle() const { return plugin_handle_; }

  // ---- Envoy's HTTP filter entry points (Context::decodeHeaders, encodeData, ...) ----
  proxy_wasm::FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool end_stream);
  proxy_wasm::FilterDataStatus decodeData(std::string& data, bool end_stream);
  proxy_wasm::FilterHeadersStatus encodeHeaders(HeaderMap& headers, bool end_stream);
  proxy_wasm::FilterDataStatus encodeData(std::string& data, bool end_stream);
  void accessLog();
  void onDestroy();
  // The AsyncClient's callbacks for a call this root context made (context_http_calls.cc).
  void onHttpCallSuccess(uint32_t token, CallResponse response);
  void onHttpCallFailure(uint32_t token);

  Stream* stream = nullptr;

  // ---- ContextBase: what Envoy implements ----
  // envoy_context.cc
  void error(std::string_view message) override;
  WasmResult log(uint32_t level, std::string_view message) override;
  uint32_t getLogLevel() override;
  uint64_t getCurrentTimeNanoseconds() override;
  uint64_t getMonotonicTimeNanoseconds() override;
  std::string_view getConfiguration() override;
  std::pair<uint32_t, std::string_view> getStatus() override;

  proxy_wasm::BufferInterface* getBuffer(proxy_wasm::WasmBufferType type) override;
  WasmResult setBuffer(proxy_wasm::WasmBufferType type, size_t start, size_t length,
                       std::string_view data) override;
  bool endOfStream(proxy_wasm::WasmStreamType type) override;

  // context_http_calls.cc
  WasmResult httpCall(std::string_view cluster, const proxy_wasm::Pairs& request_headers,
                      std::string_view request_body, const proxy_wasm::Pairs& request_trailers,
                      int timeout_milliseconds, uint32_t* token_ptr) override;
  WasmResult grpcCall(std::string_view, std::string_view, std::string_view, const proxy_wasm::Pairs&,
                      std::string_view, std::chrono::milliseconds, uint32_t*) override;
  WasmResult grpcStream(std::string_view, std::string_view, std::string_view, const proxy_wasm::Pairs&,
                        uint32_t*) override;
  WasmResult grpcClose(uint32_t) override;
  WasmResult grpcCancel(uint32_t) override;
  WasmResult grpcSend(uint32_t, std::string_view, bool) override;
  WasmResult redisInit(std::string_view, std::string_view, std::string_view, int) override;
  WasmResult redisCall(std::string_view, std::string_view, uint32_t*) override;

  // context_metrics.cc
  WasmResult defineMetric(uint32_t type, std::string_view name, uint32_t* metric_id_ptr) override;
  WasmResult incrementMetric(uint32_t metric_id, int64_t offset) override;
  WasmResult recordMetric(uint32_t metric_id, uint64_t value) override;
  WasmResult getMetric(uint32_t metric_id, uint64_t* value_ptr) override;

  // context_properties.cc
  WasmResult getProperty(std::string_view path, std::string* result) override;
  WasmResult setProperty(std::string_view key, std::string_view value) override;

  // context_control.cc
  WasmResult continueStream(proxy_wasm::WasmStreamType type) override;
  WasmResult closeStream(proxy_wasm::WasmStreamType type) override;
  WasmResult sendLocalResponse(uint32_t response_code, std::string_view body_text,
                               proxy_wasm::Pairs additional_headers, uint32_t grpc_status,
                               std::string_view details) override;
  void failStream(proxy_wasm::WasmStreamType type) override;

  // context_headers.cc
  void clearRouteCache() override;
  WasmResult addHeaderMapValue(proxy_wasm::WasmHeaderMapType type, std::string_view key,
                               std::string_view value) override;
  WasmResult getHeaderMapValue(proxy_wasm::WasmHeaderMapType type, std::string_view key,
                               std::string_view* result) override;
  WasmResult getHeaderMapPairs(proxy_wasm::WasmHeaderMapType type, proxy_wasm::Pairs* result) override;
  WasmResult setHeaderMapPairs(proxy_wasm::WasmHeaderMapType type, const proxy_wasm::Pairs& pairs) override;
  WasmResult removeHeaderMapValue(proxy_wasm::WasmHeaderMapType type, std::string_view key) override;
  WasmResult replaceHeaderMapValue(proxy_wasm::WasmHeaderMapType type, std::string_view key,
                                   std::string_view value) override;
  WasmResult getHeaderMapSize(proxy_wasm::WasmHeaderMapType type, uint32_t* result) override;

  // Root context: the calls it made, by token.
  std::map<uint32_t, int> http_request_;  // token -> call index
  CallResponse* http_call_response_ = nullptr;

private:
  /** An answer to `token` reaches the VM: it is still out and the VM has not failed (else it is dropped). */
  bool answerReachesVm(uint32_t token);
  HeaderMap* getMap(proxy_wasm::WasmHeaderMapType type);
  const HeaderMap* getConstMap(proxy_wasm::WasmHeaderMapType type);
  void onHeadersModified(proxy_wasm::WasmHeaderMapType type);
  /** One header map edit: applies it to the map (BadArgument when there is none), records `ev`. */
  WasmResult editHeaderMap(proxy_wasm::WasmHeaderMapType type, Json ev, const std::function<void(HeaderMap&)>& edit);
  void record(Json event);
  Json call(const char* fn);

  Runner* runner_;
  std::string name_;
  EnvoyBuffer buffer_;

  HeaderMap* request_headers_ = nullptr;
  HeaderMap* response_headers_ = nullptr;
  std::string* request_body_buffer_ = nullptr;
  std::string* response_body_buffer_ = nullptr;
  std::string request_chunk_;   // the frame being decoded (Envoy: the codec's buffer)
  std::string response_chunk_;  // the frame being encoded
  bool buffering_request_body_ = false;
  bool buffering_response_body_ = false;
  bool end_of_stream_ = false;
  bool access_log_phase_ = false;
  const HeaderMap* access_log_request_headers_ = nullptr;
  const HeaderMap* access_log_response_headers_ = nullptr;
  bool disable_clear_route_cache_ = false;

  uint32_t status_code_ = 0;
  std::string status_message_;
  std::map<std::string, std::string> filter_state_;  // proxy_set_property values

  friend class Runner;
  friend struct Stream;
};

}  // namespace cpphost
