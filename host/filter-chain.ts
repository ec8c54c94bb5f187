// The HTTP filter chain around the module, as Higress's Envoy 1.27 runs the
// Wasm filter: headers, body and trailers callbacks, what a callback's return value
// holds or releases, the per-stream buffer limit, proxy_continue_stream,
// local replies, resets, the stream idle timeout, the route cache, and what
// a failed VM does to a stream (fail closed: 503 wasm_fail_stream at the
// stream's next callback; fail open: the stream no longer sees the module).
// Each stream keeps a small state per direction.

import { fromUtf8, utf8 } from "./abi/pairs.ts";
import { DataStatus, HeadersStatus, LogLevel, ROOT_ID } from "./abi/constants.ts";
import { ByteBuffer, Chunks } from "./bytes.ts";
import { addHeader, copyPairs, firstValue, setHeader } from "./header-map.ts";
import { HttpStream, type DirectionKind, type StreamOutput } from "./stream.ts";
import type { EnvoyModel, LocalResponse, LogEntry, Pairs, PropertyValue, RouteMatch, StreamProps } from "./types.ts";

/** Details of the local reply a failed VM produces (Envoy's FailStreamResponseDetails). */
export const FAIL_STREAM_DETAILS = "wasm_fail_stream";
/** Envoy's answer when a buffered response body passes the buffer limit (response_payload_too_large). */
export const RESPONSE_TOO_LARGE_BODY = "Internal Server Error";
/** Envoy's answer when a buffered request body passes the buffer limit (request_payload_too_large). */
export const REQUEST_TOO_LARGE_BODY = "Payload Too Large";
/** Envoy's stream idle timeout answer body. */
export const STREAM_TIMEOUT_BODY = "stream timeout";

/**
 * How far the end of stream got: open; arrived from the source; seen by the
 * module (a callback with end_of_stream = 1); released onwards. "cut": the
 * module returned ContinueAndEndStream: the end went on with the headers and
 * the rest of this direction is dropped.
 */
type End = "open" | "arrived" | "seen" | "released" | "cut";
const END_ORDER: Record<End, number> = { open: 0, arrived: 1, seen: 2, released: 3, cut: 3 };

/**
 * What the module's body buffer (0 or 1) refers to outside the buffered data:
 * "none": nothing (before any body callback, or after one returned Continue);
 * "dead": the chunk of the last body callback, which Envoy no longer holds
 * (it was dropped, or moved into the buffered data): it reads as empty and
 * what is written to it never reaches anyone.
 */
type ChunkRef = "none" | "dead";

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
  /** The filter stopped iteration (Envoy's StopSingleIteration): from the headers or a body callback. */
  stopped = false;
  /** The headers callback stopped all iteration: body callbacks are withheld until continue. */
  heldAll = false;
  /** StopAllIterationAndWatermark (or 0.2.0/0.2.1's StopIteration): data held meanwhile counts as streaming. */
  heldAllWatermark = false;
  /** Data frames arrived while held-all (so a continue delivers them, even when empty). */
  heldAllData = false;
  /** The trailers that end this direction (they arrived; null: none). */
  trailers: Pairs | null = null;
  /** The module may use the trailer map now (its trailers callback, until it returns Continue). */
  trailersOpen = false;
  /** Trailers arrived while held-all: their callback runs on continue. */
  trailersPending = false;
  /** Envoy's buffered data for this direction (the filter manager's watermark buffer). */
  buffered: ByteBuffer | null = null;
  /** The chunk of the body callback running now (Envoy's `data`). */
  current: ByteBuffer | null = null;
  /** The last body callback returned StopIterationAndBuffer: the module's buffer is the buffered data. */
  bufferingView = false;
  chunkRef: ChunkRef = "none";
  /** Envoy's {encoder,decoder}_filters_streaming_: the last stop was a watermark one (limit gives back-pressure, not an error). */
  streaming = true;
  /** The buffered data went over the limit (the watermark callback ran; it runs once per crossing). */
  overLimit = false;
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
  routeName?: string;
  clusterName?: string;
  readonly protocol: string;
  readonly properties: Map<string, PropertyValue>;
  readonly req = new Direction("request");
  readonly res = new Direction("response");
  /** The VM generation the stream's context belongs to (a re-created VM does not know it). */
  generation = 0;
  /** The stream context: not created (VM already failed), live, inside proxy_on_log, deleted. */
  context: "none" | "live" | "log" | "deleted" = "none";
  /** Completed, reset or done(): later input is ignored. */
  finished = false;
  /** The stream no longer sees the module (fail open). */
  bypass = false;
  /** The local reply: none, asked for (applied after the callback), sent, or the VM-failure reply. */
  reply: "none" | "pending" | "sent" | "failure" = "none";
  pendingReply: LocalResponse | null = null;
  /** The per-stream buffer limit (both directions, as Envoy 1.27's FilterManager::buffer_limit_). */
  bufferLimit: number;
  /** Request-header edits clear the route cache (Higress: property clear_route_cache = "off" stops that). */
  clearRouteCache = true;
  /** How many request-header edits cleared the route cache. */
  routeCacheClears = 0;
  /** The route cache is cleared: the route is computed again before the request goes upstream. */
  routeStale = false;
  readonly resolveRoute?: (headers: Pairs) => RouteMatch | null;
  idleTimer: NodeJS.Timeout | undefined = undefined;

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
  forwardedTrailers: Pairs | null = null;
  trailers: Pairs | null = null;
  readonly forwarded = new Chunks();
  readonly received = new Chunks();
  /** The HttpStream the events go to. */
  events!: HttpStream;

  constructor(
    readonly id: number,
    props: StreamProps,
    bufferLimit: number,
  ) {
    this.routeName = props.routeName;
    this.clusterName = props.clusterName;
    this.protocol = props.protocol ?? "HTTP/1.1";
    this.properties = new Map(Object.entries(props.properties ?? {}));
    this.resolveRoute = props.route;
    this.bufferLimit = bufferLimit;
  }

  /** Finished, or deleted. */
  get stopped(): boolean {
    return this.context === "deleted" || this.finished;
  }

  /** The request no longer goes anywhere: finished, or a local reply replaced the upstream. */
  get requestDetached(): boolean {
    return this.finished || this.localResponse !== undefined;
  }

  get routeCacheCleared(): boolean {
    return this.routeCacheClears > 0;
  }

  /** A map the module may read now: open, or any map during proxy_on_log. */
  readableMap(d: Direction): Pairs | null {
    return d.map && (d.mapOpen || this.context === "log") ? d.map : null;
  }

  /** A trailer map the module may read now: in its trailers callback (until Continue), or during proxy_on_log. */
  readableTrailers(d: Direction): Pairs | null {
    return d.trailers && (d.trailersOpen || this.context === "log") ? d.trailers : null;
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
  /** The current VM failed and was not re-created yet. */
  readonly failed: boolean;
  /** The current VM generation (1, then one more per re-creation). */
  readonly generation: number;
  readonly failStrategy: "close" | "open";
  readonly abiVersion: string;
  readonly model: EnvoyModel;
  readonly bufferLimit: number;
  readonly http2BufferLimit: number;
  readonly idleTimeoutMs: number;
  /** Calls an export (undefined when the VM failed or the export is missing). */
  invoke(name: string, contextId: number, ...args: number[]): number | undefined;
  /** Runs fn now, or after the current work (no VM re-entry). */
  run(fn: () => void): void;
  /** Runs fn after the current VM call returns. */
  after(fn: () => void): void;
  /** Before a new stream: re-creates a failed VM when allowed. */
  beforeNewStream(): void;
  hostLog(level: number, message: string, contextId: number): void;
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

/** Where the module's body buffer points now (proxy_get/set_buffer_bytes on buffer 0 or 1). */
export type BodyTarget =
  { kind: "buffered"; buf: ByteBuffer } | { kind: "current"; buf: ByteBuffer } | { kind: "dead" } | { kind: "none" };

export class FilterChain {
  /** Stream contexts created and not yet deleted, by id. */
  readonly live = new Map<number, StreamState>();
  /** Streams whose idle timer runs. */
  private readonly timed = new Set<StreamState>();

  constructor(private readonly host: ChainHost) {}

  /** Stops every stream idle timer (the host is closing). */
  stopTimers(): void {
    for (const s of this.timed) if (s.idleTimer) clearTimeout(s.idleTimer);
    this.timed.clear();
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
      this.armIdle(s);
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

  /** The stream's VM failed, or was replaced: its context no longer exists in the VM. */
  vmGone(s: StreamState): boolean {
    return this.host.failed || s.generation !== this.host.generation;
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
    // A finished stream, or a direction a local reply replaced, ignores late input (as Envoy does).
    if (s.stopped) return;
    if ((kind === "request" && s.requestDetached) || (kind === "response" && s.localResponse !== undefined)) return;
    if (what === "headers" && d.input !== "none") throw new Error(`stream ${s.id}: ${kind} headers sent twice`);
    if (what !== "headers" && d.input === "none")
      throw new Error(`stream ${s.id}: ${kind} ${what} before ${kind} headers`);
    if (d.input === "closed") throw new Error(`stream ${s.id}: ${kind} ${what} after end of stream`);
    if (eos) d.input = "closed";
    else if (what === "headers") d.input = "open";
    this.host.run(() => {
      this.armIdle(s);
      if (what === "headers") this.onHeaders(s, d, data as Pairs, eos);
      else if (what === "trailers") this.onTrailers(s, d, data as Pairs);
      else this.onBody(s, d, data as Uint8Array, eos);
    });
  }

  /** Entry point of HttpStream.done(): proxy_on_log, proxy_on_done, proxy_on_delete. */
  private finish(s: StreamState): void {
    this.host.run(() => {
      if (s.context === "deleted") return;
      if (s.context === "live" && !this.vmGone(s)) {
        s.context = "log";
        this.host.invoke("proxy_on_log", s.id, s.id);
        s.context = "live";
        this.host.invoke("proxy_on_done", s.id, s.id);
        this.host.invoke("proxy_on_delete", s.id, s.id);
      }
      s.context = "deleted";
      this.settle(s);
      if (s.reply === "pending") s.reply = "none";
      s.pendingReply = null;
      this.live.delete(s.id);
    });
  }

  /** Calls a stream callback; undefined when the VM failed during it (the host then fails the stream). */
  private callStream(s: StreamState, fn: string, ...args: number[]): number | undefined {
    const r = this.host.invoke(fn, s.id, s.id, ...args);
    if (this.vmGone(s)) return undefined;
    s.lastAction = r ?? 0;
    return s.lastAction;
  }

  /** Handles input on a stream whose VM failed, or a bypassed stream. Returns true when it did. */
  private handledByFailure(s: StreamState): boolean {
    if (!s.bypass && !this.vmGone(s)) return false;
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
        this.releaseHeaders(s, d, eos);
        if (eos) this.releaseEnd(s, d);
        break;
      case HeadersStatus.ContinueAndEndStream:
        this.releaseHeaders(s, d, true);
        this.releaseEnd(s, d);
        d.end = "cut";
        break;
      case HeadersStatus.StopIteration:
        // Higress's 0.2.100 keeps StopIteration (body callbacks still arrive);
        // with 0.2.0/0.2.1 the host turns it into StopAllIterationAndWatermark.
        if (this.host.abiVersion === "0.2.100") d.stopped = true;
        else this.holdAll(s, d, true);
        break;
      case HeadersStatus.StopAllIterationAndBuffer:
        this.holdAll(s, d, false);
        break;
      default:
        this.holdAll(s, d, true);
    }
  }

  private holdAll(s: StreamState, d: Direction, watermark: boolean): void {
    d.heldAll = true;
    d.heldAllWatermark = watermark;
    d.streaming = watermark;
  }

  private onBody(s: StreamState, d: Direction, chunk: Uint8Array, eos: boolean): void {
    if (s.stopped || d.end === "cut") return;
    if (eos) d.reach("arrived");
    if (this.vmGone(s) || s.bypass) {
      if (s.bypass || this.host.failStrategy === "open") {
        s.bypass = true;
        this.releaseEverything(s);
        this.releaseData(s, d, chunk);
        if (eos) this.releaseEnd(s, d);
      } else {
        this.failStream(s);
      }
      return;
    }
    if (d.heldAll) {
      // Envoy buffers what arrives while a filter stopped all iteration.
      d.heldAllData = true;
      d.streaming = d.heldAllWatermark;
      this.bufferInto(s, d, chunk, false);
      return;
    }
    this.deliverBody(s, d, chunk, eos);
  }

  /**
   * One body callback, as Envoy 1.27's Context::encodeData/decodeData runs
   * it: the module's buffer is the buffered data when the previous callback
   * returned StopIterationAndBuffer (without this callback's chunk: the chunk
   * joins the buffer after the callback returns), else this callback's chunk.
   * With the "ideal" model the chunk joins before the callback.
   */
  private deliverBody(s: StreamState, d: Direction, chunk: Uint8Array, eos: boolean): void {
    const ideal = this.host.model === "ideal";
    const cur = new ByteBuffer();
    if (ideal && d.bufferingView && d.buffered) d.buffered.append(chunk);
    else cur.append(chunk);
    d.current = cur;
    const view = d.bufferingView && d.buffered ? d.buffered : cur;
    const fn = d.kind === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
    const action = this.callStream(s, fn, view.length, eos ? 1 : 0);
    d.current = null;
    d.bufferingView = false;
    if (action === undefined) return;
    if (eos) d.reach("seen");
    if (s.reply === "pending" || s.stopped) return;
    if (action === DataStatus.Continue) {
      d.chunkRef = "none";
      if (d.stopped || d.headers !== "released") {
        // Envoy moves the chunk into the buffered data, then continues.
        if (!this.bufferInto(s, d, cur.view(), false)) return;
        this.continueDirection(s, d);
      } else {
        this.releaseData(s, d, cur.copy());
        if (eos) this.releaseEnd(s, d);
      }
    } else if (action === DataStatus.StopIterationAndBuffer || action === DataStatus.StopIterationAndWatermark) {
      d.stopped = true;
      d.streaming = action === DataStatus.StopIterationAndWatermark;
      d.bufferingView = action === DataStatus.StopIterationAndBuffer || ideal;
      d.chunkRef = d.bufferingView ? "none" : "dead";
      this.bufferInto(s, d, cur.view(), false);
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
  private onTrailers(s: StreamState, d: Direction, pairs: Pairs): void {
    if (s.stopped || d.end === "cut") return;
    d.reach("arrived");
    d.trailers = pairs;
    if (this.vmGone(s) || s.bypass) {
      if (s.bypass || this.host.failStrategy === "open") this.releaseEverything(s);
      else this.failStream(s);
      return;
    }
    if (d.heldAll) {
      d.trailersPending = true;
      return;
    }
    this.deliverTrailers(s, d);
  }

  private deliverTrailers(s: StreamState, d: Direction): void {
    d.trailersOpen = true;
    const fn = d.kind === "request" ? "proxy_on_request_trailers" : "proxy_on_response_trailers";
    const action = this.callStream(s, fn, d.trailers!.length);
    if (action === undefined) return;
    d.reach("seen");
    if (s.reply === "pending" || s.stopped) return;
    if (action !== 0) {
      d.stopped = true; // StopIteration: held until continue
      return;
    }
    d.trailersOpen = false;
    if (d.stopped || d.heldAll || d.headers !== "released") this.continueDirection(s, d);
    else this.releaseEnd(s, d);
  }

  /**
   * Appends to the buffered data and checks the buffer limit (Envoy's
   * watermark buffer). Returns false when the limit tripped (the stream got
   * its local reply).
   */
  private bufferInto(s: StreamState, d: Direction, data: Uint8Array, inVm: boolean): boolean {
    if (!d.buffered) d.buffered = new ByteBuffer();
    d.buffered.append(data);
    return this.checkLimit(s, d, inVm);
  }

  /**
   * Envoy 1.27's buffer limit: the buffered data of a direction going over the
   * stream's limit answers 500 (response: Internal Server Error,
   * response_payload_too_large, straight to the client, or a reset once the
   * response started) or 413 (request: Payload Too Large,
   * request_payload_too_large, through the filter chain), unless the last
   * stop was a watermark one (then Envoy only applies back-pressure).
   * Returns false when it tripped.
   */
  checkLimit(s: StreamState, d: Direction, inVm: boolean): boolean {
    if (this.host.model === "ideal" || s.bufferLimit <= 0 || !d.buffered) return true;
    const len = d.buffered.length;
    if (d.overLimit && len < s.bufferLimit / 2) d.overLimit = false; // below the low watermark
    if (len <= s.bufferLimit || d.overLimit) return true;
    d.overLimit = true;
    if (d.streaming) return true;
    const lr =
      d.kind === "response"
        ? makeLocalResponse(500, utf8(RESPONSE_TOO_LARGE_BODY), [], "response_payload_too_large", -1)
        : makeLocalResponse(413, utf8(REQUEST_TOO_LARGE_BODY), [], "request_payload_too_large", -1);
    this.host.hostLog(
      LogLevel.info,
      `stream ${s.id}: ${d.kind} data too large: ${len} bytes buffered, over the buffer limit of ${s.bufferLimit}; Envoy answers ${lr.status}`,
      s.id,
    );
    if (!this.requestLocalResponse(s, lr)) return false;
    if (inVm) this.host.after(() => this.applyLocalResponse(s));
    else this.applyLocalResponse(s);
    return false;
  }

  /** Sets the stream's buffer limit (proxy_set_property set_encoder/decoder_buffer_limit); re-checks what is held. */
  setBufferLimit(s: StreamState, limit: number): void {
    s.bufferLimit = limit;
    for (const d of [s.res, s.req]) if (!this.checkLimit(s, d, true)) return;
  }

  /** What the module's body buffer (0 or 1) refers to now. */
  bodyTarget(s: StreamState, d: Direction): BodyTarget {
    if (d.bufferingView && d.buffered) return { kind: "buffered", buf: d.buffered };
    if (d.current) return { kind: "current", buf: d.current };
    return { kind: d.chunkRef };
  }

  /** The module wrote to the buffered data (proxy_set_buffer_bytes): Envoy's watermark buffer checks at once. */
  bufferWritten(s: StreamState, d: Direction): void {
    this.checkLimit(s, d, true);
  }

  /** A request-header edit (add/replace/remove/set pairs on map 0): clears the route cache unless turned off. */
  requestHeadersEdited(s: StreamState): void {
    if (!s.clearRouteCache) return;
    s.routeCacheClears++;
    s.routeStale = true;
  }

  /** proxy_continue_stream, applied after the VM call that asked for it. */
  resume(s: StreamState, d: Direction): void {
    if (s.stopped || d.headers === "pending") return;
    if (this.vmGone(s) && this.host.failStrategy === "close") return;
    if (d.kind === "request" && s.requestDetached) return;
    if (d.headers === "released" && !d.stopped && !d.heldAll) return; // nothing was stopped
    this.armIdle(s);
    this.continueDirection(s, d);
  }

  /** Envoy's commonContinue: headers, then what is buffered, then the end. */
  private continueDirection(s: StreamState, d: Direction): void {
    if (d.heldAll) {
      // StopAll: the module now sees what arrived meanwhile, as one chunk.
      d.heldAll = false;
      // Trailers that arrived meanwhile go to the module after the data (Envoy iterates from this filter).
      const trailersNext = d.trailersPending;
      d.trailersPending = false;
      this.releaseHeaders(s, d, !d.heldAllData && !trailersNext && d.end === "seen");
      if (!d.heldAllData) {
        if (trailersNext) this.deliverTrailers(s, d);
        else if (d.end === "seen") this.releaseEnd(s, d);
        return;
      }
      d.heldAllData = false;
      const data = d.buffered ? d.buffered.copy() : new Uint8Array(0);
      d.buffered = null;
      d.overLimit = false;
      this.deliverBody(s, d, data, d.sourceEnded && !trailersNext);
      if (trailersNext && !s.stopped && s.reply !== "pending" && !this.vmGone(s)) this.deliverTrailers(s, d);
      return;
    }
    d.stopped = false;
    d.bufferingView = false;
    // Envoy's commonContinue: the headers end the stream when the end was seen and nothing (data, trailers) follows.
    this.releaseHeaders(s, d, d.end === "seen" && !d.buffered && !d.trailers);
    if (s.stopped) return;
    this.releaseBuffered(s, d);
    if (d.end === "seen") this.releaseEnd(s, d);
  }

  // ----- release -----------------------------------------------------------

  /** Releases a direction's headers; `endStream`: nothing follows them (Envoy encodes them with end_stream). */
  private releaseHeaders(s: StreamState, d: Direction, endStream = false): void {
    if (d.headers !== "seen") return;
    if (d.kind === "request" && !this.routeBeforeUpstream(s)) return;
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

  /**
   * The router picks the route when the request headers go upstream; a
   * cleared route cache makes it match again on the edited headers. No
   * match: Envoy's router answers 404 (route_not_found). Returns false then.
   */
  private routeBeforeUpstream(s: StreamState): boolean {
    if (!s.routeStale || !s.resolveRoute) return true;
    s.routeStale = false;
    const match = s.resolveRoute(copyPairs(s.req.map));
    if (match) {
      s.routeName = match.routeName;
      s.clusterName = match.clusterName;
      return true;
    }
    s.routeName = undefined;
    s.clusterName = undefined;
    s.req.headers = "released"; // the router consumed them
    const lr = makeLocalResponse(404, new Uint8Array(0), [], "route_not_found", -1);
    if (this.requestLocalResponse(s, lr)) this.applyLocalResponse(s);
    return false;
  }

  private releaseBuffered(s: StreamState, d: Direction): void {
    if (!d.buffered) return;
    const bytes = d.buffered.copy();
    d.buffered = null;
    d.overLimit = false;
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
      this.settle(s);
      s.events.emit("end");
    }
  }

  /** Fail open: everything held goes on, and the stream no longer sees the module. */
  private releaseEverything(s: StreamState): void {
    s.bypass = true;
    for (const d of [s.req, s.res]) {
      if (d.headers === "pending" || (d.kind === "request" && s.requestDetached)) continue;
      d.heldAll = false;
      d.heldAllData = false;
      d.trailersPending = false;
      d.stopped = false;
      d.bufferingView = false;
      this.releaseHeaders(s, d, d.sourceEnded && !d.buffered && !d.trailers);
      if (s.stopped) return;
      this.releaseBuffered(s, d);
      if (d.sourceEnded) this.releaseEnd(s, d);
    }
  }

  // ----- idle timeout --------------------------------------------------------

  /** (Re)starts the stream idle timer: any input or continue counts as activity. */
  private armIdle(s: StreamState): void {
    const ms = this.host.idleTimeoutMs;
    if (ms <= 0 || s.stopped) return;
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => this.host.run(() => this.idleTimeout(s)), ms);
    s.idleTimer.unref();
    this.timed.add(s);
  }

  /** The stream ended: no more timers. */
  private settle(s: StreamState): void {
    s.finished = true;
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = undefined;
    this.timed.delete(s);
  }

  /**
   * Envoy's stream idle timeout: 504 "stream timeout" when the request was
   * complete (408 otherwise), details stream_idle_timeout; straight to the
   * client when response headers are held, through the filter chain when
   * there is no response yet, a reset once the response started.
   */
  private idleTimeout(s: StreamState): void {
    s.idleTimer = undefined;
    this.timed.delete(s);
    if (s.stopped) return;
    const status = s.req.input === "closed" ? 504 : 408;
    this.host.hostLog(
      LogLevel.info,
      `stream ${s.id}: stream idle timeout after ${this.host.idleTimeoutMs} ms: ${status} stream timeout`,
      s.id,
    );
    const lr = makeLocalResponse(status, utf8(STREAM_TIMEOUT_BODY), [], "stream_idle_timeout", -1);
    if (s.res.headers === "released") {
      s.localResponse ??= lr;
      this.resetStream(s, "stream_idle_timeout");
      return;
    }
    s.reply = "none";
    s.pendingReply = null;
    if (this.requestLocalResponse(s, lr)) this.applyLocalResponse(s);
  }

  // ----- resets, failures, local replies -----------------------------------

  resetStream(s: StreamState, reason: string): void {
    if (s.finished) return;
    this.settle(s);
    s.resetReason = reason;
    s.events.emit("reset", reason);
  }

  /**
   * Fail closed (the stream's VM failed): a 503 with no body, details
   * wasm_fail_stream and gRPC status 14, straight to the client; a reset if
   * the response already started.
   */
  private failStream(s: StreamState): void {
    if (s.finished || s.reply === "failure") return;
    s.reply = "failure";
    s.pendingReply = null;
    const lr = makeLocalResponse(503, new Uint8Array(0), [], FAIL_STREAM_DETAILS, 14);
    s.localResponse = lr;
    s.events.emit("local-response", lr);
    if (s.res.headers === "released") this.resetStream(s, FAIL_STREAM_DETAILS);
    else this.directReply(s, lr);
  }

  /** The callback of this stream trapped: Envoy fails it as the callback returns (fail open: it passes). */
  failedInCallback(id: number): void {
    const s = this.live.get(id);
    if (!s || s.finished) return;
    if (this.host.failStrategy === "close") this.failStream(s);
    else this.releaseEverything(s);
  }

  /** A reply sent straight to the client, bypassing the module. */
  private directReply(s: StreamState, lr: LocalResponse): void {
    const d = s.res;
    d.map = localReplyHeaders(lr);
    d.mapOpen = true;
    d.headers = "seen";
    d.buffered = null;
    d.current = null;
    d.heldAll = false;
    d.heldAllData = false;
    d.trailers = null;
    d.trailersOpen = false;
    d.trailersPending = false;
    d.stopped = false;
    d.bufferingView = false;
    d.reach("arrived");
    this.releaseHeaders(s, d, lr.body.length === 0);
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

  /** A local reply, applied outside the VM call that asked for it. */
  applyLocalResponse(s: StreamState): void {
    const lr = s.pendingReply;
    if (s.reply === "pending") s.reply = "none";
    s.pendingReply = null;
    if (!lr || s.stopped || s.reply === "failure") return;
    s.reply = "sent";
    s.localResponse = lr;
    s.events.emit("local-response", lr);
    if (s.res.headers === "released") {
      this.resetStream(s, `local reply after the response started (${lr.details || lr.status})`);
    } else if (s.res.headers === "seen" || s.bypass || this.vmGone(s)) {
      // The response is being processed (or the module is out of the way): Envoy sends the reply directly.
      this.directReply(s, lr);
    } else {
      // No response yet: the reply goes through the filter chain, so the
      // module's own response callbacks see it (and it counts as activity).
      this.armIdle(s);
      s.res.heldAll = false;
      this.onHeaders(s, s.res, localReplyHeaders(lr), lr.body.length === 0);
      if (lr.body.length && !s.stopped) {
        s.res.reach("arrived");
        this.onBody(s, s.res, lr.body, true);
      }
    }
  }
}
