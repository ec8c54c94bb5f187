// A local gateway: an HTTP server on 127.0.0.1 that runs the plugin around real
// upstreams, the way a Higress route does. For each request it matches a route
// by path prefix, feeds the request through the plugin's request phase, sends
// what the plugin releases upstream, and streams the upstream response through
// the plugin's response phase to the client, chunk by chunk as it arrives.
// The plugin's HTTP calls go to the clusters of the config file.

import http from "node:http";
import https from "node:https";
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { isIP, type AddressInfo } from "node:net";
import { loadHost, ProxyWasmHost, HttpStream, REFUSED_BODY, TIMEOUT_BODY } from "./index.ts";
import {
  findWasm,
  loadGatewayConfigFile,
  resolveGatewayConfig,
  type GatewayConfig,
  type ResolvedGatewayConfig,
  type ResolvedRoute,
  type ResolvedTarget,
} from "./gateway-config.ts";
import type { HttpCall, LogEntry, Pairs } from "./types.ts";

export type { GatewayConfig, RouteConfig, ClusterTarget, PluginSection } from "./gateway-config.ts";
export { GatewayConfigError, loadGatewayConfigFile, resolveGatewayConfig } from "./gateway-config.ts";

export interface GatewayOptions {
  /** The configuration as an object (same shape as the YAML file). */
  config?: GatewayConfig;
  /** Path of the YAML configuration file (used when `config` is absent). */
  configFile?: string;
  /** Overrides listen.port (0 = pick a free port). */
  port?: number;
  /** Overrides listen.host. */
  host?: string;
  /** Plugin, host and gateway log lines as they happen. */
  onLog?: (e: LogEntry) => void;
  /** Variables for ${VAR} expansion (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface Gateway {
  /** http://host:port */
  url: string;
  port: number;
  /** The plugin's host, or null when the plugin is disabled. */
  host: ProxyWasmHost | null;
  config: ResolvedGatewayConfig;
  close(): Promise<void>;
}

/** Headers that belong to one connection and are never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** The part of an HTTP stream the gateway drives: the plugin's HttpStream, or a direct pass-through. */
interface Exchange extends EventEmitter {
  requestHeaders(h: Pairs, endOfStream?: boolean): unknown;
  requestBody(chunk: Uint8Array, endOfStream?: boolean): unknown;
  responseHeaders(h: Pairs, endOfStream?: boolean): unknown;
  responseBody(chunk: Uint8Array, endOfStream?: boolean): unknown;
  done(): unknown;
}

/** A route without the plugin: everything goes straight through, with the same events. */
class PassThrough extends EventEmitter implements Exchange {
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
    this.emit("headers", Number(h.find(([k]) => k === ":status")?.[1]), h);
    if (eos) this.end();
  }
  responseBody(chunk: Uint8Array, eos = false): void {
    if (chunk.length) this.emit("data", chunk);
    if (eos) this.end();
  }
  done(): void {}
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("end");
  }
}

/** Node gives header values as latin1 strings of the raw bytes; the host works with UTF-8 text. */
function fromWire(v: string): string {
  return /[\x80-\xff]/.test(v) ? Buffer.from(v, "latin1").toString("utf8") : v;
}

function toWire(v: string): string {
  return /[^\x00-\x7f]/.test(v) ? Buffer.from(v, "utf8").toString("latin1") : v;
}

/** Lower-case header pairs from Node's rawHeaders, minus hop-by-hop headers (and host). */
function rawToPairs(raw: string[], skip: Set<string>): Pairs {
  const out: Pairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || skip.has(k)) continue;
    out.push([k, fromWire(raw[i + 1])]);
  }
  return out;
}

/** Flat [k, v, k, v] list for Node, without pseudo and hop-by-hop headers. */
function toNodeHeaders(pairs: Pairs, extraSkip: Set<string> = new Set()): string[] {
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

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const config = opts.config
    ? resolveGatewayConfig(opts.config, { env: opts.env ?? process.env })
    : opts.configFile
      ? loadGatewayConfigFile(opts.configFile, opts.env ?? process.env)
      : (() => {
          throw new Error("startGateway: give `config` or `configFile`");
        })();
  const listenHost = opts.host ?? config.listen.host;
  const listenPort = opts.port ?? config.listen.port;

  const log = (level: number, message: string): void => {
    const levelName = (["trace", "debug", "info", "warn", "error", "critical"] as const)[level];
    try {
      opts.onLog?.({ level, levelName, message, contextId: 0, source: "gateway" });
    } catch {
      // ignore a faulty log hook
    }
  };

  // Idle pooled sockets are closed after 4 s, before a typical upstream's own
  // 5 s keep-alive timeout, so a request never picks a socket the upstream is
  // closing at that moment (Node 20 ignores the server's Keep-Alive hint when
  // the agent has no timeout of its own).
  const httpAgent = new http.Agent({ keepAlive: true, timeout: 4000 });
  const httpsAgent = new https.Agent({ keepAlive: true, timeout: 4000 });
  const inflight = new Set<http.ClientRequest>();
  const timers = new Set<NodeJS.Timeout>();

  const routeClusters = new Map(config.routes.map((r) => [r.clusterName, r.upstream]));
  const fqdn = (name: string): string => name.slice(name.lastIndexOf("|") + 1);
  const resolveCluster = (name: string): ResolvedTarget | undefined =>
    config.clusters.get(name) ?? config.clusters.get(fqdn(name)) ?? routeClusters.get(name);

  function send(
    target: ResolvedTarget,
    method: string,
    path: string,
    headers: string[],
  ): http.ClientRequest {
    const secure = target.url.protocol === "https:";
    const options: https.RequestOptions = {
      protocol: target.url.protocol,
      hostname: target.url.hostname,
      port: target.url.port || (secure ? 443 : 80),
      method,
      path: joinPath(target.url.pathname, path),
      headers,
      agent: secure ? httpsAgent : httpAgent,
      setHost: false,
    };
    if (secure) {
      options.rejectUnauthorized = !target.insecure;
      const name = target.sni ?? target.url.hostname.replace(/^\[|\]$/g, "");
      if (!isIP(name)) options.servername = name; // SNI carries host names only
    }
    const req = (secure ? https : http).request(options);
    inflight.add(req);
    req.on("close", () => inflight.delete(req));
    return req;
  }

  /** Performs a plugin HTTP call for real and hands the outcome to the host. */
  function performCall(call: HttpCall): void {
    const target = resolveCluster(call.cluster);
    const h = host!;
    if (!target) {
      // The host only dispatches known clusters; this cannot happen unless the config changed.
      setImmediate(() => h.refuse(call));
      return;
    }
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) {
        clearTimeout(timer);
        timers.delete(timer);
      }
      f();
    };
    const headers = ["host", call.authority, ...toNodeHeaders(call.headers, new Set(["host"]))];
    const req = send(target, call.method, call.path, headers);
    if (call.timeoutMs > 0) {
      timer = setTimeout(() => {
        settle(() => {
          log(3, `http call ${call.token} to ${call.cluster} timed out after ${call.timeoutMs} ms`);
          req.destroy();
          h.timeout(call);
        });
      }, call.timeoutMs);
      timers.add(timer);
    }
    let gotHeaders = false;
    req.on("response", (res) => {
      gotHeaders = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (!res.complete) return; // aborted: handled by "close"
        settle(() => h.answer(call, res.statusCode ?? 0, rawToPairs(res.rawHeaders, new Set()), Buffer.concat(chunks)));
      });
      res.on("close", () => {
        if (!res.complete) settle(() => h.reset(call));
      });
      res.on("error", () => settle(() => h.reset(call)));
    });
    req.on("error", (err) => {
      settle(() => {
        log(3, `http call ${call.token} to ${call.cluster} failed: ${err.message}`);
        if (gotHeaders) h.reset(call);
        else h.refuse(call);
      });
    });
    req.end(call.body.length ? Buffer.from(call.body) : undefined);
  }

  let host: ProxyWasmHost | null = null;
  if (config.plugin && config.plugin.enabled) {
    const p = config.plugin;
    const wasmPath = findWasm(p, config.source);
    const clusterNames = (name: string): boolean => resolveCluster(name) !== undefined;
    host = await loadHost(wasmPath, {
      pluginName: p.name,
      rootId: p.rootId,
      vmId: p.vmId,
      vmConfig: p.vmConfig,
      failStrategy: p.failStrategy,
      logLevel: p.logLevel,
      clusters: clusterNames,
      autoTick: true,
      onHttpCall: (call) => performCall(call),
      onLog: opts.onLog,
    });
    if (!host.configure(p.config)) {
      host.close();
      throw new Error(
        host.failed
          ? `plugin ${p.name || wasmPath} failed in proxy_on_configure: ${host.failure?.message}`
          : `plugin ${p.name || wasmPath} rejected its configuration (proxy_on_configure returned false); see its log lines`,
      );
    }
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? "/";
    const pathOnly = url.split("?")[0];
    const route = config.routes.find((r) => pathOnly.startsWith(r.prefix));
    if (!route) {
      res.writeHead(404, { "content-length": "0" });
      res.end();
      req.resume();
      return;
    }

    // Request headers as Envoy's connection manager hands them to filters.
    const headers: Pairs = [
      [":authority", fromWire(req.headers.host ?? "")],
      [":path", url],
      [":method", req.method ?? "GET"],
      [":scheme", "http"],
      ...rawToPairs(req.rawHeaders, new Set(["host"])),
    ];
    if (!headers.some(([k]) => k === "x-request-id")) headers.push(["x-request-id", randomUUID()]);
    if (!headers.some(([k]) => k === "x-forwarded-proto")) headers.push(["x-forwarded-proto", "http"]);
    const hasBody =
      req.headers["transfer-encoding"] !== undefined ||
      (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");

    const ex: Exchange =
      host && route.plugin
        ? host.stream({
            routeName: route.name,
            clusterName: route.clusterName,
            protocol: `HTTP/${req.httpVersion}`,
            properties: {
              "source.address": `${req.socket.remoteAddress}:${req.socket.remotePort}`,
              "source.port": BigInt(req.socket.remotePort ?? 0),
              "destination.address": `${req.socket.localAddress}:${req.socket.localPort}`,
              "destination.port": BigInt(req.socket.localPort ?? 0),
            },
          })
        : new PassThrough();
    new Exchanger(ex, route, req, res, hasBody).start(headers);
  }

  /** Connects one client request, its exchange and its upstream request. */
  class Exchanger {
    private upReq: http.ClientRequest | null = null;
    private upstreamGone = false;
    private finished = false;
    private doneCalled = false;
    private declaredLength: number | undefined;
    private written = 0;
    private timer: NodeJS.Timeout | undefined;
    private responseStarted = false;

    constructor(
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
      ex.on("headers", (status: number | undefined, h: Pairs) => this.writeHead(status, h));
      ex.on("data", (c: Uint8Array) => {
        this.written += c.length;
        if (!res.destroyed) res.write(c);
      });
      ex.on("end", () => this.endResponse());
      ex.on("local-response", () => this.dropUpstream());
      ex.on("reset", (reason: string) => {
        log(3, `${req.method} ${req.url}: stream reset (${reason})`);
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
        this.timer = setTimeout(() => this.upstreamTimeout(), this.route.timeoutMs);
        timers.add(this.timer);
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
      const route = this.route;
      let path = h.find(([k]) => k === ":path")?.[1] ?? "/";
      if (route.rewritePrefix !== undefined && path.startsWith(route.prefix)) {
        path = route.rewritePrefix + path.slice(route.prefix.length);
        if (!path.startsWith("/")) path = `/${path}`;
      }
      const method = h.find(([k]) => k === ":method")?.[1] ?? "GET";
      const headers = ["host", route.authority, ...toNodeHeaders(h, new Set(["host"]))];
      const up = send(route.upstream, method, path, headers);
      this.upReq = up;
      up.on("response", (upRes) => this.onUpstreamResponse(upRes, method));
      up.on("error", (err) => {
        if (this.upstreamGone) return;
        this.upstreamGone = true;
        if (!this.responseStarted) {
          log(3, `${method} ${route.name}: upstream ${route.upstream.url.origin} failed: ${err.message}`);
          this.localUpstreamReply(503, REFUSED_BODY);
        } else {
          this.ex.emit("reset", `upstream reset: ${err.message}`);
        }
      });
    }

    private onUpstreamResponse(upRes: http.IncomingMessage, method: string): void {
      if (this.upstreamGone) {
        upRes.resume();
        return;
      }
      this.responseStarted = true;
      const status = upRes.statusCode ?? 502;
      const pairs: Pairs = [[":status", String(status)], ...rawToPairs(upRes.rawHeaders, new Set())];
      const cl = upRes.headers["content-length"];
      let remaining = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
      const noBody = method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200) || remaining === 0;
      let ended = noBody;
      this.ex.responseHeaders(pairs, noBody);
      upRes.on("data", (c: Buffer) => {
        if (ended || this.upstreamGone) return;
        if (remaining !== undefined) {
          remaining -= c.length;
          if (remaining <= 0) ended = true;
        }
        this.ex.responseBody(c, ended);
      });
      upRes.on("end", () => {
        if (!upRes.complete || this.upstreamGone) return;
        if (!ended) {
          ended = true;
          this.ex.responseBody(new Uint8Array(0), true);
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
      log(3, `${this.req.method} ${this.req.url}: upstream timeout after ${this.route.timeoutMs} ms`);
      this.dropUpstream();
      if (!this.responseStarted) this.localUpstreamReply(504, TIMEOUT_BODY);
      else this.ex.emit("reset", "upstream timeout");
    }

    private upstreamDone(): void {
      if (this.timer) {
        clearTimeout(this.timer);
        timers.delete(this.timer);
        this.timer = undefined;
      }
    }

    private dropUpstream(): void {
      this.upstreamGone = true;
      this.upstreamDone();
      if (this.upReq && !this.upReq.destroyed) this.upReq.destroy();
    }

    private writeHead(status: number | undefined, h: Pairs): void {
      const { res } = this;
      if (res.headersSent || res.destroyed) return;
      const cl = h.find(([k]) => k === "content-length")?.[1];
      this.declaredLength = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
      try {
        res.writeHead(status ?? 502, toNodeHeaders(h));
        res.flushHeaders();
      } catch (e) {
        log(4, `${this.req.method} ${this.req.url}: cannot write the response headers: ${(e as Error).message}`);
        res.destroy();
      }
    }

    private endResponse(): void {
      const { res, req } = this;
      if (!res.headersSent && !res.destroyed) this.writeHead(502, [[":status", "502"]]);
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
        log(
          3,
          `${req.method} ${req.url}: content-length says ${this.declaredLength} but the body has ${this.written} bytes; the client sees a truncated or incomplete response`,
        );
        res.once("finish", () => res.socket?.end());
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

  const server = http.createServer(handle);
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once("error", reject);
      server.listen(listenPort, listenHost, () => {
        server.off("error", reject);
        resolveListen();
      });
    });
  } catch (e) {
    host?.close();
    httpAgent.destroy();
    httpsAgent.destroy();
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    host,
    config,
    async close(): Promise<void> {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const r of inflight) r.destroy();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      httpAgent.destroy();
      httpsAgent.destroy();
      host?.close();
    },
  };
}

export { HttpStream, ProxyWasmHost };
