// The HTTP filter chain around the module, as Envoy's Wasm filter runs it:
// headers and body callbacks, what a callback's return value holds or
// releases, proxy_continue_stream, local replies, resets, and what a failed
// VM does to live streams (fail closed: 503 wasm_fail_stream; fail open:
// everything passes). Each stream keeps a small state per direction.

import { fromUtf8, utf8 } from "./abi/pairs.ts";
import { DataStatus, HeadersStatus, ROOT_ID } from "./abi/constants.ts";
import { ByteBuffer, Chunks, concatBytes } from "./bytes.ts";
import { addHeader, copyPairs, firstValue, setHeader } from "./header-map.ts";
import { HttpStream, type DirectionKind, type StreamOutput } from "./stream.ts";
import type { LocalResponse, LogEntry, Pairs, PropertyValue, StreamProps } from "./types.ts";

/** Body of the local reply a failed VM produces (details carry the same text). */
export const FAIL_STREAM_DETAILS = "wasm_fail_stream";

/**
 * Why a direction does not flow:
 * - flowing: what arrives goes to the module, what it lets through goes on;
 * - held-all: headers stopped with StopAll semantics: body callbacks are
 *   withheld (chunks queued) until the module continues;
 * - stopped: a body callback stopped iteration without buffering;
 * - buffering: a body callback asked to buffer (StopIterationAndBuffer /
 *   Watermark): later chunks are appended to what is held.
 */
type Flow = "flowing" | "held-all" | "stopped" | "buffering";

/**
 * How far the end of stream got: open; arrived from the source; seen by the
 * module (a callback with end_of_stream = 1); released onwards. "cut": the
 * module returned ContinueAndEndStream: the end went on with the headers and
 * the rest of this direction is dropped.
 */
type End = "open" | "arrived" | "seen" | "released" | "cut";
const END_ORDER: Record<End, number> = { open: 0, arrived: 1, seen: 2, released: 3, cut: 3 };

/** One direction of a stream: the request (towards the upstream) or the response (towards the client). */
export class Direction {
  constructor(readonly kind: DirectionKind) {}
  /** What the caller fed so far (checked synchronously, to catch misuse). */
  input: "none" | "open" | "closed" = "none";
  /** The header map the module reads and edits. */
  map: Pairs | null = null;
  /** The module may use the map now; false once the headers callback returned Continue (Envoy drops its pointer). */
  mapOpen = false;
  headers: "pending" | "seen" | "released" = "pending";
  flow: Flow = "flowing";
  /** Body bytes held by the filter; buffer 0/1 while they exist. */
  held: ByteBuffer | null = null;
  /** Chunks not yet shown to the module (held-all). */
  queued: Uint8Array[] = [];
  end: End = "open";

  /** Moves the end of stream forward (never back). */
  reach(end: End): void {
    if (END_ORDER[end] > END_ORDER[this.end]) this.end = end;
  }

  get sourceEnded(): boolean {
    return this.end !== "open";
  }
}

/** The host-side state of one stream; the HttpStream reads it as its StreamOutput. */
export class StreamState implements StreamOutput {
  readonly routeName?: string;
  readonly clusterName?: string;
  readonly protocol: string;
  readonly properties: Map<string, PropertyValue>;
  readonly req = new Direction("request");
  readonly res = new Direction("response");
  /** The stream context: not created (VM already failed), live, inside proxy_on_log, deleted. */
  context: "none" | "live" | "log" | "deleted" = "none";
  /** Completed, reset or done(): later input is ignored. */
  finished = false;
  /** The stream no longer sees the module (fail open). */
  bypass = false;
  /** The local reply: none, asked for (applied after the callback), sent, or the VM-failure reply. */
  reply: "none" | "pending" | "sent" | "failure" = "none";
  pendingReply: LocalResponse | null = null;

  // What the stream shows (StreamOutput).
  lastAction: number | undefined = undefined;
  resumed = 0;
  resumedRequest = 0;
  status: number | undefined = undefined;
  headers: Pairs = [];
  complete = false;
  resetReason: string | undefined = undefined;
  localResponse: LocalResponse | undefined = undefined;
  readonly logs: LogEntry[] = [];
  forwardedHeaders: Pairs = [];
  forwardedComplete = false;
  readonly forwarded = new Chunks();
  readonly received = new Chunks();
  /** The HttpStream the events go to. */
  events!: HttpStream;

  constructor(
    readonly id: number,
    props: StreamProps,
  ) {
    this.routeName = props.routeName;
    this.clusterName = props.clusterName;
    this.protocol = props.protocol ?? "HTTP/1.1";
    this.properties = new Map(Object.entries(props.properties ?? {}));
  }

  /** Finished, or deleted. */
  get stopped(): boolean {
    return this.context === "deleted" || this.finished;
  }

  /** The request no longer goes anywhere: finished, or a local reply replaced the upstream. */
  get requestDetached(): boolean {
    return this.finished || this.localResponse !== undefined;
  }

  /** A map the module may read now: open, or any map during proxy_on_log. */
  readableMap(d: Direction): Pairs | null {
    return d.map && (d.mapOpen || this.context === "log") ? d.map : null;
  }

  forwardedBody(): Uint8Array {
    return this.forwarded.bytes();
  }

  receivedBody(): Uint8Array {
    return this.received.bytes();
  }

  moduleMap(kind: DirectionKind): Pairs | null {
    return (kind === "request" ? this.req : this.res).map;
  }
}

/** What the filter chain needs from the host. */
export interface ChainHost {
  readonly failed: boolean;
  readonly failStrategy: "close" | "open";
  readonly abiVersion: string;
  /** Calls an export (undefined when the VM failed or the export is missing). */
  invoke(name: string, contextId: number, ...args: number[]): number | undefined;
  /** Runs fn now, or after the current work (no VM re-entry). */
  run(fn: () => void): void;
}

export function makeLocalResponse(
  status: number,
  body: Uint8Array,
  headers: Pairs,
  details: string,
  grpcStatus: number,
): LocalResponse {
  return { status, body, bodyText: fromUtf8(body), headers, details, grpcStatus };
}

/** Headers of a local reply: :status, the module's extra headers, then content-length/type for a body. */
function localReplyHeaders(lr: LocalResponse): Pairs {
  const map: Pairs = [[":status", String(lr.status)]];
  for (const [k, v] of lr.headers) addHeader(map, k.toLowerCase(), v);
  if (lr.body.length) {
    setHeader(map, "content-length", String(lr.body.length));
    if (!firstValue(map, "content-type")) addHeader(map, "content-type", "text/plain");
  }
  return map;
}

export class FilterChain {
  /** Stream contexts created and not yet deleted, by id. */
  readonly live = new Map<number, StreamState>();

  constructor(private readonly host: ChainHost) {}

  /** Creates a stream and its context (proxy_on_context_create(id, root)). */
  open(id: number, props: StreamProps): HttpStream {
    const s = new StreamState(id, props);
    const stream = new HttpStream(s, {
      feed: (kind, what, data, eos) => this.feed(s, kind, what, data, eos),
      finish: () => this.finish(s),
    });
    s.events = stream;
    this.host.run(() => {
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

  // ----- input -------------------------------------------------------------

  /** Entry point of the HttpStream feed methods. */
  private feed(
    s: StreamState,
    kind: DirectionKind,
    what: "headers" | "body",
    data: Pairs | Uint8Array,
    eos: boolean,
  ): void {
    const d = kind === "request" ? s.req : s.res;
    // A finished stream, or a direction a local reply replaced, ignores late input (as Envoy does).
    if (s.stopped) return;
    if ((kind === "request" && s.requestDetached) || (kind === "response" && s.localResponse !== undefined)) return;
    if (what === "headers" && d.input !== "none") throw new Error(`stream ${s.id}: ${kind} headers sent twice`);
    if (what === "body" && d.input === "none") throw new Error(`stream ${s.id}: ${kind} body before ${kind} headers`);
    if (d.input === "closed") throw new Error(`stream ${s.id}: ${kind} ${what} after end of stream`);
    if (eos) d.input = "closed";
    else if (what === "headers") d.input = "open";
    this.host.run(() => {
      if (what === "headers") this.onHeaders(s, d, data as Pairs, eos);
      else this.onBody(s, d, data as Uint8Array, eos);
    });
  }

  /** Entry point of HttpStream.done(): proxy_on_log, proxy_on_done, proxy_on_delete. */
  private finish(s: StreamState): void {
    this.host.run(() => {
      if (s.context === "deleted") return;
      if (s.context === "live" && !this.host.failed) {
        s.context = "log";
        this.host.invoke("proxy_on_log", s.id, s.id);
        s.context = "live";
        this.host.invoke("proxy_on_done", s.id, s.id);
        this.host.invoke("proxy_on_delete", s.id, s.id);
      }
      s.context = "deleted";
      s.finished = true;
      if (s.reply === "pending") s.reply = "none";
      s.pendingReply = null;
      this.live.delete(s.id);
    });
  }

  /** Calls a stream callback; undefined when the VM failed during it. */
  private callStream(s: StreamState, fn: string, ...args: number[]): number | undefined {
    const r = this.host.invoke(fn, s.id, s.id, ...args);
    if (this.host.failed) return undefined;
    s.lastAction = r ?? 0;
    return s.lastAction;
  }

  /** Handles input on a failed VM or a bypassed stream. Returns true when it did. */
  private handledByFailure(s: StreamState): boolean {
    if (!this.host.failed && !s.bypass) return false;
    if (s.bypass || this.host.failStrategy === "open") {
      s.bypass = true;
      this.releaseEverything(s);
    } else {
      this.failStream(s);
    }
    return true;
  }

  // ----- headers and bodies ------------------------------------------------

  private onHeaders(s: StreamState, d: Direction, pairs: Pairs, eos: boolean): void {
    if (s.stopped) return;
    d.map = pairs;
    d.mapOpen = true;
    d.headers = "seen";
    if (eos) d.reach("arrived");
    if (this.handledByFailure(s)) return;
    const fn = d.kind === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers";
    const action = this.callStream(s, fn, pairs.length, eos ? 1 : 0);
    if (action === undefined) return;
    if (eos) d.reach("seen");
    if (s.reply === "pending" || s.stopped) return;
    switch (action) {
      case HeadersStatus.Continue:
        d.mapOpen = false;
        this.releaseHeaders(s, d);
        if (eos) this.releaseEnd(s, d);
        break;
      case HeadersStatus.ContinueAndEndStream:
        this.releaseHeaders(s, d);
        this.releaseEnd(s, d);
        d.end = "cut";
        break;
      case HeadersStatus.StopIteration:
        // Higress's 0.2.100 keeps StopIteration (body callbacks still arrive);
        // with 0.2.0/0.2.1 the host turns it into StopAllIterationAndWatermark.
        if (this.host.abiVersion !== "0.2.100") d.flow = "held-all";
        break;
      default:
        d.flow = "held-all";
    }
  }

  private onBody(s: StreamState, d: Direction, chunk: Uint8Array, eos: boolean): void {
    if (s.stopped || d.end === "cut") return;
    if (eos) d.reach("arrived");
    if (this.host.failed || s.bypass) {
      if (s.bypass || this.host.failStrategy === "open") {
        s.bypass = true;
        this.releaseHeaders(s, d);
        this.releaseData(s, d, chunk);
        if (eos) this.releaseEnd(s, d);
      } else {
        this.failStream(s);
      }
      return;
    }
    if (d.flow === "held-all") {
      d.queued.push(chunk);
      return;
    }
    this.deliverBody(s, d, chunk, eos);
  }

  private deliverBody(s: StreamState, d: Direction, chunk: Uint8Array, eos: boolean): void {
    if (d.flow !== "buffering" || !d.held) d.held = new ByteBuffer();
    d.held.append(chunk);
    const fn = d.kind === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
    const action = this.callStream(s, fn, d.held.length, eos ? 1 : 0);
    if (action === undefined) return;
    if (eos) d.reach("seen");
    if (s.reply === "pending" || s.stopped) return;
    if (action === DataStatus.Continue) {
      d.flow = "flowing";
      this.releaseHeaders(s, d);
      this.releaseHeld(s, d);
      if (eos) this.releaseEnd(s, d);
    } else if (action === DataStatus.StopIterationAndBuffer || action === DataStatus.StopIterationAndWatermark) {
      d.flow = "buffering";
    } else {
      // StopIterationNoBuffer (and anything larger): Envoy neither buffers nor
      // forwards this chunk; the stream stays stopped until continue.
      d.flow = "stopped";
      d.held = null;
    }
  }

  /** proxy_continue_stream, applied after the VM call that asked for it. */
  resume(s: StreamState, d: Direction): void {
    if (s.stopped || d.headers === "pending") return;
    if (this.host.failed && this.host.failStrategy === "close") return;
    if (d.kind === "request" && s.requestDetached) return;
    if (d.headers === "released" && d.flow === "flowing") return; // nothing was stopped
    d.flow = "flowing";
    this.releaseHeaders(s, d);
    this.releaseHeld(s, d);
    if (d.queued.length) {
      // StopAll: the module now sees what arrived meanwhile, as one chunk.
      const data = concatBytes(d.queued);
      d.queued = [];
      this.deliverBody(s, d, data, d.sourceEnded);
      return;
    }
    if (d.end === "seen") this.releaseEnd(s, d);
  }

  // ----- release -----------------------------------------------------------

  private releaseHeaders(s: StreamState, d: Direction): void {
    if (d.headers !== "seen") return;
    d.headers = "released";
    const snapshot = copyPairs(d.map);
    if (d.kind === "request") {
      s.forwardedHeaders = snapshot;
      s.events.emit("upstream-headers", snapshot);
    } else {
      const st = Number(firstValue(snapshot, ":status"));
      s.status = Number.isFinite(st) ? st : undefined;
      s.headers = snapshot;
      s.events.emit("headers", s.status, snapshot);
    }
  }

  private releaseHeld(s: StreamState, d: Direction): void {
    if (!d.held) return;
    const bytes = d.held.copy();
    d.held = null;
    this.releaseData(s, d, bytes);
  }

  private releaseData(s: StreamState, d: Direction, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (d.kind === "request") {
      s.forwarded.push(bytes);
      s.events.emit("upstream-data", bytes);
    } else {
      s.received.push(bytes);
      s.events.emit("data", bytes);
    }
  }

  private releaseEnd(s: StreamState, d: Direction): void {
    if (d.end === "released" || d.end === "cut") return;
    d.end = "released";
    if (d.kind === "request") {
      s.forwardedComplete = true;
      s.events.emit("upstream-end");
    } else {
      s.complete = true;
      s.finished = true;
      s.events.emit("end");
    }
  }

  /** Fail open: everything held or queued goes on, and the stream no longer sees the module. */
  private releaseEverything(s: StreamState): void {
    s.bypass = true;
    for (const d of [s.req, s.res]) {
      if (d.headers === "pending" || (d.kind === "request" && s.requestDetached)) continue;
      if (d.flow === "held-all") d.flow = "flowing";
      this.releaseHeaders(s, d);
      this.releaseHeld(s, d);
      for (const q of d.queued) this.releaseData(s, d, q);
      d.queued = [];
      if (d.sourceEnded) this.releaseEnd(s, d);
    }
  }

  // ----- resets, failures, local replies -----------------------------------

  resetStream(s: StreamState, reason: string): void {
    if (s.finished) return;
    s.finished = true;
    s.resetReason = reason;
    s.events.emit("reset", reason);
  }

  /** Fail closed: 503 wasm_fail_stream, or a reset if the response already started. */
  private failStream(s: StreamState): void {
    if (s.finished || s.reply === "failure") return;
    s.reply = "failure";
    s.pendingReply = null;
    const lr = makeLocalResponse(503, utf8(FAIL_STREAM_DETAILS), [], FAIL_STREAM_DETAILS, 14);
    s.localResponse = lr;
    s.events.emit("local-response", lr);
    if (s.res.headers === "released") this.resetStream(s, FAIL_STREAM_DETAILS);
    else this.directReply(s, lr);
  }

  /** The VM failed: every live stream fails closed or is released (fail open). */
  failLiveStreams(): void {
    for (const s of [...this.live.values()]) {
      if (s.finished) continue;
      if (this.host.failStrategy === "close") this.failStream(s);
      else this.releaseEverything(s);
    }
  }

  /** A reply sent straight to the client, bypassing the module. */
  private directReply(s: StreamState, lr: LocalResponse): void {
    const d = s.res;
    d.map = localReplyHeaders(lr);
    d.mapOpen = true;
    d.headers = "seen";
    d.held = null;
    d.queued = [];
    d.flow = "flowing";
    d.reach("arrived");
    this.releaseHeaders(s, d);
    this.releaseData(s, d, lr.body);
    this.releaseEnd(s, d);
  }

  /** proxy_send_local_response, recorded during the VM call; applied after it by applyLocalResponse. */
  requestLocalResponse(s: StreamState, lr: LocalResponse): boolean {
    if (s.reply !== "none" || s.finished) return false;
    s.reply = "pending";
    s.pendingReply = lr;
    return true;
  }

  /** proxy_send_local_response, applied after the VM call. */
  applyLocalResponse(s: StreamState): void {
    const lr = s.pendingReply;
    if (s.reply === "pending") s.reply = "none";
    s.pendingReply = null;
    if (!lr || s.stopped || s.reply === "failure") return;
    if (this.host.failed && this.host.failStrategy === "close") return;
    s.reply = "sent";
    s.localResponse = lr;
    s.events.emit("local-response", lr);
    if (s.res.headers === "released") {
      this.resetStream(s, `local reply after the response started (${lr.details || lr.status})`);
    } else if (s.res.headers === "seen") {
      // The response is being processed: Envoy sends the reply directly.
      this.directReply(s, lr);
    } else {
      // No response yet: the reply goes through the filter chain, so the
      // module's own response callbacks see it.
      if (s.res.flow === "held-all") s.res.flow = "flowing";
      this.onHeaders(s, s.res, localReplyHeaders(lr), lr.body.length === 0);
      if (lr.body.length && !s.stopped) {
        s.res.reach("arrived");
        this.onBody(s, s.res, lr.body, true);
      }
    }
  }
}
