// Envoy answering the client itself (FilterManager::sendLocalReply: through the filter
// chain, directly, or as a reset once the response has started), and stream resets.
#include "envoy_context.h"
#include "events.h"
#include "runner.h"
#include "stream.h"
#include "util.h"

namespace cpphost {

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
  if (afterHeaders(enc, status)) toClientHeaders(headersOnly);
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
  Json e = event("local_reply");
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
  Json e = event("reset");
  e.set("stream", name);
  e.set("reason", reason);
  runner->record(e);
  runner->markFinished(this);
}

}  // namespace cpphost
