// The Envoy side of the embedder: what Envoy 1.27 (as Higress builds it)
// implements around proxy-wasm-cpp-host.
//
//   EnvoyWasm     WasmBase: creates our contexts, records every call into the VM
//   EnvoyContext  ContextBase: Envoy's source/extensions/common/wasm/context.cc
//                 (header maps, buffers, http calls on the root context, properties,
//                 metrics, logs, continue / local replies, failStream)
//   Stream        the slice of Envoy's FilterManager one Wasm filter sees: header and
//                 body iteration, the encoder/decoder buffers with their watermark
//                 limit, local replies, what the client and the upstream receive
//
// Every behaviour modelled here is described, with the Envoy source it follows, in
// tests/conformance/README.md ("What the C++ host models").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "include/proxy-wasm/context.h"
#include "include/proxy-wasm/wasm.h"
#include "json.h"

namespace cpphost {

class Runner;
class EnvoyContext;
struct Stream;

using proxy_wasm::WasmResult;

/** Envoy's HeaderMapImpl as far as a filter can tell: lower-case keys, pseudo-headers first. */
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

/** An HTTP call's answer as Envoy's AsyncClient hands it over. */
struct CallResponse {
  HeaderMap headers;
  std::string body;
};

/** A body buffer the plugin can read and (when mutable) change, like Envoy's Buffer wrapper. */
class EnvoyBuffer : public proxy_wasm::BufferBase {
public:
  EnvoyBuffer* setNone();
  EnvoyBuffer* setConst(std::string_view data);
  /** A mutable buffer; `stream` (when set) gets its watermark re-checked after changes. */
  EnvoyBuffer* setMutable(std::string* data, Stream* stream, bool encoder);

  size_t size() const override;
  WasmResult copyTo(proxy_wasm::WasmBase* wasm, size_t start, size_t length, uint64_t ptr_ptr,
                    uint64_t size_ptr) const override;
  WasmResult copyFrom(size_t start, size_t length, std::string_view data) override;

private:
  std::string* mutable_ = nullptr;
  std::string_view const_{};
  bool has_const_ = false;
  Stream* stream_ = nullptr;
  bool encoder_ = true;
};

/** What a VM is for; names its contexts in transcripts. */
enum class VmRole { Base, Canary, Worker };

class EnvoyWasm : public proxy_wasm::WasmBase {
public:
  EnvoyWasm(Runner* runner, std::unique_ptr<proxy_wasm::WasmVm> vm, std::string_view vm_id,
            std::string_view vm_configuration, std::string_view vm_key);
  EnvoyWasm(Runner* runner, VmRole role, const std::shared_ptr<proxy_wasm::WasmHandleBase>& base,
            const proxy_wasm::WasmVmFactory& factory);
  ~EnvoyWasm() override;

  Runner* runner() const { return runner_; }
  VmRole role() const { return role_; }
  const std::string& label() const { return label_; }
  void setLabel(std::string label) { label_ = std::move(label); }

  proxy_wasm::ContextBase* createVmContext() override;
  proxy_wasm::ContextBase* createRootContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) override;
  proxy_wasm::ContextBase* createContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) override;
  void registerCallbacks() override;
  void getFunctions() override;
  void error(std::string_view message) override;
  proxy_wasm::CallOnThreadFunction callOnThreadFunction() override;

  // Metrics, by id (Envoy keeps them per Wasm; the values live in the stats store by name).
  std::map<uint32_t, std::pair<proxy_wasm::MetricType, std::string>> metrics_;

  uint32_t nextCallToken() { return nextHttpCallId(); }
  EnvoyContext* contextById(uint32_t id);

private:
  void wrapCalls();
  Runner* runner_;
  VmRole role_;
  std::string label_;
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
  void onHttpCallSuccess(uint32_t token, CallResponse response);
  void onHttpCallFailure(uint32_t token);

  Stream* stream = nullptr;

  // ---- ContextBase: what Envoy implements ----
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

  WasmResult defineMetric(uint32_t type, std::string_view name, uint32_t* metric_id_ptr) override;
  WasmResult incrementMetric(uint32_t metric_id, int64_t offset) override;
  WasmResult recordMetric(uint32_t metric_id, uint64_t value) override;
  WasmResult getMetric(uint32_t metric_id, uint64_t* value_ptr) override;

  WasmResult getProperty(std::string_view path, std::string* result) override;
  WasmResult setProperty(std::string_view key, std::string_view value) override;

  WasmResult continueStream(proxy_wasm::WasmStreamType type) override;
  WasmResult closeStream(proxy_wasm::WasmStreamType type) override;
  WasmResult sendLocalResponse(uint32_t response_code, std::string_view body_text,
                               proxy_wasm::Pairs additional_headers, uint32_t grpc_status,
                               std::string_view details) override;
  void clearRouteCache() override;
  void failStream(proxy_wasm::WasmStreamType type) override;

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
  HeaderMap* getMap(proxy_wasm::WasmHeaderMapType type);
  const HeaderMap* getConstMap(proxy_wasm::WasmHeaderMapType type);
  void onHeadersModified(proxy_wasm::WasmHeaderMapType type);
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
