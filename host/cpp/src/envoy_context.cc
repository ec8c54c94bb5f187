#include "envoy_context.h"

#include "events.h"
#include "runner.h"
#include "stream.h"
#include "util.h"

namespace cpphost {

using proxy_wasm::FilterDataStatus;
using proxy_wasm::FilterHeadersStatus;
using proxy_wasm::WasmBufferType;
using proxy_wasm::WasmStreamType;

// ---- EnvoyContext: construction ----------------------------------------------------

EnvoyContext::EnvoyContext(EnvoyWasm* wasm) : ContextBase(wasm), runner_(wasm->runner()) {
  name_ = wasm->label();
  runner_->noteContext(this);
}

EnvoyContext::EnvoyContext(EnvoyWasm* wasm, const std::shared_ptr<proxy_wasm::PluginBase>& plugin)
    : ContextBase(wasm, plugin), runner_(wasm->runner()) {
  name_ = runner_->nameRootContext(wasm);
  runner_->noteContext(this);
}

EnvoyContext::EnvoyContext(EnvoyWasm* wasm, uint32_t root_context_id,
                           const std::shared_ptr<proxy_wasm::PluginHandleBase>& plugin_handle)
    : ContextBase(wasm, root_context_id, plugin_handle),
      runner_(wasm != nullptr ? wasm->runner() : nullptr) {}

EnvoyContext::~EnvoyContext() {
  // Envoy's ~Context cancels the calls still out; none of them will be answered.
  if (runner_ != nullptr && isRootContext()) runner_->rootGone(this);
}

Json EnvoyContext::call(const char* fn) {
  Json ev = Json::object();
  ev.set("ev", "call");
  ev.set("ctx", name_);
  ev.set("fn", fn);
  return ev;
}

void EnvoyContext::record(Json event) {
  if (runner_ == nullptr || !runner_->recording()) return;
  if (envoyWasm() != nullptr && envoyWasm()->role() == VmRole::Base) return;
  runner_->record(std::move(event));
}

// ---- EnvoyContext: the HTTP filter (Envoy 1.27 context.cc, Higress build) ----------

FilterHeadersStatus EnvoyContext::decodeHeaders(HeaderMap& headers, bool end_stream) {
  onCreate();
  request_headers_ = &headers;
  end_of_stream_ = end_stream;
  auto result = onRequestHeaders(static_cast<uint32_t>(headers.size()), end_stream);
  if (result == FilterHeadersStatus::Continue) request_headers_ = nullptr;
  return result;
}

FilterDataStatus EnvoyContext::decodeData(std::string& data, bool end_stream) {
  if (!in_vm_context_created_) return FilterDataStatus::Continue;
  request_body_buffer_ = &data;
  end_of_stream_ = end_stream;
  // Envoy 1.27: while buffering, the size is that of the data buffered *before* this frame;
  // the frame joins the buffer only after the callback (envoyproxy/envoy#35884, fixed in 1.32).
  auto* buffer = getBuffer(WasmBufferType::HttpRequestBody);
  uint32_t size = buffer == nullptr ? 0 : static_cast<uint32_t>(buffer->size());
  auto result = onRequestBody(size, end_stream);
  buffering_request_body_ = false;
  switch (result) {
    case FilterDataStatus::Continue: request_body_buffer_ = nullptr; break;
    case FilterDataStatus::StopIterationAndBuffer: buffering_request_body_ = true; break;
    default: break;
  }
  return result;
}

FilterHeadersStatus EnvoyContext::encodeHeaders(HeaderMap& headers, bool end_stream) {
  // Higress 1.27: no VM call once the filter is destroyed or was never created.
  if (destroyed_ || !in_vm_context_created_) return FilterHeadersStatus::Continue;
  response_headers_ = &headers;
  end_of_stream_ = end_stream;
  auto result = onResponseHeaders(static_cast<uint32_t>(headers.size()), end_stream);
  if (result == FilterHeadersStatus::Continue) response_headers_ = nullptr;
  return result;
}

FilterDataStatus EnvoyContext::encodeData(std::string& data, bool end_stream) {
  if (destroyed_ || !in_vm_context_created_) return FilterDataStatus::Continue;
  response_body_buffer_ = &data;
  end_of_stream_ = end_stream;
  auto* buffer = getBuffer(WasmBufferType::HttpResponseBody);
  uint32_t size = buffer == nullptr ? 0 : static_cast<uint32_t>(buffer->size());
  auto result = onResponseBody(size, end_stream);
  buffering_response_body_ = false;
  switch (result) {
    case FilterDataStatus::Continue: response_body_buffer_ = nullptr; break;
    case FilterDataStatus::StopIterationAndBuffer: buffering_response_body_ = true; break;
    default: break;
  }
  return result;
}

void EnvoyContext::accessLog() {
  if (!in_vm_context_created_) onCreate();
  access_log_phase_ = true;
  access_log_request_headers_ = stream != nullptr ? &stream->requestHeaders : nullptr;
  access_log_response_headers_ = nullptr;
  if (stream != nullptr) {
    if (stream->client.headersSent) access_log_response_headers_ = &stream->client.headers;
    else if (stream->responseHeadersReceived) access_log_response_headers_ = &stream->responseHeaders;
  }
  onLog();
  access_log_phase_ = false;
  access_log_request_headers_ = nullptr;
  access_log_response_headers_ = nullptr;
}

void EnvoyContext::onDestroy() {
  if (destroyed_ || !in_vm_context_created_) return;
  destroyed_ = true;
  onDone();
  onDelete();
}

// ---- EnvoyContext: general host functions -----------------------------------------

void EnvoyContext::error(std::string_view) {
  // Envoy logs these at trace level (e.g. WASI proc_exit); nothing else happens.
}

WasmResult EnvoyContext::log(uint32_t level, std::string_view message) {
  if (level >= 2 && level >= runner_->logLevel()) {
    Json ev = Json::object();
    ev.set("ev", "log");
    ev.set("ctx", name_);
    ev.set("level", levelName(level));
    ev.set("msg", utf8Lossy(message));
    record(ev);
  }
  return WasmResult::Ok;
}

uint32_t EnvoyContext::getLogLevel() { return runner_->logLevel(); }

uint64_t EnvoyContext::getCurrentTimeNanoseconds() { return runner_->wallMs() * 1000000ULL; }

uint64_t EnvoyContext::getMonotonicTimeNanoseconds() { return runner_->monoMs() * 1000000ULL; }

std::string_view EnvoyContext::getConfiguration() {
  if (temp_plugin_) return temp_plugin_->plugin_configuration_;
  return wasm()->vm_configuration();
}

std::pair<uint32_t, std::string_view> EnvoyContext::getStatus() {
  return {status_code_, std::string_view(status_message_)};
}

bool EnvoyContext::endOfStream(WasmStreamType) { return end_of_stream_; }

// ---- buffers -------------------------------------------------------------------

proxy_wasm::BufferInterface* EnvoyContext::getBuffer(WasmBufferType type) {
  switch (type) {
    case WasmBufferType::CallData:
      return &buffer_;
    case WasmBufferType::VmConfiguration:
      return buffer_.setConst(wasm()->vm_configuration());
    case WasmBufferType::PluginConfiguration:
      if (temp_plugin_) return buffer_.setConst(temp_plugin_->plugin_configuration_);
      return nullptr;
    case WasmBufferType::HttpRequestBody:
      if (buffering_request_body_ && stream != nullptr) {
        if (!stream->dec.buffered) return buffer_.setNone();
        return buffer_.setMutable(stream->dec.buffered.get(), stream, false);
      }
      if (request_body_buffer_ == nullptr) return buffer_.setNone();
      return buffer_.setMutable(request_body_buffer_, nullptr, false);
    case WasmBufferType::HttpResponseBody:
      if (buffering_response_body_ && stream != nullptr) {
        if (!stream->enc.buffered) return buffer_.setNone();
        return buffer_.setMutable(stream->enc.buffered.get(), stream, true);
      }
      if (response_body_buffer_ == nullptr) return buffer_.setNone();
      return buffer_.setMutable(response_body_buffer_, nullptr, true);
    case WasmBufferType::HttpCallResponseBody: {
      auto* root = rootContext();
      if (root != nullptr && root->http_call_response_ != nullptr) {
        return buffer_.setConst(root->http_call_response_->body);
      }
      return nullptr;
    }
    default:
      return nullptr;
  }
}

WasmResult EnvoyContext::setBuffer(WasmBufferType type, size_t start, size_t length, std::string_view data) {
  auto* buffer = getBuffer(type);
  WasmResult r = buffer == nullptr ? WasmResult::NotFound : buffer->copyFrom(start, length, data);
  if (!runner_->recording()) return r;
  Json ev = call("set_buffer_bytes");
  ev.set("buffer", bufferName(type));
  ev.set("start", static_cast<uint64_t>(start));
  ev.set("length", static_cast<uint64_t>(length));
  ev.set("data", bodyJson(data));
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

}  // namespace cpphost
