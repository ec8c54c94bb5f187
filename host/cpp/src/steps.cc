// The stream driver: a scenario's steps, the frames a body arrives in, the clock (call
// timeouts, idle timeouts), and the end of finished streams.
#include <algorithm>
#include <vector>

#include "envoy_context.h"
#include "events.h"
#include "runner.h"
#include "scenario.h"

namespace cpphost {

void Runner::step(const Json& st, size_t i) {
  Json e = event("step");
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
    Json e = event("skipped");
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
        // ActiveStream::onIdleTimeout (Envoy 1.21 and later, 1.27 included): always a local
        // reply, 504 once the request is complete (Utility::maybeRequestTimeoutCode with
        // remoteDecodeComplete), 408 before; sendLocalReply then takes its usual path: through
        // the filter chain without response headers, straight to the client when they are
        // held; once they were sent the stream is reset.
        Json e = event("idle_timeout");
        e.set("stream", s->name);
        record(e);
        if (s->client.headersSent) s->resetStream("stream_idle_timeout");
        else s->sendLocalReply(s->dec.endObserved ? 504 : 408, "stream timeout", nullptr, "stream_idle_timeout");
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
  Json e = event("stream_end");
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

}  // namespace cpphost
