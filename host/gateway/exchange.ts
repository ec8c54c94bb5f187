// One client request through the gateway: the exchange (the plugin's
// HttpStream, or a pass-through for a route without the plugin), the
// upstream request it releases, and the client response it writes. Errors
// behave like Envoy's router: a refused upstream is a 503 and a route
// timeout a 504, both through the plugin's response phase; an upstream that
// fails after its headers resets the client connection.

import { EventEmitter } from "node:events";
import type http from "node:http";
import { firstValue } from "../header-map.ts";
import { REFUSED_BODY, TIMEOUT_BODY } from "../host.ts";
import type { Pairs } from "../types.ts";
import type { ResolvedRoute } from "./config.ts";
import {
  rawToPairs,
  toNodeHeaders,
  toWire,
  type GatewayLog,
  type Timers,
  type UpstreamRequest,
  type UpstreamResponse,
  type Upstreams,
} from "./upstream.ts";

const EMPTY = Buffer.alloc(0);

/** Hop-by-hop names Envoy still passes on in a response. */
const KEEP_TRAILER = new Set(["trailer"]);

/** The part of an HTTP stream the gateway drives: the plugin's HttpStream, or a direct pass-through. */
export interface Exchange extends EventEmitter {
  /** The stream's route now (a cleared route cache may have changed it); undefined: the route the gateway matched. */
  readonly routeName?: string;
  requestHeaders(h: Pairs, endOfStream?: boolean): unknown;
  requestBody(chunk: Uint8Array, endOfStream?: boolean): unknown;
  responseHeaders(h: Pairs, endOfStream?: boolean): unknown;
  responseBody(chunk: Uint8Array, endOfStream?: boolean): unknown;
  responseTrailers(trailers: Pairs): unknown;
  done(): unknown;
}

/** A route without the plugin: everything goes straight through, with the same events. */
export class PassThrough extends EventEmitter implements Exchange {
  private ended = false;
  requestHeaders(h: Pairs, eos = false): void {
    this.emit("upstream-headers", h);
    if (eos) this.emit("upstream-end");
  }
  requestBody(chunk: Uint8Array, eos = false): void {
    if (chunk.length) this.emit("upstream-data", chunk);
    if (eos) this.emit("upstream-end");
  }
  responseHeaders(h: Pairs, eos = false): void {
    this.emit("headers", Number(firstValue(h, ":status")), h, eos);
    if (eos) this.end();
  }
  responseBody(chunk: Uint8Array, eos = false): void {
    if (chunk.length) this.emit("data", chunk);
    if (eos) this.end();
  }
  responseTrailers(trailers: Pairs): void {
    this.emit("trailers", trailers);
    this.end();
  }
  done(): void {}
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("end");
  }
}

/** What an exchange needs from the gateway. */
export interface ExchangeContext {
  upstreams: Upstreams;
  timers: Timers;
  log: GatewayLog;
  routeByName(name: string): ResolvedRoute | undefined;
}

/** Connects one client request, its exchange and its upstream request. */
export class Exchanger {
  private upReq: UpstreamRequest | null = null;
  private upstreamGone = false;
  private finished = false;
  private doneCalled = false;
  private declaredLength: number | undefined;
  private written = 0;
  private timer: NodeJS.Timeout | undefined;
  private responseStarted = false;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly ex: Exchange,
    private readonly route: ResolvedRoute,
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly hasBody: boolean,
  ) {}

  start(headers: Pairs): void {
    const { ex, req, res } = this;
    ex.on("upstream-headers", (h: Pairs) => this.startUpstream(h));
    ex.on("upstream-data", (c: Uint8Array) => {
      if (!this.upstreamGone) this.upReq?.write(c);
    });
    ex.on("upstream-end", () => {
      if (!this.upstreamGone) this.upReq?.end();
    });
    ex.on("headers", (status: number | undefined, h: Pairs, endStream?: boolean) =>
      this.writeHead(status, h, endStream ?? false),
    );
    ex.on("data", (c: Uint8Array) => {
      this.written += c.length;
      if (!res.destroyed) res.write(c);
    });
    ex.on("trailers", (t: Pairs) => this.writeTrailers(t));
    ex.on("end", () => this.endResponse());
    ex.on("local-response", () => this.dropUpstream());
    ex.on("reset", (reason: string) => {
      this.ctx.log(3, `${req.method} ${req.url}: stream reset (${reason})`);
      this.dropUpstream();
      res.destroy();
      this.finish();
    });
    res.on("close", () => {
      if (!this.finished) {
        // The client went away first.
        this.dropUpstream();
        this.finish();
      }
    });
    if (this.route.timeoutMs > 0) {
      this.timer = this.ctx.timers.set(() => this.upstreamTimeout(), this.route.timeoutMs);
    }

    ex.requestHeaders(headers, !this.hasBody);
    if (this.hasBody) {
      req.on("data", (c: Buffer) => ex.requestBody(c, false));
      req.on("end", () => ex.requestBody(new Uint8Array(0), true));
    } else {
      req.resume();
    }
  }

  private startUpstream(h: Pairs): void {
    if (this.upstreamGone || this.upReq) return;
    // The route the router uses: the stream's, matched again when the plugin's edits cleared the route cache.
    const name = this.ex.routeName;
    const route = (name !== undefined ? this.ctx.routeByName(name) : undefined) ?? this.route;
    let path = firstValue(h, ":path") ?? "/";
    if (route.rewritePrefix !== undefined && path.startsWith(route.prefix)) {
      path = route.rewritePrefix + path.slice(route.prefix.length);
      if (!path.startsWith("/")) path = `/${path}`;
    }
    const method = firstValue(h, ":method") ?? "GET";
    const failed = (err: Error): void => {
      if (this.upstreamGone) return;
      this.upstreamGone = true;
      if (!this.responseStarted) {
        this.ctx.log(3, `${method} ${route.name}: upstream ${route.upstream.url.origin} failed: ${err.message}`);
        this.localUpstreamReply(503, REFUSED_BODY);
      } else {
        this.ex.emit("reset", `upstream reset: ${err.message}`);
      }
    };
    let up: UpstreamRequest;
    try {
      const headers = ["host", toWire(route.authority), ...toNodeHeaders(h, new Set(["host"]))];
      up = this.ctx.upstreams.send(route.upstream, toWire(method), toWire(path), headers);
    } catch (e) {
      // A request Node refuses to send (a header value or path the plugin made): it fails like a
      // connection that failed before the response, once the plugin's callback has returned.
      const err = e instanceof Error ? e : new Error(String(e));
      setImmediate(() => failed(new Error(`cannot send the request: ${err.message}`)));
      return;
    }
    this.upReq = up;
    up.on("response", (upRes: UpstreamResponse) => this.onUpstreamResponse(upRes, method, route.upstream.http2));
    up.on("error", failed);
  }

  /**
   * Feeds the upstream's answer to the response phase as Envoy's codecs do.
   * HTTP/1.1: every chunk without end of stream, then an empty chunk with it
   * (Envoy's HTTP/1 codec ends a body with an empty data frame; it drops
   * chunked trailers, `enable_trailers` being off by default). HTTP/2: the
   * end of stream comes with the last DATA frame: each chunk waits until the
   * next one, or the end, arrives; a chunk followed by the end within the
   * same read carries it; trailing HEADERS end it instead (trailers).
   */
  private onUpstreamResponse(upRes: UpstreamResponse, method: string, http2: boolean): void {
    if (this.upstreamGone) {
      upRes.resume();
      return;
    }
    this.responseStarted = true;
    const status = upRes.statusCode ?? 502;
    const pairs: Pairs = [[":status", String(status)], ...rawToPairs(upRes.rawHeaders, new Set(), KEEP_TRAILER)];
    const cl = upRes.headers["content-length"];
    const noBody =
      method === "HEAD" ||
      status === 204 ||
      status === 304 ||
      (status >= 100 && status < 200) ||
      (!http2 && cl === "0");
    let ended = noBody;
    this.ex.responseHeaders(pairs, noBody);
    // HTTP/2 over TLS (frames not visible): each chunk waits for the next read; a chunk followed by the end carries it.
    let held: Buffer | null = null;
    const flush = (): void => {
      if (held === null || ended || this.upstreamGone) return;
      const c = held;
      held = null;
      this.ex.responseBody(c, false);
    };
    if (http2 && (upRes as UpstreamResponse & { frames?: boolean }).frames) {
      // Frame by frame, each with its END_STREAM flag, as Envoy's HTTP/2 codec.
      upRes.on("frame", (payload: Buffer, endStream: boolean) => {
        if (ended || this.upstreamGone) return;
        if (endStream) ended = true;
        this.ex.responseBody(payload, endStream);
      });
    } else {
      upRes.on("data", (c: Buffer) => {
        if (ended || this.upstreamGone) return;
        if (!http2) {
          this.ex.responseBody(c, false);
          return;
        }
        flush();
        held = c;
        setImmediate(flush);
      });
    }
    upRes.on("end", () => {
      if (!upRes.complete || this.upstreamGone) return;
      if (!ended) {
        ended = true;
        if (upRes.endTrailers) {
          flush();
          this.ex.responseTrailers(upRes.endTrailers);
        } else {
          // The chunk held (HTTP/2 over TLS), or an empty one (HTTP/1), carries the end (frame by frame it came already).
          const last = held ?? new Uint8Array(0);
          held = null;
          this.ex.responseBody(last, true);
        }
      }
      this.upstreamDone();
    });
    upRes.on("close", () => {
      if (!upRes.complete && !this.upstreamGone && !ended) {
        this.upstreamGone = true;
        this.ex.emit("reset", "upstream closed the response early");
      }
    });
  }

  /** A reply Envoy's router makes itself (connect failure, timeout): it goes through the plugin's response phase. */
  private localUpstreamReply(status: number, body: string): void {
    this.responseStarted = true;
    const bytes = Buffer.from(body);
    this.ex.responseHeaders(
      [
        [":status", String(status)],
        ["content-length", String(bytes.length)],
        ["content-type", "text/plain"],
      ],
      false,
    );
    this.ex.responseBody(bytes, true);
  }

  private upstreamTimeout(): void {
    if (this.finished || this.upstreamGone) return;
    this.ctx.log(3, `${this.req.method} ${this.req.url}: upstream timeout after ${this.route.timeoutMs} ms`);
    this.dropUpstream();
    if (!this.responseStarted) this.localUpstreamReply(504, TIMEOUT_BODY);
    else this.ex.emit("reset", "upstream timeout");
  }

  private upstreamDone(): void {
    this.ctx.timers.clear(this.timer);
    this.timer = undefined;
  }

  private dropUpstream(): void {
    this.upstreamGone = true;
    this.upstreamDone();
    if (this.upReq && !this.upReq.destroyed) this.upReq.destroy();
  }

  /**
   * Writes the response headers as released. Headers that end the response
   * (nothing follows) and carry no content-length get content-length: 0, as
   * Envoy's HTTP/1 codec writes them (not for 1xx, 204, 304 or HEAD).
   */
  private writeHead(status: number | undefined, h: Pairs, endStream: boolean): void {
    const { res } = this;
    if (res.headersSent || res.destroyed) return;
    const code = status ?? 502;
    const cl = firstValue(h, "content-length");
    this.declaredLength = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
    let headers = h;
    const bodyless = code < 200 || code === 204 || code === 304 || this.req.method === "HEAD";
    if (endStream && !bodyless && !h.some(([k]) => k === "content-length" || k === "transfer-encoding")) {
      headers = [...h, ["content-length", "0"]];
    }
    // `trailer` goes on as Envoy passes it, except where Node refuses it (HTTP/1 with a content-length).
    const keep = this.req.httpVersionMajor === 2 || cl === undefined ? KEEP_TRAILER : undefined;
    try {
      res.writeHead(code, toNodeHeaders(headers, undefined, keep));
      if (!endStream) {
        // Node's flushHeaders() writes an HTTP/1 head as UTF-8, which re-encodes bytes 0x80-0xFF; an
        // empty write sends it as latin1, byte for byte. A bodyless response sends its head at end().
        if (this.req.httpVersionMajor === 2) res.flushHeaders();
        else if (!bodyless) res.write(EMPTY);
      }
    } catch (e) {
      this.ctx.log(4, `${this.req.method} ${this.req.url}: cannot write the response headers: ${(e as Error).message}`);
      res.destroy();
    }
  }

  /**
   * Trailers for the client: an HTTP/2 client gets them; Envoy's HTTP/1
   * codec drops them (`enable_trailers` is off by default).
   */
  private writeTrailers(trailers: Pairs): void {
    const { res, req } = this;
    if (res.destroyed || req.httpVersionMajor !== 2 || trailers.length === 0) return;
    const out: Record<string, string> = {};
    for (const [name, value] of trailers) {
      const k = toWire(name);
      const v = toWire(value);
      out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
    }
    try {
      res.addTrailers(out);
    } catch (e) {
      this.ctx.log(4, `${req.method} ${req.url}: cannot write the response trailers: ${(e as Error).message}`);
    }
  }

  private endResponse(): void {
    const { res, req } = this;
    if (!res.headersSent && !res.destroyed) this.writeHead(502, [[":status", "502"]], true);
    if (res.destroyed) {
      this.finish();
      return;
    }
    const mismatch = this.declaredLength !== undefined && this.declaredLength !== this.written;
    if (mismatch) {
      // Envoy writes the bytes it has under the stale content-length; the
      // client reads a truncated body or waits for bytes that never come.
      // Closing the connection afterwards makes the second case an error
      // instead of a hang.
      this.ctx.log(
        3,
        `${req.method} ${req.url}: content-length says ${this.declaredLength} but the body has ${this.written} bytes; the client sees a truncated or incomplete response`,
      );
      if (req.httpVersionMajor === 2) res.once("finish", () => res.destroy());
      else res.once("finish", () => res.socket?.end());
    }
    res.end();
    this.finish();
  }

  private finish(): void {
    if (this.doneCalled) return;
    this.finished = true;
    this.doneCalled = true;
    this.upstreamDone();
    this.ex.done();
  }
}
