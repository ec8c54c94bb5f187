// The gateway's upstream leg: requests to upstreams and clusters over pooled
// keep-alive agents, header conversion between Node and the host's header
// maps, and the timers of route and call timeouts.

import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Pairs } from "../types.ts";
import type { ResolvedTarget } from "./config.ts";

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

/** Node gives header values as latin1 strings of the raw bytes; the host works with UTF-8 text. */
export function fromWire(v: string): string {
  return /[\x80-\xff]/.test(v) ? Buffer.from(v, "latin1").toString("utf8") : v;
}

function toWire(v: string): string {
  return /[^\x00-\x7f]/.test(v) ? Buffer.from(v, "utf8").toString("latin1") : v;
}

/** Lower-case header pairs from Node's rawHeaders, minus hop-by-hop headers (and `skip`). */
export function rawToPairs(raw: string[], skip: Set<string>): Pairs {
  const out: Pairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || skip.has(k)) continue;
    out.push([k, fromWire(raw[i + 1])]);
  }
  return out;
}

/** Flat [k, v, k, v] list for Node, without pseudo and hop-by-hop headers. */
export function toNodeHeaders(pairs: Pairs, extraSkip: Set<string> = new Set()): string[] {
  const out: string[] = [];
  for (const [k, v] of pairs) {
    if (k.startsWith(":") || HOP_BY_HOP.has(k) || extraSkip.has(k)) continue;
    out.push(k, toWire(v));
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
  private readonly inflight = new Set<http.ClientRequest>();

  /** Starts a request to `target` (its path is kept as a prefix of `path`); the caller writes the body. */
  send(target: ResolvedTarget, method: string, path: string, headers: string[]): http.ClientRequest {
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
    const req = (secure ? https : http).request(options);
    this.inflight.add(req);
    req.on("close", () => this.inflight.delete(req));
    return req;
  }

  /** Destroys every request still in flight. */
  abort(): void {
    for (const r of this.inflight) r.destroy();
  }

  /** Closes the pools. */
  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
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
