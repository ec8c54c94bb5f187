#include "envoy.h"

#include <cctype>
#include <cstring>
#include <type_traits>

#include "include/proxy-wasm/exports.h"
#include "include/proxy-wasm/pairs_util.h"
#include "include/proxy-wasm/wasm_vm.h"
#include "runner.h"
#include "util.h"

namespace proxy_wasm {
// Defined in proxy-wasm-cpp-host's src/exports.cc.
ContextBase* contextOrEffectiveContext();
}  // namespace proxy_wasm

namespace cpphost {

using proxy_wasm::ContextBase;
using proxy_wasm::FilterDataStatus;
using proxy_wasm::FilterHeadersStatus;
using proxy_wasm::MetricType;
using proxy_wasm::Pairs;
using proxy_wasm::WasmBufferType;
using proxy_wasm::WasmHeaderMapType;
using proxy_wasm::WasmStreamType;
using proxy_wasm::Word;

namespace {

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

bool isPseudo(std::string_view key) { return !key.empty() && key[0] == ':'; }

/** StringUtil::replaceAllEmptySpace: details never carry blanks. */
std::string replaceAllEmptySpace(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (std::isspace(static_cast<unsigned char>(c))) c = '_';
  }
  return out;
}

/** The VM integration: engine errors (a trap is "Function: X failed: ...") go to the runner. */
class Integration : public proxy_wasm::WasmVmIntegration {
public:
  explicit Integration(Runner* runner) : runner_(runner) {}
  proxy_wasm::WasmVmIntegration* clone() override { return new Integration(runner_); }
  proxy_wasm::LogLevel getLogLevel() override { return proxy_wasm::LogLevel::info; }
  void error(std::string_view message) override {
    if (wasm != nullptr) runner_->vmFailed(wasm, message);
  }
  void trace(std::string_view) override {}
  bool getNullVmFunction(std::string_view, bool, int, proxy_wasm::NullPlugin*, void*) override { return false; }

  EnvoyWasm* wasm = nullptr;

private:
  Runner* runner_;
};

void attachIntegration(EnvoyWasm* wasm, Runner* runner) {
  auto* vm = wasm->wasm_vm();
  if (vm == nullptr) return;
  if (!vm->integration()) vm->integration().reset(new Integration(runner));
  static_cast<Integration*>(vm->integration().get())->wasm = wasm;
}

EnvoyWasm* envoyWasmOf(ContextBase* ctx) {
  return ctx == nullptr ? nullptr : static_cast<EnvoyWasm*>(ctx->wasm());
}

// proxy_set_effective_context and proxy_done are handled inside cpp-host's
// exports.cc without a ContextBase hook; these replacements do the same and
// record the call.
Word recordingSetEffectiveContext(Word context_id) {
  auto* context = proxy_wasm::contextOrEffectiveContext();
  auto cid = static_cast<uint32_t>(context_id);
  auto* target = context->wasm()->getContext(cid);
  WasmResult r = target == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  if (target != nullptr) proxy_wasm::effective_context_id_ = cid;
  auto* wasm = envoyWasmOf(context);
  if (wasm != nullptr && wasm->runner()->recording() && wasm->role() != VmRole::Base) {
    Json ev = Json::object();
    ev.set("ev", "call");
    ev.set("ctx", wasm->runner()->contextName(context));
    ev.set("fn", "set_effective_context");
    if (target != nullptr) ev.set("target", wasm->runner()->contextName(target));
    else ev.set("target", static_cast<uint64_t>(cid));
    ev.set("r", resultName(r));
    wasm->runner()->record(ev);
  }
  return r;
}

Word recordingDone() {
  auto* context = proxy_wasm::contextOrEffectiveContext();
  WasmResult r = context->wasm()->done(context);
  auto* wasm = envoyWasmOf(context);
  if (wasm != nullptr && wasm->runner()->recording() && wasm->role() != VmRole::Base) {
    Json ev = Json::object();
    ev.set("ev", "call");
    ev.set("ctx", wasm->runner()->contextName(context));
    ev.set("fn", "done");
    ev.set("r", resultName(r));
    wasm->runner()->record(ev);
  }
  return r;
}

}  // namespace

// ---- HeaderMap -------------------------------------------------------------------

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

// ---- EnvoyBuffer (Envoy's Buffer wrapper in context.cc) ---------------------------

EnvoyBuffer* EnvoyBuffer::setNone() {
  clear();
  mutable_ = nullptr;
  has_const_ = false;
  stream_ = nullptr;
  return this;
}

EnvoyBuffer* EnvoyBuffer::setConst(std::string_view data) {
  setNone();
  const_ = data;
  has_const_ = true;
  return this;
}

EnvoyBuffer* EnvoyBuffer::setMutable(std::string* data, Stream* stream, bool encoder) {
  setNone();
  mutable_ = data;
  stream_ = stream;
  encoder_ = encoder;
  return this;
}

size_t EnvoyBuffer::size() const {
  if (mutable_ != nullptr) return mutable_->size();
  if (has_const_) return const_.size();
  return 0;
}

WasmResult EnvoyBuffer::copyTo(proxy_wasm::WasmBase* wasm, size_t start, size_t length, uint64_t ptr_ptr,
                               uint64_t size_ptr) const {
  std::string_view all = mutable_ != nullptr ? std::string_view(*mutable_) : const_;
  if (start > all.size()) start = all.size();
  std::string_view s = all.substr(start, length);
  if (!wasm->copyToPointerSize(s, ptr_ptr, size_ptr)) return WasmResult::InvalidMemoryAccess;
  return WasmResult::Ok;
}

WasmResult EnvoyBuffer::copyFrom(size_t start, size_t length, std::string_view data) {
  if (mutable_ != nullptr) {
    WasmResult r;
    if (start == 0) {
      // Envoy: drain(length) then prepend -- start 0 with a length past the end replaces all.
      if (length != 0) mutable_->erase(0, std::min(length, mutable_->size()));
      mutable_->insert(0, data);
      r = WasmResult::Ok;
    } else if (start >= mutable_->size()) {
      mutable_->append(data);
      r = WasmResult::Ok;
    } else {
      r = WasmResult::BadArgument;
    }
    if (r == WasmResult::Ok && stream_ != nullptr) stream_->checkWatermark(encoder_);
    return r;
  }
  // Immutable (http call answer, configurations) or no buffer at all.
  return WasmResult::BadArgument;
}

// ---- EnvoyWasm -------------------------------------------------------------------

EnvoyWasm::EnvoyWasm(Runner* runner, std::unique_ptr<proxy_wasm::WasmVm> vm, std::string_view vm_id,
                     std::string_view vm_configuration, std::string_view vm_key)
    : WasmBase(std::move(vm), vm_id, vm_configuration, vm_key, {}, {}), runner_(runner), role_(VmRole::Base),
      label_("base") {
  attachIntegration(this, runner);
}

EnvoyWasm::EnvoyWasm(Runner* runner, VmRole role, const std::shared_ptr<proxy_wasm::WasmHandleBase>& base,
                     const proxy_wasm::WasmVmFactory& factory)
    : WasmBase(base, factory), runner_(runner), role_(role), label_(runner->nameVm(role)) {
  attachIntegration(this, runner);
}

EnvoyWasm::~EnvoyWasm() {
  if (wasm_vm() != nullptr && wasm_vm()->integration()) {
    static_cast<Integration*>(wasm_vm()->integration().get())->wasm = nullptr;
  }
}

ContextBase* EnvoyWasm::createVmContext() { return new EnvoyContext(this); }

ContextBase* EnvoyWasm::createRootContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) {
  return new EnvoyContext(this, plugin);
}

ContextBase* EnvoyWasm::createContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) {
  return new EnvoyContext(this, plugin);
}

proxy_wasm::CallOnThreadFunction EnvoyWasm::callOnThreadFunction() {
  return [](std::function<void()> f) { f(); };
}

void EnvoyWasm::error(std::string_view message) {
  if (!runner_->recording()) return;
  Json ev = Json::object();
  ev.set("ev", "wasm_error");
  ev.set("vm", label_);
  ev.set("msg", std::string(message));
  runner_->record(ev);
}

EnvoyContext* EnvoyWasm::contextById(uint32_t id) { return static_cast<EnvoyContext*>(getContext(id)); }

void EnvoyWasm::registerCallbacks() {
  WasmBase::registerCallbacks();
  wasm_vm()->registerCallback("env", "proxy_set_effective_context", &recordingSetEffectiveContext,
                              CONVERT_FUNCTION_WORD_TO_UINT32(recordingSetEffectiveContext));
  wasm_vm()->registerCallback("env", "proxy_done", &recordingDone, CONVERT_FUNCTION_WORD_TO_UINT32(recordingDone));
}

void EnvoyWasm::getFunctions() {
  WasmBase::getFunctions();
  wrapCalls();
}

namespace {

/** Starts the transcript event of a call into the VM; returns null when not recorded. */
Json beginVmEvent(EnvoyWasm* wasm, ContextBase* ctx, const char* fn, const std::vector<uint64_t>& args) {
  Runner* runner = wasm->runner();
  if (!runner->recording() || wasm->role() == VmRole::Base) return Json();
  Json ev = Json::object();
  ev.set("ev", "vm");
  ev.set("ctx", runner->contextName(ctx));
  ev.set("fn", fn);
  Json a = Json::array();
  std::string name(fn);
  if (name == "proxy_on_context_create") {
    uint32_t parent = args.size() > 1 ? static_cast<uint32_t>(args[1]) : 0;
    if (parent == 0) {
      a.push(Json());
    } else {
      auto* p = wasm->getContext(parent);
      a.push(p != nullptr ? Json(runner->contextName(p)) : Json(static_cast<uint64_t>(parent)));
    }
  } else if (name == "proxy_on_http_call_response") {
    uint32_t token = args.size() > 1 ? static_cast<uint32_t>(args[1]) : 0;
    auto* rec = runner->callByToken(static_cast<EnvoyContext*>(ctx), token);
    a.push(rec != nullptr ? static_cast<uint64_t>(rec->index) : static_cast<uint64_t>(0));
    for (size_t i = 2; i < args.size(); i++) a.push(args[i]);
  } else {
    // Every proxy_on_* takes the context id first; the name says it already.
    size_t from = name.rfind("proxy_on_", 0) == 0 ? 1 : 0;
    for (size_t i = from; i < args.size(); i++) a.push(args[i]);
  }
  ev.set("args", a);
  runner->record(ev);
  return ev;
}

}  // namespace

template <typename F>
static void wrapOne(EnvoyWasm* wasm, F& f, const char* name) {
  if (!f) return;
  F inner = f;
  f = [wasm, inner, name](ContextBase* ctx, auto... args) {
    std::vector<uint64_t> raw{static_cast<uint64_t>(args)...};
    Json ev = beginVmEvent(wasm, ctx, name, raw);
    bool wasFailed = wasm->isFailed();
    if constexpr (std::is_same_v<decltype(inner(ctx, args...)), void>) {
      inner(ctx, args...);
      if (!ev.isNull() && !wasFailed && wasm->isFailed()) ev.set("trap", true);
    } else {
      auto r = inner(ctx, args...);
      if (!ev.isNull()) {
        if (!wasFailed && wasm->isFailed()) ev.set("trap", true);
        else ev.set("ret", static_cast<uint64_t>(r.u64_));
      }
      return r;
    }
  };
}

void EnvoyWasm::wrapCalls() {
  wrapOne(this, _initialize_, "_initialize");
  wrapOne(this, _start_, "_start");
  wrapOne(this, main_, "main");
  wrapOne(this, validate_configuration_, "proxy_validate_configuration");
  wrapOne(this, on_vm_start_, "proxy_on_vm_start");
  wrapOne(this, on_configure_, "proxy_on_configure");
  wrapOne(this, on_tick_, "proxy_on_tick");
  wrapOne(this, on_context_create_, "proxy_on_context_create");
  wrapOne(this, on_request_headers_abi_01_, "proxy_on_request_headers");
  wrapOne(this, on_request_headers_abi_02_, "proxy_on_request_headers");
  wrapOne(this, on_request_headers_abi_03_, "proxy_on_request_headers");
  wrapOne(this, on_request_body_, "proxy_on_request_body");
  wrapOne(this, on_request_trailers_, "proxy_on_request_trailers");
  wrapOne(this, on_request_metadata_, "proxy_on_request_metadata");
  wrapOne(this, on_response_headers_abi_01_, "proxy_on_response_headers");
  wrapOne(this, on_response_headers_abi_02_, "proxy_on_response_headers");
  wrapOne(this, on_response_body_, "proxy_on_response_body");
  wrapOne(this, on_response_trailers_, "proxy_on_response_trailers");
  wrapOne(this, on_response_metadata_, "proxy_on_response_metadata");
  wrapOne(this, on_http_call_response_, "proxy_on_http_call_response");
  wrapOne(this, on_queue_ready_, "proxy_on_queue_ready");
  wrapOne(this, on_foreign_function_, "proxy_on_foreign_function");
  wrapOne(this, on_done_, "proxy_on_done");
  wrapOne(this, on_log_, "proxy_on_log");
  wrapOne(this, on_delete_, "proxy_on_delete");
}

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

void EnvoyContext::onHttpCallSuccess(uint32_t token, CallResponse response_in) {
  auto* rec = runner_->callByToken(this, token);
  if (wasm_ == nullptr || isFailed()) {
    // The VM failed: Envoy's ContextBase::onHttpCallResponse returns without a call.
    Json ev = Json::object();
    ev.set("ev", "call_dropped");
    ev.set("call", rec != nullptr ? rec->index : 0);
    ev.set("reason", "vm_failed");
    record(ev);
    if (rec != nullptr) rec->state = HttpCallRecord::State::Dropped;
    http_request_.erase(token);
    return;
  }
  auto it = http_request_.find(token);
  if (it == http_request_.end()) return;
  auto response = std::make_unique<CallResponse>(std::move(response_in));
  http_call_response_ = response.get();
  auto body_size = static_cast<uint32_t>(response->body.size());
  auto headers = static_cast<uint32_t>(response->headers.size());
  // Deferred cleanup, as Envoy does: the answer stays readable until the VM call returns.
  CallResponse* raw = response.release();
  wasm()->addAfterVmCallAction([this, token, raw] {
    http_call_response_ = nullptr;
    http_request_.erase(token);
    delete raw;
  });
  ContextBase::onHttpCallResponse(token, headers, body_size, 0);
}

void EnvoyContext::onHttpCallFailure(uint32_t token) {
  auto* rec = runner_->callByToken(this, token);
  if (wasm_ == nullptr || isFailed()) {
    Json ev = Json::object();
    ev.set("ev", "call_dropped");
    ev.set("call", rec != nullptr ? rec->index : 0);
    ev.set("reason", "vm_failed");
    record(ev);
    if (rec != nullptr) rec->state = HttpCallRecord::State::Dropped;
    http_request_.erase(token);
    return;
  }
  auto it = http_request_.find(token);
  if (it == http_request_.end()) return;
  status_code_ = static_cast<uint32_t>(WasmResult::BrokenConnection);
  status_message_ = "reset";
  wasm()->addAfterVmCallAction([this, token] {
    status_message_ = "";
    http_request_.erase(token);
  });
  ContextBase::onHttpCallResponse(token, 0, 0, 0);
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

// ---- HTTP calls (always on the root context) ------------------------------------------

WasmResult EnvoyContext::httpCall(std::string_view cluster, const Pairs& request_headers,
                                  std::string_view request_body, const Pairs& request_trailers,
                                  int timeout_milliseconds, uint32_t* token_ptr) {
  auto* caller = proxy_wasm::contextOrEffectiveContext();
  const bool rec_on = runner_->recording();
  Json ev = Json::object();
  if (rec_on) {
    ev.set("ev", "call");
    ev.set("ctx", caller != nullptr ? runner_->contextName(caller) : name_);
    ev.set("fn", "http_call");
    ev.set("root", name_);
    ev.set("cluster", utf8Lossy(cluster));
    ev.set("headers", pairsJson(request_headers));
    ev.set("body", bodyJson(request_body));
    if (!request_trailers.empty()) ev.set("trailers", pairsJson(request_trailers));
    ev.set("timeout", static_cast<int64_t>(timeout_milliseconds));
  }

  auto finish = [&](WasmResult r, int index) {
    if (!rec_on) return r;
    ev.set("r", resultName(r));
    if (index > 0) ev.set("call", index);
    record(ev);
    return r;
  };

  if (timeout_milliseconds < 0) return finish(WasmResult::BadArgument, 0);
  auto state = runner_->clusterState(std::string(cluster));
  if (!state) return finish(WasmResult::BadArgument, 0);  // getThreadLocalCluster() == nullptr
  HeaderMap headers;
  for (const auto& p : request_headers) headers.addCopy(p.first, p.second);
  if (headers.get(":path") == nullptr || headers.get(":method") == nullptr || headers.get(":authority") == nullptr) {
    return finish(WasmResult::BadArgument, 0);
  }
  if (!request_body.empty()) headers.setCopy("content-length", std::to_string(request_body.size()));
  if (rec_on) ev.set("headers", headers.toJson());
  uint32_t token = envoyWasm()->nextCallToken();
  if (*state != "healthy") {
    // No healthy upstream: the router answers 503 inline, AsyncClient::send() returns
    // nullptr, the handler is erased and the deferred answer finds nothing.
    return finish(WasmResult::InternalFailure, 0);
  }
  auto& rec = runner_->newCall(this, token);
  rec.streamName = caller != nullptr ? runner_->contextName(caller) : name_;
  rec.cluster = std::string(cluster);
  rec.headers = headers;
  rec.body = std::string(request_body);
  rec.timeoutMs = timeout_milliseconds;
  rec.deadlineMs = timeout_milliseconds > 0 ? runner_->monoMs() + static_cast<uint64_t>(timeout_milliseconds) : 0;
  http_request_[token] = rec.index;
  *token_ptr = token;
  return finish(WasmResult::Ok, rec.index);
}

WasmResult EnvoyContext::grpcCall(std::string_view, std::string_view, std::string_view, const Pairs&,
                                  std::string_view, std::chrono::milliseconds, uint32_t*) {
  return WasmResult::Unimplemented;
}
WasmResult EnvoyContext::grpcStream(std::string_view, std::string_view, std::string_view, const Pairs&,
                                    uint32_t*) {
  return WasmResult::Unimplemented;
}
WasmResult EnvoyContext::grpcClose(uint32_t) { return WasmResult::Unimplemented; }
WasmResult EnvoyContext::grpcCancel(uint32_t) { return WasmResult::Unimplemented; }
WasmResult EnvoyContext::grpcSend(uint32_t, std::string_view, bool) { return WasmResult::Unimplemented; }
WasmResult EnvoyContext::redisInit(std::string_view, std::string_view, std::string_view, int) {
  return WasmResult::Unimplemented;
}
WasmResult EnvoyContext::redisCall(std::string_view, std::string_view, uint32_t*) {
  return WasmResult::Unimplemented;
}

// ---- metrics ---------------------------------------------------------------------

WasmResult EnvoyContext::defineMetric(uint32_t type, std::string_view name, uint32_t* metric_id_ptr) {
  Json ev = call("define_metric");
  ev.set("type", metricTypeName(type));
  ev.set("name", utf8Lossy(name));
  WasmResult r = WasmResult::Ok;
  if (type > static_cast<uint32_t>(MetricType::Max)) {
    r = WasmResult::BadArgument;
  } else {
    auto t = static_cast<MetricType>(type);
    uint32_t id = t == MetricType::Counter ? wasm()->nextCounterMetricId()
                  : t == MetricType::Gauge ? wasm()->nextGaugeMetricId()
                                           : wasm()->nextHistogramMetricId();
    envoyWasm()->metrics_[id] = {t, std::string(name)};
    runner_->metricDefined(std::string(name), t);
    *metric_id_ptr = id;
  }
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::incrementMetric(uint32_t metric_id, int64_t offset) {
  auto& metrics = envoyWasm()->metrics_;
  auto it = metrics.find(metric_id);
  auto type = static_cast<MetricType>(metric_id & proxy_wasm::WasmBase::kMetricTypeMask);
  WasmResult r;
  if (type == MetricType::Counter) {
    if (it == metrics.end()) r = WasmResult::NotFound;
    else if (offset > 0) { runner_->metricValue(it->second.second) += offset; r = WasmResult::Ok; }
    else r = WasmResult::BadArgument;
  } else if (type == MetricType::Gauge) {
    if (it == metrics.end()) r = WasmResult::NotFound;
    else { runner_->metricValue(it->second.second) += offset; r = WasmResult::Ok; }
  } else {
    r = WasmResult::BadArgument;
  }
  Json ev = call("increment_metric");
  ev.set("name", it != metrics.end() ? Json(it->second.second) : Json());
  ev.set("delta", offset);
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::recordMetric(uint32_t metric_id, uint64_t value) {
  auto& metrics = envoyWasm()->metrics_;
  auto it = metrics.find(metric_id);
  auto type = static_cast<MetricType>(metric_id & proxy_wasm::WasmBase::kMetricTypeMask);
  WasmResult r = WasmResult::NotFound;
  if (it != metrics.end()) {
    auto& v = runner_->metricValue(it->second.second);
    if (type == MetricType::Counter) v += static_cast<int64_t>(value);
    else v = static_cast<int64_t>(value);  // gauge: set; histogram: last sample
    r = WasmResult::Ok;
  }
  Json ev = call("record_metric");
  ev.set("name", it != metrics.end() ? Json(it->second.second) : Json());
  ev.set("value", value);
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::getMetric(uint32_t metric_id, uint64_t* value_ptr) {
  auto& metrics = envoyWasm()->metrics_;
  auto it = metrics.find(metric_id);
  auto type = static_cast<MetricType>(metric_id & proxy_wasm::WasmBase::kMetricTypeMask);
  if (type == MetricType::Histogram) return WasmResult::BadArgument;
  if (it == metrics.end()) return WasmResult::NotFound;
  *value_ptr = static_cast<uint64_t>(runner_->metricValue(it->second.second));
  return WasmResult::Ok;
}

// ---- properties ----------------------------------------------------------------

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

// ---- continue, close, local replies ---------------------------------------------------

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

void EnvoyContext::clearRouteCache() {
  if (stream != nullptr && !disable_clear_route_cache_) {
    Json ev = Json::object();
    ev.set("ev", "clear_route_cache");
    ev.set("stream", stream->name);
    record(ev);
  }
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

// ---- header maps -----------------------------------------------------------------

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

WasmResult EnvoyContext::addHeaderMapValue(WasmHeaderMapType type, std::string_view key, std::string_view value) {
  auto* map = getMap(type);
  WasmResult r = map == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  if (map != nullptr) map->addCopy(key, value);
  Json ev = call("add_header_map_value");
  ev.set("map", mapName(type));
  ev.set("key", utf8Lossy(key));
  ev.set("value", utf8Lossy(value));
  ev.set("r", resultName(r));
  record(ev);
  if (map != nullptr) onHeadersModified(type);
  return r;
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
  auto* map = getMap(type);
  WasmResult r = map == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  if (map != nullptr) {
    map->entries.clear();
    for (const auto& p : pairs) map->addCopy(p.first, p.second);
  }
  Json ev = call("set_header_map_pairs");
  ev.set("map", mapName(type));
  ev.set("pairs", pairsJson(pairs));
  ev.set("r", resultName(r));
  record(ev);
  if (map != nullptr) onHeadersModified(type);
  return r;
}

WasmResult EnvoyContext::removeHeaderMapValue(WasmHeaderMapType type, std::string_view key) {
  auto* map = getMap(type);
  WasmResult r = map == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  if (map != nullptr) map->remove(key);
  Json ev = call("remove_header_map_value");
  ev.set("map", mapName(type));
  ev.set("key", utf8Lossy(key));
  ev.set("r", resultName(r));
  record(ev);
  if (map != nullptr) onHeadersModified(type);
  return r;
}

WasmResult EnvoyContext::replaceHeaderMapValue(WasmHeaderMapType type, std::string_view key,
                                               std::string_view value) {
  auto* map = getMap(type);
  WasmResult r = map == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  if (map != nullptr) map->setCopy(key, value);
  Json ev = call("replace_header_map_value");
  ev.set("map", mapName(type));
  ev.set("key", utf8Lossy(key));
  ev.set("value", utf8Lossy(value));
  ev.set("r", resultName(r));
  record(ev);
  if (map != nullptr) onHeadersModified(type);
  return r;
}

WasmResult EnvoyContext::getHeaderMapSize(WasmHeaderMapType type, uint32_t* result) {
  auto* map = getMap(type);
  if (map == nullptr) return WasmResult::BadArgument;
  *result = static_cast<uint32_t>(map->byteSize());
  return WasmResult::Ok;
}

}  // namespace cpphost
