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
  Json e = event("continue_decoding");
  e.set("stream", name);
  runner->record(e);
  commonContinueDecoding();
}

void Stream::continueEncoding() {
  Json e = event("continue_encoding");
  e.set("stream", name);
  runner->record(e);
  commonContinueEncoding();
}

}  // namespace cpphost
