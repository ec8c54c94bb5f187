// The state the filter chain keeps per stream (StreamState, which the
// HttpStream reads as its StreamOutput) and per direction (Direction): how
// far headers, body, trailers and the end of stream got, what the filter
// holds, and where the module's body buffer points.

import { Chunks, type ByteBuffer } from "../bytes.ts";
import type { HttpStream, DirectionKind, StreamOutput } from "../stream.ts";
import type { LocalResponse, LogEntry, Pairs, PropertyValue, RouteMatch, StreamProps } from "../types.ts";

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
