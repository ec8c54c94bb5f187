#include "stream.h"

#include "envoy_context.h"
#include "events.h"
#include "runner.h"

namespace cpphost {

using proxy_wasm::FilterDataStatus;
using proxy_wasm::FilterHeadersStatus;

void Stream::touch() { lastActivityMs = runner->monoMs(); }

void Stream::toUpstreamHeaders(bool end) {
  upstreamRequestStarted = true;
  Json e = event("upstream_headers");
  e.set("stream", name);
  e.set("headers", requestHeaders.toJson());
  e.set("end", end);
  runner->record(e);
  if (end) dec.done = true;
}

void Stream::toUpstreamData(const std::string& data, bool end) {
  if (data.empty() && !end) return;
  Json e = event("upstream_data");
  e.set("stream", name);
  e.set("size", static_cast<uint64_t>(data.size()));
  e.set("end", end);
  runner->record(e);
  if (end) dec.done = true;
}

void Stream::toClientHeaders(bool end) {
  client.headersSent = true;
  client.headers = responseHeaders;
  Json e = event("client_headers");
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
  Json e = event("client_data");
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
    Json e = event("buffer_limit");
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

bool Stream::afterHeaders(Direction& d, FilterHeadersStatus status) {
  switch (status) {
    case FilterHeadersStatus::StopIteration: d.iteration = Iteration::StopSingle; return false;
    case FilterHeadersStatus::StopAllIterationAndBuffer: d.iteration = Iteration::StopAllBuffer; return false;
    case FilterHeadersStatus::StopAllIterationAndWatermark: d.iteration = Iteration::StopAllWatermark; return false;
    default:  // Continue; ContinueAndEndStream maps to Continue in Envoy's convertFilterHeadersStatus
      d.headersContinued = true;
      return true;
  }
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
  if (afterHeaders(dec, status)) toUpstreamHeaders(end);
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
  if (afterHeaders(enc, status)) toClientHeaders(end);
}

void Stream::requestDataFromClient(std::string data, bool end) { dataThroughFilter(false, std::move(data), end); }

void Stream::responseDataFromUpstream(std::string data, bool end) { dataThroughFilter(true, std::move(data), end); }

bool Stream::cutShort(bool encoder) const {
  // The decoder stops at a local reply; the encoder carries it to the client.
  return finished || (!encoder && localReplySent);
}

void Stream::forwardData(bool encoder, const std::string& data, bool end) {
  if (encoder) toClientData(data, end);
  else toUpstreamData(data, end);
}

void Stream::dataThroughFilter(bool encoder, std::string data, bool end) {
  touch();
  Direction& d = encoder ? enc : dec;
  if (end) d.endObserved = true;
  if (cutShort(encoder)) return;
  if (!ctx) {
    forwardData(encoder, data, end);
    return;
  }
  if (d.iteration == Iteration::StopAllBuffer || d.iteration == Iteration::StopAllWatermark) {
    d.streaming = d.iteration == Iteration::StopAllWatermark;
    bufferData(encoder, data);
    return;
  }
  std::string& chunk = encoder ? ctx->response_chunk_ : ctx->request_chunk_;
  chunk = std::move(data);
  auto status = encoder ? ctx->encodeData(chunk, end) : ctx->decodeData(chunk, end);
  if (cutShort(encoder)) return;
  if (status == FilterDataStatus::Continue) {
    if (d.iteration == Iteration::StopSingle) {
      bufferData(encoder, chunk);
      commonContinue(encoder);
    } else {
      forwardData(encoder, chunk, end);
      chunk.clear();
    }
    return;
  }
  d.iteration = Iteration::StopSingle;
  if (status == FilterDataStatus::StopIterationAndBuffer || status == FilterDataStatus::StopIterationAndWatermark) {
    d.streaming = status == FilterDataStatus::StopIterationAndWatermark;
    bufferData(encoder, chunk);
  } else if (d.endObserved && !d.buffered) {
    d.buffered = std::make_unique<std::string>();  // NoBuffer at the end: an empty frame resumes
  }
}

void Stream::commonContinue(bool encoder) {
  if (cutShort(encoder)) return;                     // canContinue()
  if (encoder && !responseHeadersReceived) return;  // nothing has reached the encoder yet
  Direction& d = encoder ? enc : dec;
  d.iteration = Iteration::Continue;
  if (!d.headersContinued) {
    d.headersContinued = true;
    bool end = d.endObserved && !d.buffered;
    if (encoder) toClientHeaders(end);
    else toUpstreamHeaders(end);
  }
  if (d.buffered) {
    std::string data = std::move(*d.buffered);
    d.buffered.reset();
    forwardData(encoder, data, d.endObserved);
  }
}

void Stream::continueDecoding() {
  Json e = event("continue_decoding");
  e.set("stream", name);
  runner->record(e);
  commonContinue(false);
}

void Stream::continueEncoding() {
  Json e = event("continue_encoding");
  e.set("stream", name);
  runner->record(e);
  commonContinue(true);
}

}  // namespace cpphost
