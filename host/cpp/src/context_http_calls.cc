// HTTP calls, always on the root context: proxy_http_call (Envoy's Context::httpCall)
// and the AsyncClient's answers. gRPC and Redis calls are not modelled.
#include "envoy_context.h"
#include "events.h"
#include "runner.h"
#include "util.h"

namespace cpphost {

using proxy_wasm::Pairs;

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

// ---- answers (Context::onHttpCallSuccess, onHttpCallFailure) ----------------------------

bool EnvoyContext::answerReachesVm(uint32_t token) {
  if (wasm_ == nullptr || isFailed()) {
    // The VM failed: Envoy's ContextBase::onHttpCallResponse returns without a call.
    auto* rec = runner_->callByToken(this, token);
    Json ev = Json::object();
    ev.set("ev", "call_dropped");
    ev.set("call", rec != nullptr ? rec->index : 0);
    ev.set("reason", "vm_failed");
    record(ev);
    if (rec != nullptr) rec->state = HttpCallRecord::State::Dropped;
    http_request_.erase(token);
    return false;
  }
  return http_request_.find(token) != http_request_.end();
}

void EnvoyContext::onHttpCallSuccess(uint32_t token, CallResponse response_in) {
  if (!answerReachesVm(token)) return;
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
  if (!answerReachesVm(token)) return;
  status_code_ = static_cast<uint32_t>(WasmResult::BrokenConnection);
  status_message_ = "reset";
  wasm()->addAfterVmCallAction([this, token] {
    status_message_ = "";
    http_request_.erase(token);
  });
  ContextBase::onHttpCallResponse(token, 0, 0, 0);
}

// ---- gRPC and Redis: Unimplemented ----------------------------------------------------

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

}  // namespace cpphost
