// The gateway's upstream leg: requests to upstreams and clusters over pooled
// keep-alive agents (HTTP/1.1) or one session per origin (HTTP/2 with prior
// knowledge, or ALPN over TLS), header conversion between Node and the
// host's header maps, and the timers of route and call timeouts.

import { EventEmitter } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net, { isIP } from "node:net";
import { Duplex } from "node:stream";
import { headerBytes, headerText } from "../abi/pairs.ts";
import type { Pairs } from "../types.ts";
import type { ResolvedTarget } from "./config.ts";

/** An outgoing request, HTTP/1.1 (Node's ClientRequest) or HTTP/2 (H2Request). Events: "response", "error", "close". */
export interface UpstreamRequest extends EventEmitter {
  write(chunk: Uint8Array): unknown;
  end(chunk?: Uint8Array): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
}

/** An upstream's answer. Events: "data" (Buffer), "end" (complete), "close", "error". */
export interface UpstreamResponse extends EventEmitter {
  readonly statusCode?: number;
  /** Header names and values, flat, without pseudo-headers. */
  readonly rawHeaders: string[];
  readonly headers: Record<string, string | string[] | undefined>;
  /** The whole body arrived (set before "end"). */
  readonly complete: boolean;
  /** Trailers that ended the answer (an HTTP/2 upstream's trailing HEADERS; set before "end"), else null. */
  readonly endTrailers?: Pairs | null;
  resume(): unknown;
}

/** A DATA frame as received: its payload size and whether it carried END_STREAM. */
interface DataFrame {
  size: number;
  endStream: boolean;
}

/**
 * The incoming side of an h2c connection, read frame by frame: the DATA
 * frames of each stream in order. Node's http2 gives a stream's payload
 * bytes but not where its frames end or which one carried END_STREAM;
 * Envoy hands each DATA frame to the filters with that flag.
 */
class FrameTap {
  private readonly frames = new Map<number, DataFrame[]>();
  private pending: Buffer = Buffer.alloc(0);
  private skip = 0;

  /** Bytes from the server, in order. */
  feed(chunk: Buffer): void {
    let buf: Buffer = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length);
        this.skip -= n;
        buf = buf.subarray(n);
        if (this.skip > 0) break;
      }
      if (buf.length < 9) break;
      const length = buf.readUIntBE(0, 3);
      const type = buf[3];
      const flags = buf[4];
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      if (type === 0 /* DATA */) {
        const padded = (flags & 0x8) !== 0;
        if (padded && buf.length < 10) break; // the pad length byte is not here yet
        const size = padded ? length - 1 - buf[9] : length;
        const list = this.frames.get(id) ?? [];
        list.push({ size, endStream: (flags & 0x1) !== 0 });
        this.frames.set(id, list);
      }
      buf = buf.subarray(9);
      this.skip = length;
    }
    this.pending = Buffer.from(buf);
  }

  /** The next DATA frame of a stream, if its header has arrived. */
  next(id: number): DataFrame | undefined {
    return this.frames.get(id)?.shift();
  }

  forget(id: number): void {
    this.frames.delete(id);
  }
}

/** A connection whose incoming bytes go to a FrameTap on their way to Node's http2. */
function tappedConnection(host: string, port: number, tap: FrameTap): Duplex {
  const socket = net.connect({ host, port });
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on("data", (c: Buffer) => {
    tap.feed(c);
    if (!duplex.push(c)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("error", (e) => duplex.destroy(e));
  socket.on("close", () => duplex.destroy());
  socket.on("connect", () => duplex.emit("connect"));
  return duplex;
}

/** One request on an HTTP/2 session, with the events and methods of a ClientRequest the gateway uses. */
class H2Request extends EventEmitter implements UpstreamRequest {
  destroyed = false;
  private responded = false;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    tap: FrameTap | undefined,
  ) {
    super();
    stream.on("response", (headers) => {
      this.responded = true;
      this.emit("response", new H2Response(stream, headers, tap));
    });
    stream.on("error", (e: Error) => this.emit("error", e));
    stream.on("close", () => {
      const wasDestroyed = this.destroyed;
      this.destroyed = true;
      if (!this.responded && !wasDestroyed && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        this.emit("error", new Error(`HTTP/2 stream closed before the response (code ${stream.rstCode})`));
      }
      this.emit("close");
    });
  }

  write(chunk: Uint8Array): boolean {
    return this.stream.write(chunk);
  }

  end(chunk?: Uint8Array): void {
    if (chunk && chunk.length) this.stream.end(chunk);
    else this.stream.end();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/**
 * An HTTP/2 answer. Besides "data", it emits "frame" (payload, endStream) per
 * DATA frame, as Envoy's HTTP/2 codec hands them to the filters, when the
 * connection is tapped (h2c); `frames` says whether it does.
 */
class H2Response extends EventEmitter implements UpstreamResponse {
  readonly statusCode: number;
  readonly rawHeaders: string[] = [];
  readonly headers: Record<string, string | string[] | undefined> = {};
  complete = false;
  endTrailers: Pairs | null = null;
  readonly frames: boolean;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    tap: FrameTap | undefined,
  ) {
    super();
    this.frames = tap !== undefined && stream.id !== undefined;
    this.statusCode = Number(headers[":status"]);
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith(":") || v === undefined) continue;
      this.headers[k] = v;
      for (const x of Array.isArray(v) ? v : [v]) this.rawHeaders.push(k, String(x));
    }
    // Payload bytes arrive in pieces; a frame is emitted once all of its bytes are here.
    let bytes: Buffer = Buffer.alloc(0);
    let frame: DataFrame | undefined;
    let ended = false;
    const drain = (): void => {
      if (!tap || stream.id === undefined) return;
      for (;;) {
        frame ??= tap.next(stream.id);
        if (!frame || bytes.length < frame.size || ended) return;
        const payload = bytes.subarray(0, frame.size);
        bytes = bytes.subarray(frame.size);
        const f = frame;
        frame = undefined;
        if (f.endStream) ended = true;
        if (payload.length > 0 || f.endStream) this.emit("frame", payload, f.endStream);
      }
    };
    stream.on("data", (c: Buffer) => {
      this.emit("data", c);
      if (this.frames) {
        bytes = bytes.length ? Buffer.concat([bytes, c]) : c;
        drain();
      }
    });
    stream.on("trailers", (t: http2.IncomingHttpHeaders) => {
      const raw: string[] = [];
      for (const [k, v] of Object.entries(t)) {
        if (k.startsWith(":") || v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) raw.push(k, String(x));
      }
      this.endTrailers = rawToPairs(raw, new Set());
    });
    stream.on("end", () => {
      this.complete = true;
      drain();
      // Trailers end the stream themselves: the exchange feeds them (no data frame carries the end).
      if (this.frames && !ended && this.endTrailers === null) {
        // The end came in an empty DATA frame.
        ended = true;
        this.emit("frame", Buffer.alloc(0), true);
      }
      if (tap && stream.id !== undefined) tap.forget(stream.id);
      this.emit("end");
    });
    stream.on("close", () => this.emit("close"));
    stream.on("error", (e: Error) => this.emit("error", e));
  }

  resume(): void {
    this.stream.resume();
  }
}

/** Headers that belong to one connection and are never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

/**
 * Node's HTTP/1 parser and its HTTP/2 layer give header names, values and the
 * request target as latin1 strings, one character per byte; the host keeps
 * header bytes as headerText does (UTF-8 text, invalid bytes escaped). Both
 * ways are exact, so every byte reaches the plugin and the far side unchanged.
 */
export function fromWire(v: string): string {
  return /[\x80-\xff]/.test(v) ? headerText(Buffer.from(v, "latin1")) : v;
}

/** A host header string as the latin1 string of its bytes, which Node writes one byte per character. */
export function toWire(v: string): string {
  return /[^\x00-\x7f]/.test(v) ? Buffer.from(headerBytes(v)).toString("latin1") : v;
}

/**
 * Lower-case header pairs from Node's rawHeaders, minus hop-by-hop headers
 * (and `skip`), but those in `keep` (a response's `trailer`, which Envoy
 * passes on).
 */
export function rawToPairs(raw: string[], skip: Set<string>, keep: Set<string> = new Set()): Pairs {
  const out: Pairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = fromWire(raw[i]).toLowerCase();
    if ((HOP_BY_HOP.has(k) && !keep.has(k)) || skip.has(k)) continue;
    out.push([k, fromWire(raw[i + 1])]);
  }
  return out;
}

/** Flat [k, v, k, v] list for Node, without pseudo and hop-by-hop headers (but those in `keep`). */
export function toNodeHeaders(
  pairs: Pairs,
  extraSkip: Set<string> = new Set(),
  keep: Set<string> = new Set(),
): string[] {
  const out: string[] = [];
  for (const [k, v] of pairs) {
    if (k.startsWith(":") || (HOP_BY_HOP.has(k) && !keep.has(k)) || extraSkip.has(k)) continue;
    out.push(toWire(k), toWire(v));
  }
  return out;
}

function joinPath(base: string, path: string): string {
  const b = base.endsWith("/") ? base.slice(0, -1) : base;
  return b + (path.startsWith("/") ? path : `/${path}`);
}

/** Outgoing requests: one pool per scheme, every request tracked until it closes. */
export class Upstreams {
  // Idle pooled sockets are closed after 4 s, before a typical upstream's own
  // 5 s keep-alive timeout, so a request never picks a socket the upstream is
  // closing at that moment (Node 20 ignores the server's Keep-Alive hint when
  // the agent has no timeout of its own).
  private readonly httpAgent = new http.Agent({ keepAlive: true, timeout: 4000 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, timeout: 4000 });
  private readonly inflight = new Set<UpstreamRequest>();
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private readonly taps = new WeakMap<http2.ClientHttp2Session, FrameTap>();

  /** Starts a request to `target` (its path is kept as a prefix of `path`); the caller writes the body. */
  send(target: ResolvedTarget, method: string, path: string, headers: string[]): UpstreamRequest {
    const req = target.http2 ? this.sendH2(target, method, path, headers) : this.sendH1(target, method, path, headers);
    this.inflight.add(req);
    req.on("close", () => this.inflight.delete(req));
    return req;
  }

  private sendH2(target: ResolvedTarget, method: string, path: string, headers: string[]): UpstreamRequest {
    const secure = target.url.protocol === "https:";
    const h: http2.OutgoingHttpHeaders = {
      ":method": method,
      ":path": joinPath(target.url.pathname, path),
      ":scheme": secure ? "https" : "http",
    };
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const k = headers[i].toLowerCase();
      const v = headers[i + 1];
      if (k === "host") {
        h[":authority"] = v;
        continue;
      }
      const prev = h[k];
      h[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    h[":authority"] ??= target.url.host;
    let stream: http2.ClientHttp2Stream;
    let tap: FrameTap | undefined;
    try {
      const session = this.session(target);
      tap = this.taps.get(session);
      stream = session.request(h, { endStream: false });
    } catch (e) {
      // A session that is closing: report it like a refused connection.
      const failed = new EventEmitter() as UpstreamRequest & { destroyed: boolean };
      Object.assign(failed, { destroyed: true, write: () => false, end: () => undefined, destroy: () => undefined });
      setImmediate(() => {
        failed.emit("error", e as Error);
        failed.emit("close");
      });
      return failed;
    }
    return new H2Request(stream, tap);
  }

  /** One HTTP/2 session per origin: prior knowledge for http://, ALPN for https://. */
  private session(target: ResolvedTarget): http2.ClientHttp2Session {
    const origin = target.url.origin;
    const existing = this.sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const options: http2.SecureClientSessionOptions = {};
    let tap: FrameTap | undefined;
    if (target.url.protocol === "https:") {
      options.rejectUnauthorized = !target.insecure;
      const name = target.sni ?? target.url.hostname.replace(/^\[|\]$/g, "");
      if (!isIP(name)) options.servername = name;
    } else {
      // h2c with prior knowledge: read the frames on their way in.
      const t = new FrameTap();
      tap = t;
      const host = target.url.hostname.replace(/^\[|\]$/g, "");
      const port = Number(target.url.port || 80);
      options.createConnection = () => tappedConnection(host, port, t);
    }
    const session = http2.connect(origin, options);
    if (tap) this.taps.set(session, tap);
    session.on("error", () => this.sessions.delete(origin));
    session.on("close", () => {
      if (this.sessions.get(origin) === session) this.sessions.delete(origin);
    });
    // Idle sessions are closed, as the HTTP/1.1 pool closes idle sockets.
    session.setTimeout(4000, () => session.close());
    session.unref();
    this.sessions.set(origin, session);
    return session;
  }

  private sendH1(target: ResolvedTarget, method: string, path: string, headers: string[]): UpstreamRequest {
    const secure = target.url.protocol === "https:";
    const options: https.RequestOptions = {
      protocol: target.url.protocol,
      hostname: target.url.hostname,
      port: target.url.port || (secure ? 443 : 80),
      method,
      path: joinPath(target.url.pathname, path),
      headers,
      agent: secure ? this.httpsAgent : this.httpAgent,
      setHost: false,
    };
    if (secure) {
      options.rejectUnauthorized = !target.insecure;
      const name = target.sni ?? target.url.hostname.replace(/^\[|\]$/g, "");
      if (!isIP(name)) options.servername = name; // SNI carries host names only
    }
    return (secure ? https : http).request(options);
  }

  /** Destroys every request still in flight. */
  abort(): void {
    for (const r of this.inflight) r.destroy();
  }

  /** Closes the pools. */
  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}

/** Timeouts that the gateway clears all at once when it closes. */
export class Timers {
  private readonly live = new Set<NodeJS.Timeout>();

  set(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(fn, ms);
    this.live.add(t);
    return t;
  }

  clear(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.live.delete(t);
  }

  clearAll(): void {
    for (const t of this.live) clearTimeout(t);
    this.live.clear();
  }
}

/** Gateway log lines (level 0..5). */
export type GatewayLog = (level: number, message: string) => void;
