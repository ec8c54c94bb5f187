#include "runner.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "include/proxy-wasm/wamr.h"
#include "util.h"

namespace cpphost {

using proxy_wasm::FilterDataStatus;
using proxy_wasm::FilterHeadersStatus;

namespace {

constexpr uint64_t kMinRecoverIntervalMs = 5000;  // Higress: MIN_RECOVER_INTERVAL_SECONDS
constexpr const char* kTimeoutBody = "upstream request timeout";
constexpr const char* kConnectFailureBody =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

Json ev(const char* name) {
  Json e = Json::object();
  e.set("ev", name);
  return e;
}

uint32_t parseLevel(const Json* v) {
  if (v == nullptr) return 2;
  if (v->isNumber()) return static_cast<uint32_t>(v->asInt());
  static const char* names[] = {"trace", "debug", "info", "warn", "error", "critical"};
  for (uint32_t i = 0; i < 6; i++) {
    if (v->asString() == names[i]) return i;
  }
  return 2;
}

}  // namespace

// ---- Stream: the FilterManager around our filter -------------------------------------

void Stream::touch() { lastActivityMs = runner->monoMs(); }

void Stream::toUpstreamHeaders(bool end) {
  upstreamRequestStarted = true;
  Json e = ev("upstream_headers");
  e.set("stream", name);
  e.set("headers", requestHeaders.toJson());
  e.set("end", end);
  runner->record(e);
  if (end) dec.done = true;
}

void Stream::toUpstreamData(const std::string& data, bool end) {
  if (data.empty() && !end) return;
  Json e = ev("upstream_data");
  e.set("stream", name);
  e.set("size", static_cast<uint64_t>(data.size()));
  e.set("end", end);
  runner->record(e);
  if (end) dec.done = true;
}

void Stream::toClientHeaders(bool end) {
  client.headersSent = true;
  client.headers = responseHeaders;
  Json e = ev("client_headers");
  e.set("stream", name);
  e.set("headers", client.headers.toJson());
  e.set("end", end);
  runner->record(e);
  if (end) {
    client.complete = true;
    enc.done = true;
    runner->markFinished(this);
  }
}

void Stream::toClientData(const std::string& data, bool end) {
  if (data.empty() && !end) return;
  client.body += data;
  Json e = ev("client_data");
  e.set("stream", name);
  e.set("size", static_cast<uint64_t>(data.size()));
  e.set("end", end);
  runner->record(e);
  if (end) {
    client.complete = true;
    enc.done = true;
    runner->markFinished(this);
  }
}

void Stream::checkWatermark(bool encoder) {
  Direction& d = encoder ? enc : dec;
  uint32_t limit = d.limit;
  if (!d.buffered || limit == 0) return;
  size_t size = d.buffered->size();
  if (size > limit && !d.aboveHighWatermark) {
    d.aboveHighWatermark = true;
    Json e = ev("buffer_limit");
    e.set("stream", name);
    e.set("dir", encoder ? "response" : "request");
    e.set("size", static_cast<uint64_t>(size));
    e.set("limit", static_cast<uint64_t>(limit));
    e.set("streaming", d.streaming);
    runner->record(e);
    if (d.streaming) return;  // StopIterationAndWatermark: back-pressure only
    if (encoder) {
      // FilterManager::ActiveStreamEncoderFilter::responseDataTooLarge
      sendLocalReply(500, "Internal Server Error", nullptr, "response_payload_too_large");
    } else {
      // ...::requestDataTooLarge
      sendLocalReply(413, "Payload Too Large", nullptr, "request_payload_too_large");
    }
  } else if (size <= limit / 2) {
    d.aboveHighWatermark = false;
  }
}

void Stream::setEncoderLimit(uint32_t limit) {
  // Envoy keeps one buffer_limit_ per stream: either setter changes both directions.
  enc.limit = dec.limit = limit;
  checkWatermark(true);
  checkWatermark(false);
}

void Stream::setDecoderLimit(uint32_t limit) { setEncoderLimit(limit); }

void Stream::bufferData(bool encoder, std::string& data) {
  Direction& d = encoder ? enc : dec;
  if (!d.buffered) d.buffered = std::make_unique<std::string>();
  d.buffered->append(data);
  data.clear();
  checkWatermark(encoder);
}

void Stream::requestHeadersFromClient(HeaderMap headers, bool end) {
  touch();
  requestHeaders = std::move(headers);
  dec.endObserved = end;
  if (!ctx) {
    dec.headersContinued = true;
    toUpstreamHeaders(end);
    return;
  }
  auto status = ctx->decodeHeaders(requestHeaders, end);
  if (localReplySent || finished) return;
  switch (status) {
    case FilterHeadersStatus::StopIteration: dec.iteration = Iteration::StopSingle; break;
    case FilterHeadersStatus::StopAllIterationAndBuffer: dec.iteration = Iteration::StopAllBuffer; break;
    case FilterHeadersStatus::StopAllIterationAndWatermark: dec.iteration = Iteration::StopAllWatermark; break;
    default:  // Continue; ContinueAndEndStream maps to Continue in Envoy's convertFilterHeadersStatus
      dec.headersContinued = true;
      toUpstreamHeaders(end);
  }
}

void Stream::requestDataFromClient(std::string data, bool end) {
  touch();
  if (end) dec.endObserved = true;
  if (localReplySent || finished) return;
  if (!ctx) {
    toUpstreamData(data, end);
    return;
  }
  if (dec.iteration == Iteration::StopAllBuffer || dec.iteration == Iteration::StopAllWatermark) {
    dec.streaming = dec.iteration == Iteration::StopAllWatermark;
    bufferData(false, data);
    return;
  }
  ctx->request_chunk_ = std::move(data);
  auto status = ctx->decodeData(ctx->request_chunk_, end);
  if (localReplySent || finished) return;
  std::string& chunk = ctx->request_chunk_;
  if (status == FilterDataStatus::Continue) {
    if (dec.iteration == Iteration::StopSingle) {
      bufferData(false, chunk);
      commonContinueDecoding();
    } else {
      toUpstreamData(chunk, end);
      chunk.clear();
    }
    return;
  }
  dec.iteration = Iteration::StopSingle;
  if (status == FilterDataStatus::StopIterationAndBuffer || status == FilterDataStatus::StopIterationAndWatermark) {
    dec.streaming = status == FilterDataStatus::StopIterationAndWatermark;
    bufferData(false, chunk);
  } else if (dec.endObserved && !dec.buffered) {
    dec.buffered = std::make_unique<std::string>();  // NoBuffer at the end: an empty frame resumes
  }
}

void Stream::responseHeadersFromUpstream(HeaderMap headers, bool end) {
  touch();
  responseHeaders = std::move(headers);
  responseHeadersReceived = true;
  enc.endObserved = end;
  if (!ctx) {
    enc.headersContinued = true;
    toClientHeaders(end);
    return;
  }
  auto status = ctx->encodeHeaders(responseHeaders, end);
  if (finished || client.headersSent) return;  // a local reply answered the client meanwhile
  switch (status) {
    case FilterHeadersStatus::StopIteration: enc.iteration = Iteration::StopSingle; break;
    case FilterHeadersStatus::StopAllIterationAndBuffer: enc.iteration = Iteration::StopAllBuffer; break;
    case FilterHeadersStatus::StopAllIterationAndWatermark: enc.iteration = Iteration::StopAllWatermark; break;
    default:
      enc.headersContinued = true;
      toClientHeaders(end);
  }
}

void Stream::responseDataFromUpstream(std::string data, bool end) {
  touch();
  if (end) enc.endObserved = true;
  if (finished) return;
  if (!ctx) {
    toClientData(data, end);
    return;
  }
  if (enc.iteration == Iteration::StopAllBuffer || enc.iteration == Iteration::StopAllWatermark) {
    enc.streaming = enc.iteration == Iteration::StopAllWatermark;
    bufferData(true, data);
    return;
  }
  ctx->response_chunk_ = std::move(data);
  auto status = ctx->encodeData(ctx->response_chunk_, end);
  if (finished) return;
  std::string& chunk = ctx->response_chunk_;
  if (status == FilterDataStatus::Continue) {
    if (enc.iteration == Iteration::StopSingle) {
      bufferData(true, chunk);
      if (!finished) commonContinueEncoding();
    } else {
      toClientData(chunk, end);
      chunk.clear();
    }
    return;
  }
  enc.iteration = Iteration::StopSingle;
  if (status == FilterDataStatus::StopIterationAndBuffer || status == FilterDataStatus::StopIterationAndWatermark) {
    enc.streaming = status == FilterDataStatus::StopIterationAndWatermark;
    bufferData(true, chunk);
  } else if (enc.endObserved && !enc.buffered) {
    enc.buffered = std::make_unique<std::string>();
  }
}

void Stream::commonContinueDecoding() {
  if (localReplySent || finished) return;  // canContinue()
  dec.iteration = Iteration::Continue;
  if (!dec.headersContinued) {
    dec.headersContinued = true;
    toUpstreamHeaders(dec.endObserved && !dec.buffered);
  }
  if (dec.buffered) {
    std::string data = std::move(*dec.buffered);
    dec.buffered.reset();
    toUpstreamData(data, dec.endObserved);
  }
}

void Stream::commonContinueEncoding() {
  if (finished) return;  // canContinue()
  if (!responseHeadersReceived) return;  // nothing has reached the encoder yet
  enc.iteration = Iteration::Continue;
  if (!enc.headersContinued) {
    enc.headersContinued = true;
    toClientHeaders(enc.endObserved && !enc.buffered);
  }
  if (enc.buffered && !finished) {
    std::string data = std::move(*enc.buffered);
    enc.buffered.reset();
    toClientData(data, enc.endObserved);
  }
}

void Stream::continueDecoding() {
  Json e = ev("continue_decoding");
  e.set("stream", name);
  runner->record(e);
  commonContinueDecoding();
}

void Stream::continueEncoding() {
  Json e = ev("continue_encoding");
  e.set("stream", name);
  runner->record(e);
  commonContinueEncoding();
}

void Stream::encodeLocalReplyThroughFilter(HeaderMap headers, std::string body) {
  // FilterManager::sendLocalReplyViaFilterChain: the reply walks the encoder filters.
  bool headersOnly = body.empty();
  responseHeaders = std::move(headers);
  responseHeadersReceived = true;
  enc.endObserved = headersOnly;
  if (!ctx) {
    enc.headersContinued = true;
    toClientHeaders(headersOnly);
    if (!headersOnly) toClientData(body, true);
    return;
  }
  auto status = ctx->encodeHeaders(responseHeaders, headersOnly);
  if (finished || client.headersSent) return;
  switch (status) {
    case FilterHeadersStatus::StopIteration: enc.iteration = Iteration::StopSingle; break;
    case FilterHeadersStatus::StopAllIterationAndBuffer: enc.iteration = Iteration::StopAllBuffer; break;
    case FilterHeadersStatus::StopAllIterationAndWatermark: enc.iteration = Iteration::StopAllWatermark; break;
    default:
      enc.headersContinued = true;
      toClientHeaders(headersOnly);
  }
  if (!headersOnly && !finished) {
    // Same path as an upstream frame, minus the upstream checks.
    bool saved = upstreamCancelled;
    upstreamCancelled = false;
    responseDataFromUpstream(std::move(body), true);
    upstreamCancelled = saved;
  }
}

void Stream::sendLocalReply(int code, std::string body, std::function<void(HeaderMap&)> modify,
                            std::string details) {
  if (finished) return;
  // Utility::prepareLocalReply: :status, the caller's headers, then length and type.
  HeaderMap h;
  h.addCopy(":status", std::to_string(code));
  if (modify) modify(h);
  if (!body.empty()) {
    h.setCopy("content-length", std::to_string(body.size()));
    if (h.get("content-type") == nullptr) h.addCopy("content-type", "text/plain");
  }
  Json e = ev("local_reply");
  e.set("stream", name);
  e.set("status", code);
  e.set("details", details);
  e.set("body", bodyJson(body));
  bool alreadyLocal = localReplySent;
  localReplySent = true;
  upstreamCancelled = true;
  if (!responseHeadersReceived && !alreadyLocal && details != "wasm_fail_stream") {
    e.set("path", "filter_chain");
    runner->record(e);
    client.localReply = Json::object();
    client.localReply->set("status", code);
    client.localReply->set("details", details);
    encodeLocalReplyThroughFilter(std::move(h), std::move(body));
    return;
  }
  if (!client.headersSent) {
    // Nothing reached the client yet: sendDirectLocalReply (the held response is dropped).
    e.set("path", "direct");
    runner->record(e);
    client.localReply = Json::object();
    client.localReply->set("status", code);
    client.localReply->set("details", details);
    responseHeaders = h;
    enc.buffered.reset();
    enc.headersContinued = true;
    client.body.clear();
    toClientHeaders(body.empty());
    if (!body.empty()) toClientData(body, true);
    return;
  }
  e.set("path", "reset");
  runner->record(e);
  resetStream("local_reply_after_response_started");
}

void Stream::resetStream(const std::string& reason) {
  if (finished) return;
  client.reset = true;
  client.resetReason = reason;
  upstreamCancelled = true;
  Json e = ev("reset");
  e.set("stream", name);
  e.set("reason", reason);
  runner->record(e);
  runner->markFinished(this);
}

// ---- Runner ---------------------------------------------------------------------

Runner::Runner(std::map<std::string, std::string> modulePaths) : modulePaths_(std::move(modulePaths)) {}

Runner::~Runner() {
  teardown();
  for (auto& m : modules_) m.second->base.reset();
  proxy_wasm::clearWasmCachesForTesting();
}

void Runner::record(Json event) {
  if (!recording_) return;
  events_.push(std::move(event));
}

std::string Runner::nameVm(VmRole role) {
  if (role == VmRole::Canary) return "canary" + std::to_string(++canaryVms_);
  if (role == VmRole::Worker) return "vm" + std::to_string(++workerVms_);
  return "base";
}

std::string Runner::nameRootContext(EnvoyWasm* wasm) {
  if (wasm->role() == VmRole::Canary) return wasm->label() + ".root";
  if (wasm->role() == VmRole::Base) return "base.root";
  return "root" + std::to_string(++roots_);
}

std::string Runner::contextName(proxy_wasm::ContextBase* ctx) const {
  if (ctx == nullptr) return "none";
  return static_cast<EnvoyContext*>(ctx)->name();
}

void Runner::noteContext(EnvoyContext* ctx) {
  if (!recording_ || ctx->envoyWasm() == nullptr || ctx->envoyWasm()->role() == VmRole::Base) return;
  Json c = Json::object();
  c.set("vm", ctx->envoyWasm()->label());
  c.set("id", ctx->id());
  contexts_.set(ctx->name(), c);
}

std::optional<std::string> Runner::clusterState(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return std::nullopt;
  return it->second;
}

HttpCallRecord& Runner::newCall(EnvoyContext* root, uint32_t token) {
  HttpCallRecord rec;
  rec.index = static_cast<int>(calls_.size()) + 1;
  rec.token = token;
  rec.root = root;
  calls_.push_back(std::move(rec));
  return calls_.back();
}

HttpCallRecord* Runner::callByToken(EnvoyContext* root, uint32_t token) {
  // Newest first: tokens start again at 4 in a re-created VM.
  for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
    if (it->root == root && it->token == token) return &*it;
  }
  return nullptr;
}

void Runner::rootGone(EnvoyContext* root) {
  for (auto& c : calls_) {
    if (c.root != root) continue;
    if (c.state == HttpCallRecord::State::Pending) {
      c.state = HttpCallRecord::State::Cancelled;
      Json e = ev("call_cancelled");
      e.set("call", c.index);
      record(e);
    }
    c.root = nullptr;
  }
}

void Runner::metricDefined(const std::string& name, proxy_wasm::MetricType type) {
  if (metrics_.find(name) == metrics_.end()) metrics_[name] = {type, 0};
}

int64_t& Runner::metricValue(const std::string& name) { return metrics_[name].second; }

void Runner::vmFailed(EnvoyWasm* wasm, std::string_view message) {
  if (!recording_) return;
  const std::string prefix = "Function: ";
  std::string msg(message);
  if (msg.rfind(prefix, 0) == 0 && msg.find(" failed: ") != std::string::npos) {
    Json e = ev("vm_failed");
    e.set("vm", wasm->label());
    e.set("fn", msg.substr(prefix.size(), msg.find(" failed: ") - prefix.size()));
    record(e);
    if (getenv("CPPHOST_DEBUG") != nullptr) fprintf(stderr, "cpphost: %s: %s\n", wasm->label().c_str(), msg.c_str());
    return;
  }
  Json e = ev("vm_error");
  e.set("vm", wasm->label());
  e.set("msg", msg);
  record(e);
}

Stream* Runner::streamOf(EnvoyContext* ctx) { return ctx == nullptr ? nullptr : ctx->stream; }

void Runner::markFinished(Stream* s) { s->finished = true; }

Module* Runner::module(const std::string& name) {
  auto it = modules_.find(name);
  if (it != modules_.end()) return it->second.get();
  auto p = modulePaths_.find(name);
  if (p == modulePaths_.end()) return nullptr;
  std::ifstream in(p->second, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = std::make_unique<Module>();
  m->path = p->second;
  m->code = ss.str();
  auto* raw = m.get();
  modules_[name] = std::move(m);
  return raw;
}

void Runner::scenarioError(const std::string& message) {
  errors_.push_back(message);
  Json e = ev("scenario_error");
  e.set("msg", message);
  record(e);
}

void Runner::reset() {
  events_ = Json::array();
  contexts_ = Json::object();
  errors_.clear();
  streams_.clear();
  calls_.clear();
  metrics_.clear();
  current_.reset();
  workerVms_ = canaryVms_ = roots_ = configs_ = 0;
  cloneRole_ = VmRole::Worker;
}

// ---- configuration (Envoy: a new FilterConfig for the plugin) --------------------------

bool Runner::configure(const Json& config, int index) {
  std::string text = config.isString() ? config.asString() : config.dump();
  auto plugin = std::make_shared<proxy_wasm::PluginBase>(pluginName_, rootId_, vmId_, "wamr", text, failOpen_,
                                                         "scenario-" + std::to_string(scenarioSeq_));
  std::string vmKey = proxy_wasm::makeVmKey(vmId_, vmConfig_, module_->code);
  auto wasmFactory = [this](std::string_view vm_key) -> std::shared_ptr<proxy_wasm::WasmHandleBase> {
    auto vm = proxy_wasm::createWamrVm();
    auto wasm = std::make_shared<EnvoyWasm>(this, std::move(vm), vmId_, vmConfig_, vm_key);
    return std::make_shared<proxy_wasm::WasmHandleBase>(std::static_pointer_cast<proxy_wasm::WasmBase>(wasm));
  };
  auto cloneFactory = [this](std::shared_ptr<proxy_wasm::WasmHandleBase> base)
      -> std::shared_ptr<proxy_wasm::WasmHandleBase> {
    auto wasm = std::make_shared<EnvoyWasm>(this, cloneRole_, base, []() { return proxy_wasm::createWamrVm(); });
    return std::make_shared<proxy_wasm::WasmHandleBase>(std::static_pointer_cast<proxy_wasm::WasmBase>(wasm));
  };
  auto pluginFactory = [](std::shared_ptr<proxy_wasm::WasmHandleBase> wasm,
                          std::shared_ptr<proxy_wasm::PluginBase> p) {
    return std::make_shared<proxy_wasm::PluginHandleBase>(wasm, p);
  };

  Json e = ev("configure");
  e.set("index", index);
  // createWasm: the base VM (loaded once per module) and the configuration canary.
  cloneRole_ = VmRole::Canary;
  auto base = proxy_wasm::createWasm(vmKey, module_->code, plugin, wasmFactory, cloneFactory, false);
  cloneRole_ = VmRole::Worker;
  if (!base) {
    e.set("accepted", false);
    e.set("stage", "canary");
    record(e);
    return false;
  }
  module_->base = base;
  auto handle = proxy_wasm::getOrCreateThreadLocalPlugin(base, plugin, cloneFactory, pluginFactory);
  if (!handle) {
    e.set("accepted", false);
    e.set("stage", "worker");
    record(e);
    return false;
  }
  auto* root = handle->wasm()->getRootContext(plugin, false);
  e.set("accepted", true);
  e.set("root", root != nullptr ? Json(contextName(root)) : Json());
  record(e);
  PluginInstance inst;
  inst.index = index;
  inst.plugin = plugin;
  inst.handle = handle;
  current_ = std::move(inst);  // the previous handle lives on in the streams that hold it
  return true;
}

// ---- the filter of a new stream (Higress 1.27 FilterConfig::createFilter) ---------------

std::shared_ptr<EnvoyContext> Runner::createFilter(Stream& s) {
  if (!current_) {
    Json e = ev("filter");
    e.set("stream", s.name);
    e.set("state", "absent");
    record(e);
    return nullptr;
  }
  auto handle = current_->handle;
  auto wasm = handle->wasm();
  bool failed = wasm == nullptr;
  if (!failed && wasm->isFailed()) {
    // "wasm vm is crashed, try to recover" -- at most every 5 s (PluginHandleSharedPtrThreadLocal).
    Json e = ev("vm_recover");
    e.set("stream", s.name);
    if (monoMs_ - current_->lastRecoverMs < kMinRecoverIntervalMs) {
      e.set("result", "interval_not_reached");
      failed = true;
    } else {
      current_->lastRecoverMs = monoMs_;
      cloneRole_ = VmRole::Worker;
      std::shared_ptr<proxy_wasm::PluginHandleBase> fresh;
      if (handle->doRecover(fresh) && fresh) {
        current_->handle = fresh;
        handle = fresh;
        wasm = fresh->wasm();
        auto* root = wasm->getRootContext(current_->plugin, false);
        e.set("result", "recovered");
        e.set("vm", static_cast<EnvoyWasm*>(wasm.get())->label());
        e.set("root", root != nullptr ? Json(contextName(root)) : Json());
      } else {
        e.set("result", "failed");
        failed = true;
      }
    }
    record(e);
  }
  if (failed) {
    if (current_->plugin->fail_open_) {
      Json e = ev("filter");
      e.set("stream", s.name);
      e.set("state", "skipped_fail_open");
      record(e);
      return nullptr;
    }
    // Fail closed: a context without a VM; its first callback fails the stream.
    auto ctx = std::make_shared<EnvoyContext>(nullptr, 0, handle);
    ctx->setName(s.name);
    return ctx;
  }
  auto* root = wasm->getRootContext(current_->plugin, false);
  if (root == nullptr) {
    scenarioError("no root context for the current plugin");
    return nullptr;
  }
  auto ctx = std::make_shared<EnvoyContext>(static_cast<EnvoyWasm*>(wasm.get()), root->id(), handle);
  ctx->setName(s.name);
  noteContext(ctx.get());
  return ctx;
}

// ---- steps --------------------------------------------------------------------

namespace {

bool readHeaders(const Json* v, HeaderMap& out, std::string& err) {
  if (v == nullptr) return true;
  if (v->isArray()) {
    for (const auto& p : v->items()) {
      if (!p.isArray() || p.size() != 2 || !p.at(0).isString() || !p.at(1).isString()) {
        err = "headers must be [name, value] string pairs";
        return false;
      }
      out.addCopy(p.at(0).asString(), p.at(1).asString());
    }
    return true;
  }
  if (v->isObject()) {
    for (const auto& m : v->members()) {
      if (!m.second.isString()) {
        err = "header " + m.first + " must be a string";
        return false;
      }
      out.addCopy(m.first, m.second.asString());
    }
    return true;
  }
  err = "headers must be an array of pairs or an object";
  return false;
}

bool readBody(const Json* v, std::string& out, std::string& err) {
  out.clear();
  if (v == nullptr || v->isNull()) return true;
  if (v->isString()) {
    out = v->asString();
    return true;
  }
  if (!v->isObject()) {
    err = "a body is a string or an object";
    return false;
  }
  if (auto* t = v->get("text")) { out = t->asString(); return true; }
  if (auto* b = v->get("base64")) {
    if (!base64Decode(b->asString(), out)) { err = "bad base64 body"; return false; }
    return true;
  }
  if (auto* j = v->get("json")) { out = j->dump(); return true; }
  if (auto* f = v->get("file")) {
    std::ifstream in(f->asString(), std::ios::binary);
    if (!in) { err = "cannot read body file " + f->asString(); return false; }
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
  }
  if (auto* fill = v->get("fill")) {
    // prefix + repeat... + suffix, exactly `size` bytes in all.
    std::string prefix = fill->get("prefix") ? fill->get("prefix")->asString() : "";
    std::string suffix = fill->get("suffix") ? fill->get("suffix")->asString() : "";
    std::string repeat = fill->get("repeat") ? fill->get("repeat")->asString() : "x";
    int64_t size = fill->get("size") ? fill->get("size")->asInt() : 0;
    if (repeat.empty() || size < static_cast<int64_t>(prefix.size() + suffix.size())) {
      err = "fill: size smaller than prefix + suffix, or empty repeat";
      return false;
    }
    size_t middle = static_cast<size_t>(size) - prefix.size() - suffix.size();
    out.reserve(static_cast<size_t>(size));
    out = prefix;
    while (out.size() - prefix.size() < middle) out += repeat;
    out.resize(prefix.size() + middle);
    out += suffix;
    return true;
  }
  err = "unknown body form (text, base64, json, file, fill)";
  return false;
}

}  // namespace

void Runner::streamStep(const Json& st) {
  const std::string name = st.get("stream")->asString();
  Stream* s = nullptr;
  for (auto& p : streams_) {
    if (p->name == name) s = p.get();
  }
  std::string err;
  if (auto* h = st.get("requestHeaders")) {
    if (s != nullptr) {
      scenarioError("stream " + name + " already started");
      return;
    }
    auto fresh = std::make_unique<Stream>();
    fresh->runner = this;
    fresh->name = name;
    if (auto* v = st.get("route")) fresh->route = v->asString();
    if (auto* v = st.get("cluster")) fresh->cluster = v->asString();
    if (auto* v = st.get("upstream")) fresh->upstreamProtocol = v->asString();
    if (auto* v = st.get("downstreamProtocol")) fresh->downstreamProtocol = v->asString();
    if (auto* v = st.get("properties")) {
      for (const auto& m : v->members()) fresh->properties[m.first] = m.second.isString() ? m.second.asString() : m.second.dump();
    }
    fresh->enc.limit = fresh->dec.limit = bufferLimit_;
    fresh->lastActivityMs = monoMs_;
    s = fresh.get();
    streams_.push_back(std::move(fresh));
    HeaderMap headers;
    if (!readHeaders(h, headers, err)) { scenarioError(name + ": " + err); return; }
    s->ctx = createFilter(*s);
    if (s->ctx) s->ctx->stream = s;
    bool end = st.get("endStream") ? st.get("endStream")->asBool() : false;
    s->requestHeadersFromClient(std::move(headers), end);
    return;
  }
  if (s == nullptr) {
    scenarioError("stream " + name + " used before its requestHeaders");
    return;
  }
  auto skipped = [&](const char* reason) {
    Json e = ev("skipped");
    e.set("stream", name);
    e.set("reason", reason);
    record(e);
  };
  bool end = st.get("endStream") ? st.get("endStream")->asBool() : false;
  if (st.get("clientReset") && st.get("clientReset")->asBool()) {
    if (s->finished) { skipped("stream already over"); return; }
    s->resetStream("client_reset");
    return;
  }
  if (auto* b = st.get("requestBody")) {
    std::string body;
    if (!readBody(b, body, err)) { scenarioError(name + ": " + err); return; }
    if (s->finished || s->localReplySent) { skipped("stream already answered"); return; }
    s->requestDataFromClient(std::move(body), end);
    return;
  }
  if (auto* h = st.get("responseHeaders")) {
    if (s->finished || s->upstreamCancelled) { skipped("upstream request no longer exists"); return; }
    if (!s->upstreamRequestStarted) { skipped("request headers never went upstream"); return; }
    if (s->responseHeadersReceived) { scenarioError(name + ": response headers twice"); return; }
    HeaderMap headers;
    if (!readHeaders(h, headers, err)) { scenarioError(name + ": " + err); return; }
    if (auto* v = st.get("upstream")) s->upstreamProtocol = v->asString();
    s->responseHeadersFromUpstream(std::move(headers), end);
    return;
  }
  if (auto* b = st.get("responseBody")) {
    std::string body;
    if (!readBody(b, body, err)) { scenarioError(name + ": " + err); return; }
    if (s->finished || s->upstreamCancelled) { skipped("upstream request no longer exists"); return; }
    if (!s->responseHeadersReceived) { scenarioError(name + ": response body before its headers"); return; }
    size_t chunk = body.size();
    if (auto* c = st.get("chunkSize")) chunk = static_cast<size_t>(std::max<int64_t>(1, c->asInt()));
    if (chunk == 0) chunk = 1;
    // Frames as the codec delivers them. HTTP/1: data frames, then an empty frame with
    // end of stream. HTTP/2: the last DATA frame carries end of stream.
    bool h2 = s->upstreamProtocol == "http2";
    std::vector<std::string> frames;
    for (size_t off = 0; off < body.size(); off += chunk) frames.push_back(body.substr(off, chunk));
    for (size_t i = 0; i < frames.size(); i++) {
      if (s->finished || s->upstreamCancelled) break;
      bool last = i + 1 == frames.size();
      s->responseDataFromUpstream(std::move(frames[i]), end && last && h2);
    }
    if (end && (!h2 || frames.empty()) && !s->finished && !s->upstreamCancelled) {
      s->responseDataFromUpstream(std::string(), true);
    }
    return;
  }
  scenarioError(name + ": step does nothing (expected requestHeaders, requestBody, responseHeaders, responseBody or clientReset)");
}

void Runner::answerCall(const Json& st) {
  const char* kinds[] = {"answer", "timeout", "connectFailure", "reset"};
  std::string kind;
  int index = 0;
  for (const char* k : kinds) {
    if (auto* v = st.get(k)) {
      kind = k;
      index = static_cast<int>(v->asInt());
    }
  }
  if (index < 1) {
    scenarioError("a call answer names call " + std::to_string(index) + " (calls count from 1)");
    return;
  }
  if (index > static_cast<int>(calls_.size())) {
    // The plugin did not make that call (e.g. it gave up earlier): nothing to answer.
    Json e = ev("skipped");
    e.set("call", index);
    e.set("reason", "call never made");
    record(e);
    return;
  }
  HttpCallRecord& rec = calls_[static_cast<size_t>(index - 1)];
  Json e = ev("call_answer");
  e.set("call", index);
  e.set("kind", kind);
  if (rec.state == HttpCallRecord::State::Answered || rec.state == HttpCallRecord::State::Dropped) {
    // Already answered (a timeout may have fired first): a later answer finds nothing.
    Json d = ev("skipped");
    d.set("call", index);
    d.set("reason", "call already answered");
    record(d);
    return;
  }
  if (rec.state == HttpCallRecord::State::Cancelled || rec.root == nullptr) {
    record(e);
    Json d = ev("call_dropped");
    d.set("call", index);
    d.set("reason", "cancelled");
    record(d);
    return;
  }
  rec.state = HttpCallRecord::State::Answered;
  EnvoyContext* root = rec.root;
  if (kind == "reset") {
    record(e);
    root->onHttpCallFailure(rec.token);
    return;
  }
  CallResponse resp;
  std::string err;
  if (kind == "answer") {
    int64_t status = st.get("status") ? st.get("status")->asInt() : 200;
    resp.headers.addCopy(":status", std::to_string(status));
    if (!readHeaders(st.get("headers"), resp.headers, err) || !readBody(st.get("body"), resp.body, err)) {
      scenarioError("call " + std::to_string(index) + ": " + err);
      return;
    }
    e.set("status", status);
  } else {
    const char* body = kind == "timeout" ? kTimeoutBody : kConnectFailureBody;
    int status = kind == "timeout" ? 504 : 503;
    resp.headers.addCopy(":status", std::to_string(status));
    resp.body = body;
    resp.headers.addCopy("content-length", std::to_string(resp.body.size()));
    resp.headers.addCopy("content-type", "text/plain");
    e.set("status", status);
  }
  record(e);
  root->onHttpCallSuccess(rec.token, std::move(resp));
}

void Runner::advance(uint64_t ms) {
  uint64_t target = monoMs_ + ms;
  while (true) {
    // The next thing due: a call timeout or a stream idle timeout.
    uint64_t next = target + 1;
    for (auto& c : calls_) {
      if (c.state == HttpCallRecord::State::Pending && c.root != nullptr && c.deadlineMs > 0 && c.deadlineMs < next) {
        next = c.deadlineMs;
      }
    }
    for (auto& s : streams_) {
      if (!s->finished && idleTimeoutMs_ > 0 && s->lastActivityMs + idleTimeoutMs_ < next) {
        next = s->lastActivityMs + idleTimeoutMs_;
      }
    }
    if (next > target) break;
    if (next > monoMs_) {
      wallMs_ += next - monoMs_;
      monoMs_ = next;
    }
    bool fired = false;
    for (auto& c : calls_) {
      if (c.state == HttpCallRecord::State::Pending && c.root != nullptr && c.deadlineMs > 0 && c.deadlineMs <= monoMs_) {
        Json st = Json::object();
        st.set("timeout", c.index);
        answerCall(st);
        settle();
        fired = true;
        break;
      }
    }
    if (fired) continue;
    for (auto& s : streams_) {
      if (!s->finished && idleTimeoutMs_ > 0 && s->lastActivityMs + idleTimeoutMs_ <= monoMs_) {
        // ActiveStream::onIdleTimeout: with response headers in the filter chain (even held by
        // a filter) the stream is ended, which resets it; otherwise a 408 local reply.
        Json e = ev("idle_timeout");
        e.set("stream", s->name);
        record(e);
        if (s->responseHeadersReceived) s->resetStream("stream_idle_timeout");
        else s->sendLocalReply(408, "stream timeout", nullptr, "stream_idle_timeout");
        settle();
        break;
      }
    }
  }
  if (target > monoMs_) {
    wallMs_ += target - monoMs_;
    monoMs_ = target;
  }
}

void Runner::destroyStream(Stream* s) {
  s->destroyed = true;
  Json e = ev("stream_end");
  e.set("stream", s->name);
  record(e);
  if (s->ctx) {
    // ConnectionManagerImpl::doDeferredStreamDestroy: access log, then the filters' onDestroy.
    s->ctx->accessLog();
    s->ctx->onDestroy();
    s->ctx->stream = nullptr;
    s->ctx.reset();  // may release the last handle of an older configuration
  }
}

void Runner::settle() {
  bool again = true;
  while (again) {
    again = false;
    for (auto& s : streams_) {
      if (s->finished && !s->destroyed) {
        destroyStream(s.get());
        again = true;
      }
    }
  }
}

void Runner::step(const Json& st, size_t i) {
  Json e = ev("step");
  e.set("i", static_cast<uint64_t>(i));
  record(e);
  if (!st.isObject()) {
    scenarioError("step " + std::to_string(i) + " is not an object");
    return;
  }
  if (st.get("stream") != nullptr) {
    streamStep(st);
  } else if (st.get("answer") || st.get("timeout") || st.get("connectFailure") || st.get("reset")) {
    answerCall(st);
  } else if (auto* c = st.get("configure")) {
    configure(*c, ++configs_);
  } else if (auto* a = st.get("advance")) {
    advance(static_cast<uint64_t>(std::max<int64_t>(0, a->asInt())));
  } else if (st.get("tick")) {
    if (current_ && current_->handle->wasm()) {
      auto* root = current_->handle->wasm()->getRootContext(current_->plugin, false);
      if (root != nullptr) root->onTick(0);
    }
  } else {
    scenarioError("step " + std::to_string(i) + " does nothing");
  }
  settle();
}

Json Runner::clients() const {
  Json out = Json::object();
  for (const auto& s : streams_) {
    Json c = Json::object();
    const std::string* status = s->client.headers.get(":status");
    c.set("status", s->client.headersSent && status != nullptr ? Json(static_cast<int64_t>(std::atoll(status->c_str())))
                                                                : Json());
    c.set("headers", s->client.headers.toJson());
    c.set("body", bodyJson(s->client.body));
    c.set("complete", s->client.complete);
    c.set("reset", s->client.reset ? Json(s->client.resetReason) : Json(false));
    if (s->client.localReply) c.set("localReply", *s->client.localReply);
    c.set("pending", !s->client.complete && !s->client.reset);
    out.set(s->name, c);
  }
  return out;
}

Json Runner::metricsJson() const {
  Json out = Json::object();
  for (const auto& m : metrics_) out.set(m.first, m.second.second);
  return out;
}

void Runner::teardown() {
  recording_ = false;
  for (auto& s : streams_) {
    if (s->ctx) {
      s->ctx->stream = nullptr;
      s->ctx.reset();
    }
  }
  current_.reset();
  streams_.clear();
  calls_.clear();
  for (auto& m : modules_) {
    if (m.second->base && m.second->base->wasm() && m.second->base->wasm()->isFailed()) m.second->base.reset();
  }
}

Json Runner::run(const Json& sc) {
  reset();
  scenarioSeq_++;
  recording_ = !quiet_;
  Json out = Json::object();
  const Json* nameJ = sc.get("name");
  out.set("name", nameJ != nullptr ? *nameJ : Json());

  wallMs_ = sc.get("clock") && sc.get("clock")->get("wallMs") ? static_cast<uint64_t>(sc.get("clock")->get("wallMs")->asInt())
                                                              : 1700000000000ULL;
  monoMs_ = sc.get("clock") && sc.get("clock")->get("monoMs") ? static_cast<uint64_t>(sc.get("clock")->get("monoMs")->asInt())
                                                              : 1000000ULL;
  logLevel_ = parseLevel(sc.get("logLevel"));
  bufferLimit_ = sc.get("bufferLimit") ? static_cast<uint32_t>(sc.get("bufferLimit")->asInt()) : 32768;
  idleTimeoutMs_ = sc.get("idleTimeoutMs") ? static_cast<uint64_t>(sc.get("idleTimeoutMs")->asInt()) : 300000;
  failOpen_ = sc.get("failStrategy") && sc.get("failStrategy")->asString() == "FAIL_OPEN";
  const Json* plugin = sc.get("plugin");
  pluginName_ = plugin && plugin->get("name") ? plugin->get("name")->asString() : "ai-json-mode";
  rootId_ = plugin && plugin->get("rootId") ? plugin->get("rootId")->asString() : "";
  vmId_ = plugin && plugin->get("vmId") ? plugin->get("vmId")->asString() : "";
  vmConfig_ = plugin && plugin->get("vmConfig") ? (plugin->get("vmConfig")->isString() ? plugin->get("vmConfig")->asString()
                                                                                        : plugin->get("vmConfig")->dump())
                                                : "";
  clusters_.clear();
  if (auto* c = sc.get("clusters")) {
    for (const auto& m : c->members()) clusters_[m.first] = m.second.stringOr("healthy");
  }
  std::string moduleName = sc.get("module") ? sc.get("module")->asString() : "plugin";
  module_ = module(moduleName);
  if (module_ == nullptr) {
    scenarioError("unknown or unreadable module " + moduleName);
  } else {
    if (auto* c = sc.get("config")) configure(*c, ++configs_);
    const Json* steps = sc.get("steps");
    if (steps != nullptr) {
      for (size_t i = 0; i < steps->size(); i++) step(steps->at(i), i);
    }
    settle();
  }

  out.set("events", events_);
  out.set("contexts", contexts_);
  out.set("clients", clients());
  Json calls = Json::array();
  for (const auto& c : calls_) {
    Json j = Json::object();
    j.set("call", c.index);
    j.set("stream", c.streamName);
    j.set("cluster", c.cluster);
    const char* state = c.state == HttpCallRecord::State::Pending    ? "pending"
                        : c.state == HttpCallRecord::State::Answered ? "answered"
                        : c.state == HttpCallRecord::State::Dropped  ? "dropped"
                                                                     : "cancelled";
    j.set("state", state);
    calls.push(j);
  }
  out.set("calls", calls);
  out.set("metrics", metricsJson());
  Json errs = Json::array();
  for (const auto& e : errors_) errs.push(e);
  out.set("errors", errs);
  out.set("ok", errors_.empty());
  teardown();
  return out;
}

}  // namespace cpphost
