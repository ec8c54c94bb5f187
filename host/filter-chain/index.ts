// The HTTP filter chain around the module, as Higress's Envoy 1.27 runs the
// Wasm filter. FilterChain is what the host and the module's host functions
// see: it opens streams, takes their input and ends them, and hands each
// question to the part of the chain that answers it:
//
//   state.ts         the per-stream and per-direction state
//   chain.ts         what the parts share: the host they run in, the chain
//   callbacks.ts     headers, body and trailers callbacks, what a callback's
//                    return value holds or releases, 1.27's body buffering
//   buffers.ts       the buffered data and the per-stream buffer limit
//   release.ts       proxy_continue_stream and releasing what was held
//   route-cache.ts   request-header edits and the route picked again
//   replies.ts       local replies, fail closed's 503, resets
//   idle-timeout.ts  the stream idle timeout
//
// What a failed VM does to a stream: fail closed, a 503 wasm_fail_stream at
// the stream's next callback; fail open, the stream no longer sees the module.

import { ROOT_ID } from "../abi/constants.ts";
import { HttpStream, type DirectionKind } from "../stream.ts";
import type { LocalResponse, Pairs, StreamProps } from "../types.ts";
import { bodyTarget, bufferWritten, setBufferLimit, type BodyTarget } from "./buffers.ts";
import { onBody, onHeaders, onTrailers } from "./callbacks.ts";
import { vmGone, type Chain, type ChainHost } from "./chain.ts";
import { armIdle, settle, stopTimers } from "./idle-timeout.ts";
import { releaseEverything, resume } from "./release.ts";
import { applyLocalResponse, failStream, requestLocalResponse, resetStream } from "./replies.ts";
import { requestHeadersEdited } from "./route-cache.ts";
import { StreamState, type Direction } from "./state.ts";

export class FilterChain implements Chain {
  /** Stream contexts created and not yet deleted, by id. */
  readonly live = new Map<number, StreamState>();
  /** Streams whose idle timer runs. */
  readonly timed = new Set<StreamState>();

  constructor(readonly host: ChainHost) {}

  /** Stops every stream idle timer (the host is closing). */
  stopTimers(): void {
    stopTimers(this);
  }

  /** Creates a stream and its context (proxy_on_context_create(id, root)). */
  open(id: number, props: StreamProps): HttpStream {
    const http2 = /^HTTP\/2/i.test(props.protocol ?? "");
    const s = new StreamState(id, props, http2 ? this.host.http2BufferLimit : this.host.bufferLimit);
    const stream = new HttpStream(s, {
      feed: (kind, what, data, eos) => this.feed(s, kind, what, data, eos),
      finish: () => this.finish(s),
    });
    s.events = stream;
    this.host.run(() => {
      this.host.beforeNewStream();
      s.generation = this.host.generation;
      armIdle(this, s);
      if (this.host.failed) {
        s.bypass = this.host.failStrategy === "open";
        return;
      }
      s.context = "live";
      this.live.set(s.id, s);
      this.host.invoke("proxy_on_context_create", s.id, s.id, ROOT_ID);
    });
    return stream;
  }

  /** A live stream of the current VM, by context id. */
  current(id: number): StreamState | undefined {
    const s = this.live.get(id);
    return s && s.generation === this.host.generation ? s : undefined;
  }

  // ----- input -------------------------------------------------------------

  /** Entry point of the HttpStream feed methods. */
  private feed(
    s: StreamState,
    kind: DirectionKind,
    what: "headers" | "body" | "trailers",
    data: Pairs | Uint8Array,
    eos: boolean,
  ): void {
    const d = kind === "request" ? s.req : s.res;
    // A finished stream, or one a local reply answered (it replaced the upstream), ignores late input (as Envoy does).
    if (s.stopped || s.localResponse !== undefined) return;
    if (what === "headers" && d.input !== "none") throw new Error(`stream ${s.id}: ${kind} headers sent twice`);
    if (what !== "headers" && d.input === "none")
      throw new Error(`stream ${s.id}: ${kind} ${what} before ${kind} headers`);
    if (d.input === "closed") throw new Error(`stream ${s.id}: ${kind} ${what} after end of stream`);
    if (eos) d.input = "closed";
    else if (what === "headers") d.input = "open";
    this.host.run(() => {
      armIdle(this, s);
      if (what === "headers") onHeaders(this, s, d, data as Pairs, eos);
      else if (what === "trailers") onTrailers(this, s, d, data as Pairs);
      else onBody(this, s, d, data as Uint8Array, eos);
    });
  }

  /** Entry point of HttpStream.done(): proxy_on_log, proxy_on_done, proxy_on_delete. */
  private finish(s: StreamState): void {
    this.host.run(() => {
      if (s.context === "deleted") return;
      if (s.context === "live" && !vmGone(this, s)) {
        s.context = "log";
        this.host.invoke("proxy_on_log", s.id, s.id);
        s.context = "live";
        this.host.invoke("proxy_on_done", s.id, s.id);
        this.host.invoke("proxy_on_delete", s.id, s.id);
      }
      s.context = "deleted";
      settle(this, s);
      if (s.reply === "pending") s.reply = "none";
      s.pendingReply = null;
      this.live.delete(s.id);
    });
  }

  /** The callback of this stream trapped: Envoy fails it as the callback returns (fail open: it passes). */
  failedInCallback(id: number): void {
    const s = this.live.get(id);
    if (!s || s.finished) return;
    if (this.host.failStrategy === "close") failStream(this, s);
    else releaseEverything(this, s);
  }

  // ----- what the module's host functions ask for ----------------------------

  /** proxy_continue_stream, applied after the VM call that asked for it. */
  resume(s: StreamState, d: Direction): void {
    resume(this, s, d);
  }

  /** proxy_close_stream: the stream is reset. */
  resetStream(s: StreamState, reason: string): void {
    resetStream(this, s, reason);
  }

  /** proxy_send_local_response, recorded during the VM call; false when the stream cannot take it. */
  requestLocalResponse(s: StreamState, lr: LocalResponse): boolean {
    return requestLocalResponse(s, lr);
  }

  /** A local reply, applied outside the VM call that asked for it. */
  applyLocalResponse(s: StreamState): void {
    applyLocalResponse(this, s);
  }

  /** What the module's body buffer (0 or 1) refers to now. */
  bodyTarget(s: StreamState, d: Direction): BodyTarget {
    return bodyTarget(s, d);
  }

  /** The module wrote to the buffered data (proxy_set_buffer_bytes): the buffer limit is checked at once. */
  bufferWritten(s: StreamState, d: Direction): void {
    bufferWritten(this, s, d);
  }

  /** proxy_set_property set_encoder/decoder_buffer_limit. */
  setBufferLimit(s: StreamState, limit: number): void {
    setBufferLimit(this, s, limit);
  }

  /** A request-header edit: clears the route cache unless turned off. */
  requestHeadersEdited(s: StreamState): void {
    requestHeadersEdited(s);
  }
}
