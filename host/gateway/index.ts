// A local gateway: an HTTP server on 127.0.0.1 that runs the plugin around real
// upstreams, the way a Higress route does. For each request it matches a route
// by path prefix, feeds the request through the plugin's request phase, sends
// what the plugin releases upstream, and streams the upstream response through
// the plugin's response phase to the client, chunk by chunk as it arrives.
// The plugin's HTTP calls go to the clusters of the config file.
//
// This file wires the parts together: config.ts (the file, ${VAR}, the
// .wasm), upstream.ts (outgoing requests), calls.ts (the plugin's HTTP
// calls), exchange.ts (one client request).

import http from "node:http";
import http2 from "node:http2";
import { randomUUID } from "node:crypto";
import net, { type AddressInfo, type Socket } from "node:net";
import { LOG_LEVEL_NAMES } from "../abi/constants.ts";
import { firstValue } from "../header-map.ts";
import { loadHost, type ProxyWasmHost } from "../host.ts";
import type { LogEntry, Pairs } from "../types.ts";
import { performCall, type CallContext } from "./calls.ts";
import {
  findWasm,
  loadGatewayConfigFile,
  resolveGatewayConfig,
  type Env,
  type EnvoySection,
  type GatewayConfig,
  type ResolvedGatewayConfig,
  type ResolvedPlugin,
  type ResolvedRoute,
  type ResolvedTarget,
} from "./config.ts";
import { Exchanger, PassThrough, type Exchange, type ExchangeContext } from "./exchange.ts";
import { fromWire, rawToPairs, Timers, Upstreams, type GatewayLog } from "./upstream.ts";

export type {
  GatewayConfig,
  RouteConfig,
  ClusterTarget,
  PluginSection,
  EnvoySection,
  ResolvedGatewayConfig,
} from "./config.ts";
export { GatewayConfigError, loadGatewayConfigFile, resolveGatewayConfig } from "./config.ts";

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
  env?: Env;
  /** Overrides fields of the config's envoy section (npm start's --stream-idle-timeout). */
  envoy?: EnvoySection;
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

function readConfig(opts: GatewayOptions): ResolvedGatewayConfig {
  let config: ResolvedGatewayConfig;
  if (opts.config) config = resolveGatewayConfig(opts.config, { env: opts.env ?? process.env });
  else if (opts.configFile) config = loadGatewayConfigFile(opts.configFile, opts.env ?? process.env);
  else throw new Error("startGateway: give `config` or `configFile`");
  if (opts.envoy) {
    const o = opts.envoy;
    config.envoy = {
      model: o.model ?? config.envoy.model,
      bufferLimitBytes: o.bufferLimitBytes ?? config.envoy.bufferLimitBytes,
      http2BufferLimitBytes: o.http2BufferLimitBytes ?? config.envoy.http2BufferLimitBytes,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs ?? config.envoy.streamIdleTimeoutMs,
    };
  }
  return config;
}

function gatewayLogger(onLog: GatewayOptions["onLog"]): GatewayLog {
  return (level, message) => {
    try {
      onLog?.({ level, levelName: LOG_LEVEL_NAMES[level], message, contextId: 0, source: "gateway" });
    } catch {
      // ignore a faulty log hook
    }
  };
}

/** Finds a call's cluster: its name, else its FQDN part (after the last "|"), else a route's own cluster. */
function clusterResolver(config: ResolvedGatewayConfig): (name: string) => ResolvedTarget | undefined {
  const routeClusters = new Map(config.routes.map((r) => [r.clusterName, r.upstream]));
  const fqdn = (name: string): string => name.slice(name.lastIndexOf("|") + 1);
  return (name) => config.clusters.get(name) ?? config.clusters.get(fqdn(name)) ?? routeClusters.get(name);
}

/** Loads and configures the plugin; its HTTP calls are performed for real. */
async function startPlugin(
  p: ResolvedPlugin,
  config: ResolvedGatewayConfig,
  calls: CallContext,
  onLog: GatewayOptions["onLog"],
): Promise<ProxyWasmHost> {
  const wasmPath = findWasm(p, config.source);
  const host = await loadHost(wasmPath, {
    pluginName: p.name,
    rootId: p.rootId,
    vmId: p.vmId,
    vmConfig: p.vmConfig,
    failStrategy: p.failStrategy,
    logLevel: p.logLevel,
    envoy: config.envoy.model,
    bufferLimitBytes: config.envoy.bufferLimitBytes,
    http2BufferLimitBytes: config.envoy.http2BufferLimitBytes,
    streamIdleTimeoutMs: config.envoy.streamIdleTimeoutMs,
    vmRestart: p.vmRestart,
    vmRestartIntervalMs: p.vmRestartIntervalMs,
    clusters: (name) => calls.resolveCluster(name) !== undefined,
    unhealthyClusters: (name) => calls.resolveCluster(name)?.healthy === false,
    autoTick: true,
    onHttpCall: (call) => performCall(calls, call),
    onLog,
  });
  if (!host.configure(p.config)) {
    host.close();
    throw new Error(
      host.failed
        ? `plugin ${p.name || wasmPath} failed in proxy_on_configure: ${host.failure?.message}`
        : `plugin ${p.name || wasmPath} rejected its configuration (proxy_on_configure returned false); see its log lines`,
    );
  }
  return host;
}

/** The connection preface an HTTP/2 client opens with. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const config = readConfig(opts);
  const listenHost = opts.host ?? config.listen.host;
  const listenPort = opts.port ?? config.listen.port;
  const log = gatewayLogger(opts.onLog);
  const upstreams = new Upstreams();
  const timers = new Timers();

  let host: ProxyWasmHost | null = null;
  const calls: CallContext = {
    get host() {
      return host!;
    },
    upstreams,
    timers,
    resolveCluster: clusterResolver(config),
    log,
  };
  if (config.plugin && config.plugin.enabled) host = await startPlugin(config.plugin, config, calls, opts.onLog);

  const matchRoute = (path: string): ResolvedRoute | undefined => {
    const pathOnly = path.split("?")[0];
    return config.routes.find((r) => pathOnly.startsWith(r.prefix));
  };
  const exchangeContext: ExchangeContext = {
    upstreams,
    timers,
    log,
    routeByName: (name) => config.routes.find((r) => r.name === name),
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? "/";
    const route = matchRoute(url);
    if (!route) {
      res.writeHead(404, { "content-length": "0" });
      res.end();
      req.resume();
      return;
    }

    // Request headers as Envoy's connection manager hands them to filters.
    // An HTTP/2 client (h2c): Node's compatibility request, pseudo-headers among its raw headers.
    const h2 = req.httpVersionMajor === 2;
    const authority = h2 ? String(req.headers[":authority"] ?? req.headers.host ?? "") : (req.headers.host ?? "");
    const headers: Pairs = [
      [":authority", fromWire(authority)],
      [":path", fromWire(url)],
      [":method", req.method ?? "GET"],
      [":scheme", "http"],
      ...rawToPairs(req.rawHeaders, new Set(["host"])).filter(([k]) => !k.startsWith(":")),
    ];
    if (!headers.some(([k]) => k === "x-request-id")) headers.push(["x-request-id", randomUUID()]);
    if (!headers.some(([k]) => k === "x-forwarded-proto")) headers.push(["x-forwarded-proto", "http"]);
    const hasBody = h2
      ? !(req as unknown as http2.Http2ServerRequest).stream.endAfterHeaders
      : req.headers["transfer-encoding"] !== undefined ||
        (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");

    const ex: Exchange =
      host && route.plugin
        ? host.stream({
            routeName: route.name,
            clusterName: route.clusterName,
            protocol: h2 ? "HTTP/2" : `HTTP/${req.httpVersion}`,
            // A cleared route cache: the route is matched again on the edited :path.
            route: (h) => {
              const r = matchRoute(firstValue(h, ":path") ?? "/");
              return r ? { routeName: r.name, clusterName: r.clusterName } : null;
            },
            properties: {
              "source.address": `${req.socket.remoteAddress}:${req.socket.remotePort}`,
              "source.port": BigInt(req.socket.remotePort ?? 0),
              "destination.address": `${req.socket.localAddress}:${req.socket.localPort}`,
              "destination.port": BigInt(req.socket.localPort ?? 0),
            },
          })
        : new PassThrough();
    new Exchanger(exchangeContext, ex, route, req, res, hasBody).start(headers);
  };

  // One port for both: a connection that opens with the HTTP/2 preface is an
  // h2c client (prior knowledge), anything else HTTP/1.1.
  const server = http.createServer(handle);
  server.keepAliveTimeout = 5000;
  const h2server = http2.createServer();
  h2server.on("request", (req, res) =>
    handle(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse),
  );
  const h2sessions = new Set<http2.ServerHttp2Session>();
  h2server.on("session", (session) => {
    h2sessions.add(session);
    session.on("close", () => h2sessions.delete(session));
  });
  const sockets = new Set<Socket>();
  // TCP_NODELAY, as Envoy's listeners and Node's http.Server set it: with Nagle's algorithm a
  // response whose headers were flushed before its body waited for the client's delayed ACK (~40 ms).
  const front = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      const n = Math.min(chunk.length, H2_PREFACE.length);
      const isH2 = chunk.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      (isH2 ? h2server : server).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
  });
  try {
    await new Promise<void>((resolveListen, reject) => {
      front.once("error", reject);
      front.listen(listenPort, listenHost, () => {
        front.off("error", reject);
        resolveListen();
      });
    });
  } catch (e) {
    host?.close();
    upstreams.destroy();
    throw e;
  }
  const addr = front.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    host,
    config,
    async close(): Promise<void> {
      timers.clearAll();
      upstreams.abort();
      await new Promise<void>((r) => {
        front.close(() => r());
        server.closeAllConnections();
        for (const session of h2sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      });
      upstreams.destroy();
      host?.close();
    },
  };
}
