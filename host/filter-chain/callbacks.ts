// The module's stream callbacks, as Higress's Envoy 1.27 runs the Wasm
// filter: proxy_on_{request,response}_{headers,body,trailers}, what each
// return value holds or releases, Envoy 1.27's body buffering (the current
// chunk joins the buffered data after the callback returns), data held
// while a filter stopped all iteration, and input on a stream whose VM failed.

import { DataStatus, HeadersStatus } from "../abi/constants.ts";
import { ByteBuffer } from "../bytes.ts";
import type { Pairs } from "../types.ts";
import { bufferInto } from "./buffers.ts";
import { vmGone, type Chain } from "./chain.ts";
import { continueDirection, releaseData, releaseEnd, releaseEverything, releaseHeaders } from "./release.ts";
import { failStream } from "./replies.ts";
import type { Direction, StreamState } from "./state.ts";

/** Calls a stream callback; undefined when the VM failed during it (the host then fails the stream). */
function callStream(c: Chain, s: StreamState, fn: string, ...args: number[]): number | undefined {
  const r = c.host.invoke(fn, s.id, s.id, ...args);
  if (vmGone(c, s)) return undefined;
  s.lastAction = r ?? 0;
  return s.lastAction;
}

/** Handles input on a stream whose VM failed, or a bypassed stream. Returns true when it did. */
function handledByFailure(c: Chain, s: StreamState): boolean {
  if (!s.bypass && !vmGone(c, s)) return false;
  if (s.bypass || c.host.failStrategy === "open") {
    s.bypass = true;
    releaseEverything(c, s);
  } else {
    failStream(c, s);
  }
  return true;
}

/**
 * A headers callback, proxy_on_{request,response}_headers(id, n, end_of_stream):
 * Continue releases the headers, ContinueAndEndStream ends the direction
 * with them, the stops hold them (and, for StopAll, the body callbacks).
 */
export function onHeaders(c: Chain, s: StreamState, d: Direction, pairs: Pairs, eos: boolean): void {
  if (s.stopped) return;
  d.map = pairs;
  d.mapOpen = true;
  d.headers = "seen";
  if (eos) d.reach("arrived");
  if (handledByFailure(c, s)) return;
  const fn = d.kind === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers";
  const action = callStream(c, s, fn, pairs.length, eos ? 1 : 0);
  if (action === undefined) return;
  if (eos) d.reach("seen");
  if (s.reply === "pending" || s.stopped) return;
  switch (action) {
    case HeadersStatus.Continue:
      d.mapOpen = false;
      releaseHeaders(c, s, d, eos);
      if (eos) releaseEnd(c, s, d);
      break;
    case HeadersStatus.ContinueAndEndStream:
      releaseHeaders(c, s, d, true);
      releaseEnd(c, s, d);
      d.end = "cut";
      break;
    case HeadersStatus.StopIteration:
      // Higress's 0.2.100 keeps StopIteration (body callbacks still arrive);
      // with 0.2.0/0.2.1 the host turns it into StopAllIterationAndWatermark.
      if (c.host.abiVersion === "0.2.100") d.stopped = true;
      else holdAll(s, d, true);
      break;
    case HeadersStatus.StopAllIterationAndBuffer:
      holdAll(s, d, false);
      break;
    default:
      holdAll(s, d, true);
  }
}

/** The headers callback stopped all iteration: body callbacks wait for continue. */
function holdAll(s: StreamState, d: Direction, watermark: boolean): void {
  d.heldAll = true;
  // StopAllIterationAndWatermark (or 0.2.0/0.2.1's StopIteration): data held meanwhile counts as streaming.
  d.streaming = watermark;
}

/** A body chunk arrived: it goes to the module, or is held (stop all), or passes (fail open). */
export function onBody(c: Chain, s: StreamState, d: Direction, chunk: Uint8Array, eos: boolean): void {
  if (s.stopped || d.end === "cut") return;
  if (handledByFailure(c, s)) {
    // Fail open: what was held went on first (without the end); this chunk, then the end, follow it.
    if (eos) d.reach("arrived");
    if (s.bypass) {
      releaseData(s, d, chunk);
      if (eos) releaseEnd(c, s, d);
    }
    return;
  }
  if (eos) d.reach("arrived");
  if (d.heldAll) {
    // Envoy buffers what arrives while a filter stopped all iteration.
    d.heldAllData = true;
    bufferInto(c, s, d, chunk, false);
    return;
  }
  deliverBody(c, s, d, chunk, eos);
}

/**
 * One body callback, as Envoy 1.27's Context::encodeData/decodeData runs
 * it: the module's buffer is the buffered data when the previous callback
 * returned StopIterationAndBuffer (without this callback's chunk: the chunk
 * joins the buffer after the callback returns), else this callback's chunk.
 * With the "ideal" model the chunk joins before the callback.
 */
export function deliverBody(c: Chain, s: StreamState, d: Direction, chunk: Uint8Array, eos: boolean): void {
  const ideal = c.host.model === "ideal";
  const cur = new ByteBuffer();
  if (ideal && d.bufferingView && d.buffered) d.buffered.append(chunk);
  else cur.append(chunk);
  d.current = cur;
  const view = d.bufferingView && d.buffered ? d.buffered : cur;
  const fn = d.kind === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
  const action = callStream(c, s, fn, view.length, eos ? 1 : 0);
  d.current = null;
  d.bufferingView = false;
  if (action === undefined) return;
  if (eos) d.reach("seen");
  if (s.reply === "pending" || s.stopped) return;
  if (action === DataStatus.Continue) {
    d.chunkRef = "none";
    if (d.stopped || d.headers !== "released") {
      // Envoy moves the chunk into the buffered data, then continues.
      if (!bufferInto(c, s, d, cur.view(), false)) return;
      continueDirection(c, s, d);
    } else {
      releaseData(s, d, cur.copy());
      if (eos) releaseEnd(c, s, d);
    }
  } else if (action === DataStatus.StopIterationAndBuffer || action === DataStatus.StopIterationAndWatermark) {
    d.stopped = true;
    d.streaming = action === DataStatus.StopIterationAndWatermark;
    d.bufferingView = action === DataStatus.StopIterationAndBuffer || ideal;
    d.chunkRef = d.bufferingView ? "none" : "dead";
    bufferInto(c, s, d, cur.view(), false);
  } else {
    // StopIterationNoBuffer (and anything larger): Envoy neither buffers nor
    // forwards this chunk; the stream stays stopped until continue.
    d.stopped = true;
    if (ideal) {
      d.buffered = null;
      d.chunkRef = "none";
    } else {
      d.chunkRef = "dead";
      // At the end of stream Envoy keeps an empty buffer, so a continue ends the stream.
      if (eos && !d.buffered) d.buffered = new ByteBuffer();
    }
  }
}

/**
 * Trailers end the direction (an HTTP/2 peer's trailing HEADERS): the body
 * callbacks saw no end of stream; `proxy_on_*_trailers(id, n)` runs with
 * the trailer map (1 or 3) open. Continue ends the direction, first
 * releasing what the filter held (Envoy's commonHandleAfterTrailersCallback:
 * headers, buffered data, then the trailers); StopIteration holds
 * everything until proxy_continue_stream. A module without the export
 * continues (proxy-wasm-cpp-host).
 */
export function onTrailers(c: Chain, s: StreamState, d: Direction, pairs: Pairs): void {
  if (s.stopped || d.end === "cut") return;
  d.reach("arrived");
  d.trailers = pairs;
  if (handledByFailure(c, s)) return;
  if (d.heldAll) {
    d.trailersPending = true;
    return;
  }
  deliverTrailers(c, s, d);
}

export function deliverTrailers(c: Chain, s: StreamState, d: Direction): void {
  d.trailersOpen = true;
  const fn = d.kind === "request" ? "proxy_on_request_trailers" : "proxy_on_response_trailers";
  const action = callStream(c, s, fn, d.trailers!.length);
  if (action === undefined) return;
  d.reach("seen");
  if (s.reply === "pending" || s.stopped) return;
  if (action !== 0) {
    d.stopped = true; // StopIteration: held until continue
    return;
  }
  d.trailersOpen = false;
  if (d.stopped || d.heldAll || d.headers !== "released") continueDirection(c, s, d);
  else releaseEnd(c, s, d);
}
