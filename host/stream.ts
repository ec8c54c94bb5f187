// One HTTP stream (request + response) through the module, as a test or the
// gateway sees it: feed methods in, read-only results out. The stream owns no
// processing: it hands its input to the filter chain through a StreamDriver
// and reads what the chain recorded through a StreamOutput.

import { EventEmitter } from "node:events";
import { fromUtf8 } from "./abi/pairs.ts";
import { toBytes } from "./bytes.ts";
import { copyPairs, firstValue, toPairs } from "./header-map.ts";
import type { BodyInit, HeadersInit, LocalResponse, LogEntry, Pairs, PropertyValue } from "./types.ts";

export type DirectionKind = "request" | "response";

/** What has been forwarded upstream. */
export interface ForwardedRequest {
  readonly headers: Pairs;
  readonly body: Uint8Array;
  readonly bodyText: string;
  /** Trailers that ended the request upstream (null: none). */
  readonly trailers: Pairs | null;
  readonly complete: boolean;
}

/** How a stream reaches the filter chain: its input, and its end. */
export interface StreamDriver {
  feed(
    kind: DirectionKind,
    what: "headers" | "body" | "trailers",
    data: Pairs | Uint8Array,
    endOfStream: boolean,
  ): void;
  finish(): void;
}

/** What the filter chain records for a stream; the stream only reads it. */
export interface StreamOutput {
  readonly id: number;
  readonly routeName?: string;
  readonly clusterName?: string;
  /** The client's protocol (`request.protocol`): HTTP/1.1, HTTP/2. */
  readonly protocol: string;
  readonly bufferLimit: number;
  readonly routeCacheClears: number;
  readonly lastAction: number | undefined;
  readonly resumed: number;
  readonly resumedRequest: number;
  readonly status: number | undefined;
  readonly headers: Pairs;
  readonly complete: boolean;
  readonly resetReason: string | undefined;
  readonly localResponse: LocalResponse | undefined;
  readonly logs: LogEntry[];
  /** Stream properties: those the stream started with and those the module set. */
  readonly properties: ReadonlyMap<string, PropertyValue>;
  readonly forwardedHeaders: Pairs;
  readonly forwardedComplete: boolean;
  readonly forwardedTrailers: Pairs | null;
  /** Trailers the client received (null: none). */
  readonly trailers: Pairs | null;
  forwardedBody(): Uint8Array;
  receivedBody(): Uint8Array;
  /** The header map of a direction as the module currently sees it (null before its headers). */
  moduleMap(kind: DirectionKind): Pairs | null;
}

/**
 * One HTTP stream (request + response) through the module. Feed it with
 * requestHeaders/requestBody/responseHeaders/responseBody; read what the
 * upstream and the client got from `request`, `status`, `headers`, `body`.
 *
 * Events (for the gateway; all fire while the host processes, never inside a VM call):
 * - "upstream-headers" (headers: Pairs, endStream: boolean)  request headers released upstream
 * - "upstream-data" (chunk: Uint8Array)      request body bytes released upstream
 * - "upstream-end"                           request complete
 * - "headers" (status: number, headers: Pairs, endStream: boolean)  response headers released to
 *   the client; endStream: nothing follows them (Envoy encodes them with end_stream)
 * - "upstream-trailers" (trailers: Pairs)    request trailers released upstream (then "upstream-end")
 * - "data" (chunk: Uint8Array)               response body bytes released to the client
 * - "trailers" (trailers: Pairs)             response trailers released to the client (then "end")
 * - "end"                                    response complete
 * - "local-response" (r: LocalResponse)      a local reply replaces the upstream (abort it)
 * - "reset" (reason: string)                 the stream is reset (drop the client connection)
 */
export class HttpStream extends EventEmitter {
  /** What was forwarded upstream so far. */
  readonly request: ForwardedRequest;

  constructor(
    private readonly out: StreamOutput,
    private readonly driver: StreamDriver,
  ) {
    super();
    this.request = {
      get headers() {
        return out.forwardedHeaders;
      },
      get complete() {
        return out.forwardedComplete;
      },
      get trailers() {
        return out.forwardedTrailers;
      },
      get body() {
        return out.forwardedBody();
      },
      get bodyText() {
        return fromUtf8(out.forwardedBody());
      },
    };
  }

  /** The context id (2, 3, ...). */
  get id(): number {
    return this.out.id;
  }

  get routeName(): string | undefined {
    return this.out.routeName;
  }

  get clusterName(): string | undefined {
    return this.out.clusterName;
  }

  /** The client's protocol (`request.protocol`); an HTTP/2 client's stream starts with the HTTP/2 buffer limit. */
  get protocol(): string {
    return this.out.protocol;
  }

  /** The stream's buffer limit in bytes (both directions; 0 = none); the module may change it. */
  get bufferLimit(): number {
    return this.out.bufferLimit;
  }

  /** Request-header edits cleared the route cache (the route was, or will be, matched again). */
  get routeCacheCleared(): boolean {
    return this.out.routeCacheClears > 0;
  }

  /** How many request-header edits cleared the route cache. */
  get routeCacheClears(): number {
    return this.out.routeCacheClears;
  }

  /** The raw value the last callback of this stream returned (0 when the callback is not exported). */
  get lastAction(): number | undefined {
    return this.out.lastAction;
  }

  /** proxy_continue_stream(Response) calls made for this stream. */
  get resumed(): number {
    return this.out.resumed;
  }

  /** proxy_continue_stream(Request) calls made for this stream. */
  get resumedRequest(): number {
    return this.out.resumedRequest;
  }

  /** Stream properties: those the stream started with and those the module set (proxy_set_property). */
  get properties(): ReadonlyMap<string, PropertyValue> {
    return this.out.properties;
  }

  /** Response status the client received. */
  get status(): number | undefined {
    return this.out.status;
  }

  /** Response headers the client received, verbatim (including ":status"). */
  get headers(): Pairs {
    return this.out.headers;
  }

  /** Response trailers the client received (null: none). */
  get trailers(): Pairs | null {
    return this.out.trailers;
  }

  /** The client's response is finished (end of stream released). */
  get complete(): boolean {
    return this.out.complete;
  }

  /** Set when the stream was reset (proxy_close_stream, local reply after the response started, VM failure). */
  get resetReason(): string | undefined {
    return this.out.resetReason;
  }

  /** Whether the stream was reset. */
  get reset(): boolean {
    return this.out.resetReason !== undefined;
  }

  /** A local reply (from proxy_send_local_response or wasm_fail_stream). */
  get localResponse(): LocalResponse | undefined {
    return this.out.localResponse;
  }

  /** This stream's log lines (written while it was the effective context). */
  get logs(): LogEntry[] {
    return this.out.logs;
  }

  /** Response body the client received so far. */
  get body(): Uint8Array {
    return this.out.receivedBody();
  }

  get bodyText(): string {
    return fromUtf8(this.body);
  }

  /** First value of a response header the client received. */
  header(name: string): string | undefined {
    return firstValue(this.out.headers, name.toLowerCase());
  }

  /** The request header map as the module currently sees it (a copy). */
  get requestHeaderMap(): Pairs {
    return copyPairs(this.out.moduleMap("request"));
  }

  /** The response header map as the module currently sees it (a copy). */
  get responseHeaderMap(): Pairs {
    return copyPairs(this.out.moduleMap("response"));
  }

  requestHeaders(headers: HeadersInit, endOfStream = false): this {
    this.driver.feed("request", "headers", toPairs(headers), endOfStream);
    return this;
  }

  requestBody(chunk: BodyInit, endOfStream = false): this {
    this.driver.feed("request", "body", toBytes(chunk), endOfStream);
    return this;
  }

  responseHeaders(headers: HeadersInit, endOfStream = false): this {
    this.driver.feed("response", "headers", toPairs(headers), endOfStream);
    return this;
  }

  responseBody(chunk: BodyInit, endOfStream = false): this {
    this.driver.feed("response", "body", toBytes(chunk), endOfStream);
    return this;
  }

  /** Trailers end the request: `proxy_on_request_trailers(id, n)` (the body callbacks saw no end of stream). */
  requestTrailers(trailers: HeadersInit): this {
    this.driver.feed("request", "trailers", toPairs(trailers), true);
    return this;
  }

  /** Trailers end the response (an HTTP/2 upstream's trailing HEADERS): `proxy_on_response_trailers(id, n)`. */
  responseTrailers(trailers: HeadersInit): this {
    this.driver.feed("response", "trailers", toPairs(trailers), true);
    return this;
  }

  /**
   * Feeds a whole request body as a client of this protocol sends it:
   * "http1" gives every chunk without end of stream, then an empty chunk
   * with it (as Envoy's HTTP/1 codec does); "http2" gives end of stream
   * with the last chunk (the last DATA frame carries END_STREAM).
   */
  requestFrames(chunks: BodyInit[], protocol: "http1" | "http2"): this {
    for (const [c, eos] of frames(chunks, protocol)) this.requestBody(c, eos);
    return this;
  }

  /** Feeds a whole response body as an upstream of this protocol sends it (see requestFrames). */
  responseFrames(chunks: BodyInit[], protocol: "http1" | "http2"): this {
    for (const [c, eos] of frames(chunks, protocol)) this.responseBody(c, eos);
    return this;
  }

  /** Ends the stream: proxy_on_log, proxy_on_done, proxy_on_delete. */
  done(): this {
    this.driver.finish();
    return this;
  }
}

/** The body callbacks a protocol's codec produces for these chunks: [chunk, end of stream]. */
function frames(chunks: BodyInit[], protocol: "http1" | "http2"): [BodyInit, boolean][] {
  if (protocol === "http1" || chunks.length === 0) {
    return [...chunks.map((c): [BodyInit, boolean] => [c, false]), [new Uint8Array(0), true]];
  }
  return chunks.map((c, i): [BodyInit, boolean] => [c, i === chunks.length - 1]);
}
