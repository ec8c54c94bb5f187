// Releasing what the filter held, as Envoy's filter manager does:
// proxy_continue_stream (Envoy's commonContinue: headers, then the buffered
// data, then the end), releasing headers, data, trailers and the end of
// stream to the next hop, and fail open's release of everything.

import { copyPairs, firstValue } from "../header-map.ts";
import { deliverBody, deliverTrailers } from "./callbacks.ts";
import { vmGone, type Chain } from "./chain.ts";
import { armIdle, settle } from "./idle-timeout.ts";
import { routeBeforeUpstream } from "./route-cache.ts";
import type { Direction, StreamState } from "./state.ts";

/** proxy_continue_stream, applied after the VM call that asked for it. */
export function resume(c: Chain, s: StreamState, d: Direction): void {
  if (s.stopped || d.headers === "pending") return;
  if (vmGone(c, s) && c.host.failStrategy === "close") return;
  if (d.kind === "request" && s.requestDetached) return;
  if (d.headers === "released" && !d.stopped && !d.heldAll) return; // nothing was stopped
  armIdle(c, s);
  continueDirection(c, s, d);
}

/** Envoy's commonContinue: headers, then what is buffered, then the end. */
export function continueDirection(c: Chain, s: StreamState, d: Direction): void {
  if (d.heldAll) {
    // StopAll: the module now sees what arrived meanwhile, as one chunk.
    d.heldAll = false;
    // Trailers that arrived meanwhile go to the module after the data (Envoy iterates from this filter).
    const trailersNext = d.trailersPending;
    d.trailersPending = false;
    releaseHeaders(c, s, d, !d.heldAllData && !trailersNext && d.end === "seen");
    if (!d.heldAllData) {
      if (trailersNext) deliverTrailers(c, s, d);
      else if (d.end === "seen") releaseEnd(c, s, d);
      return;
    }
    d.heldAllData = false;
    const data = d.buffered ? d.buffered.copy() : new Uint8Array(0);
    d.buffered = null;
    d.overLimit = false;
    deliverBody(c, s, d, data, d.sourceEnded && !trailersNext);
    if (trailersNext && !s.stopped && s.reply !== "pending" && !vmGone(c, s)) deliverTrailers(c, s, d);
    return;
  }
  d.stopped = false;
  d.bufferingView = false;
  // Envoy's commonContinue: the headers end the stream when the end was seen and nothing (data, trailers) follows.
  releaseHeaders(c, s, d, d.end === "seen" && !d.buffered && !d.trailers);
  if (s.stopped) return;
  releaseBuffered(s, d);
  if (d.end === "seen") releaseEnd(c, s, d);
}

/** Releases a direction's headers; `endStream`: nothing follows them (Envoy encodes them with end_stream). */
export function releaseHeaders(c: Chain, s: StreamState, d: Direction, endStream = false): void {
  if (d.headers !== "seen") return;
  if (d.kind === "request" && !routeBeforeUpstream(c, s)) return;
  d.headers = "released";
  const snapshot = copyPairs(d.map);
  if (d.kind === "request") {
    s.forwardedHeaders = snapshot;
    s.events.emit("upstream-headers", snapshot, endStream);
  } else {
    const st = Number(firstValue(snapshot, ":status"));
    s.status = Number.isFinite(st) ? st : undefined;
    s.headers = snapshot;
    s.events.emit("headers", s.status, snapshot, endStream);
  }
}

/** Releases the buffered data (the buffer is then empty). */
function releaseBuffered(s: StreamState, d: Direction): void {
  if (!d.buffered) return;
  const bytes = d.buffered.copy();
  d.buffered = null;
  d.overLimit = false;
  releaseData(s, d, bytes);
}

/** Sends data on: upstream for the request, to the client for the response. */
export function releaseData(s: StreamState, d: Direction, bytes: Uint8Array): void {
  if (bytes.length === 0) return;
  if (d.kind === "request") {
    s.forwarded.push(bytes);
    s.events.emit("upstream-data", bytes);
  } else {
    s.received.push(bytes);
    s.events.emit("data", bytes);
  }
}

/** Releases the end of the direction (with its trailers); the response's end finishes the stream. */
export function releaseEnd(c: Chain, s: StreamState, d: Direction): void {
  if (d.end === "released" || d.end === "cut") return;
  d.end = "released";
  d.trailersOpen = false;
  const trailers = d.trailers ? copyPairs(d.trailers) : null;
  if (d.kind === "request") {
    if (trailers) {
      s.forwardedTrailers = trailers;
      s.events.emit("upstream-trailers", trailers);
    }
    s.forwardedComplete = true;
    s.events.emit("upstream-end");
  } else {
    if (trailers) {
      s.trailers = trailers;
      s.events.emit("trailers", trailers);
    }
    s.complete = true;
    s.finished = true;
    settle(c, s);
    s.events.emit("end");
  }
}

/** Fail open: everything held goes on, and the stream no longer sees the module. */
export function releaseEverything(c: Chain, s: StreamState): void {
  s.bypass = true;
  for (const d of [s.req, s.res]) {
    if (d.headers === "pending" || (d.kind === "request" && s.requestDetached)) continue;
    d.heldAll = false;
    d.heldAllData = false;
    d.trailersPending = false;
    d.stopped = false;
    d.bufferingView = false;
    releaseHeaders(c, s, d, d.sourceEnded && !d.buffered && !d.trailers);
    if (s.stopped) return;
    releaseBuffered(s, d);
    if (d.sourceEnded) releaseEnd(c, s, d);
  }
}
