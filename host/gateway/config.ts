// The local gateway's configuration file: reading, ${VAR} expansion and
// validation; every error names the field and what was expected. This is the
// one place that expands ${VAR} references and that finds the plugin's .wasm
// (`npm start` uses the same functions).
//
// listen: { host: 127.0.0.1, port: 8080 }
// envoy: { model: "1.27", bufferLimitBytes: 32768, http2BufferLimitBytes: 65535, streamIdleTimeoutMs: 180000 }
// plugin:
//   wasm: build/plugin.wasm        # file folder first, then the current directory
//   name: ai-json-mode
//   failStrategy: FAIL_CLOSE       # or FAIL_OPEN
//   logLevel: info
//   config: { ... }                # the plugin config as in the Higress console, _rules_ allowed
// routes:
//   - { name: openai, prefix: /api/openai, upstream: http://127.0.0.1:18001 }
// clusters:
//   "outbound|443||deepseek.dns": http://127.0.0.1:18002

import { readFileSync, existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { LOG_LEVEL_NAMES, type LogLevelName } from "../abi/constants.ts";

export interface ClusterTarget {
  /** Base URL: http:// or https://, optionally with a path prefix. */
  url: string;
  /** https only: accept any certificate (self-signed test servers). */
  insecure?: boolean;
  /** https only: TLS server name (SNI); default the URL's host name. */
  sni?: string;
  /** Speak HTTP/2 to it (http://: prior knowledge, h2c; https://: ALPN). Default false (HTTP/1.1). */
  http2?: boolean;
  /** Clusters only: false = the cluster exists but has no healthy endpoint (proxy_http_call: InternalFailure). Default true. */
  healthy?: boolean;
}

/** How the gateway's Envoy behaves: Higress's Envoy 1.27 defaults unless set. */
export interface EnvoySection {
  /** "1.27" (default) or "ideal" (no buffer limits; every body callback sees its own chunk in the buffer). */
  model?: "1.27" | "ideal";
  /** Buffer limit of an HTTP/1 client's stream; default 32768; 0 = none. */
  bufferLimitBytes?: number;
  /** Buffer limit of an HTTP/2 client's stream; default 65535; 0 = none. */
  http2BufferLimitBytes?: number;
  /** Stream idle timeout; default 180000; 0 = none. */
  streamIdleTimeoutMs?: number;
}

export interface RouteConfig {
  /** Route name: the `route_name` property, matched by `_match_route_`. */
  name: string;
  /** Path prefix this route serves (plain string prefix, first matching route wins). */
  prefix: string;
  /** Replaces `prefix` on the upstream path. */
  rewritePrefix?: string;
  /** The upstream base URL. */
  upstream: string | ClusterTarget;
  /** The `cluster_name` property; default `outbound|<port>||<name>.static`. */
  cluster?: string;
  /** Host header sent upstream; default the upstream URL's host. */
  authority?: string;
  /** false: this route does not run the plugin. Default true. */
  plugin?: boolean;
  /** Upstream timeout (ms) for the whole response; 0 = none (default). */
  timeoutMs?: number;
}

export interface PluginSection {
  /** Path of the .wasm file. */
  wasm?: string;
  /** false: the gateway runs without the plugin. Default true. */
  enabled?: boolean;
  /** Property `plugin_name`. */
  name?: string;
  /** Property `plugin_root_id`. */
  rootId?: string;
  /** Property `plugin_vm_id`. */
  vmId?: string;
  failStrategy?: "FAIL_CLOSE" | "FAIL_OPEN";
  logLevel?: LogLevelName;
  /** Plugin configuration (object → JSON, string → as is). */
  config?: unknown;
  /** VM configuration (object → JSON, string → as is). */
  vmConfig?: unknown;
  /** Re-create a failed VM for the next new stream; default true. */
  vmRestart?: boolean;
  /** At most one re-creation per this many ms; default 1000. */
  vmRestartIntervalMs?: number;
}

export interface GatewayConfig {
  listen?: { host?: string; port?: number };
  envoy?: EnvoySection;
  plugin?: PluginSection;
  routes: RouteConfig[];
  /** Cluster name (or its FQDN part) → base URL, for the plugin's HTTP calls. */
  clusters?: Record<string, string | ClusterTarget>;
}

export interface ResolvedTarget {
  url: URL;
  insecure: boolean;
  sni?: string;
  http2: boolean;
  healthy: boolean;
}

export interface ResolvedEnvoy {
  model: "1.27" | "ideal";
  /** undefined: the host's default (Higress's). */
  bufferLimitBytes?: number;
  http2BufferLimitBytes?: number;
  streamIdleTimeoutMs?: number;
}

export interface ResolvedRoute {
  name: string;
  prefix: string;
  rewritePrefix?: string;
  upstream: ResolvedTarget;
  clusterName: string;
  authority: string;
  plugin: boolean;
  timeoutMs: number;
}

export interface ResolvedPlugin {
  enabled: boolean;
  /** Candidate paths of the .wasm file, in the order they are tried. */
  wasmCandidates: string[];
  name: string;
  rootId: string;
  vmId: string;
  failStrategy: "close" | "open";
  logLevel: number;
  config: string;
  vmConfig: string;
  vmRestart: boolean;
  vmRestartIntervalMs?: number;
}

export interface ResolvedGatewayConfig {
  listen: { host: string; port: number };
  envoy: ResolvedEnvoy;
  plugin: ResolvedPlugin | null;
  routes: ResolvedRoute[];
  clusters: Map<string, ResolvedTarget>;
  /** Where the configuration came from (file path or "inline config"). */
  source: string;
}

export class GatewayConfigError extends Error {}

export type Env = Record<string, string | undefined>;

/** Reads, expands and validates a YAML (or JSON) configuration file. */
export function loadGatewayConfigFile(
  file: string,
  env: Env = process.env,
  cwd = process.cwd(),
): ResolvedGatewayConfig {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new GatewayConfigError(`cannot read gateway config ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new GatewayConfigError(`${path}: not valid YAML: ${(e as Error).message}`);
  }
  return resolveGatewayConfig(raw, { env, baseDir: dirname(path), cwd, source: path });
}

/**
 * Expands `${VAR}` / `${VAR:-default}` in every string value (see expandEnv) and validates.
 * Relative wasm paths are tried against baseDir (the config file's folder) first, then cwd.
 */
export function resolveGatewayConfig(
  raw: unknown,
  opts: { env?: Env; baseDir?: string; cwd?: string; source?: string } = {},
): ResolvedGatewayConfig {
  const source = opts.source ?? "inline config";
  const cwd = opts.cwd ?? process.cwd();
  const fail = (path: string, msg: string): never => {
    throw new GatewayConfigError(`${source}: ${path}: ${msg}`);
  };
  const expanded = expandTree(raw, opts.env ?? process.env, "", fail);
  const cfg = object(expanded, "(top level)", fail);
  onlyKeys(cfg, "(top level)", ["listen", "envoy", "plugin", "routes", "clusters"], fail);

  // listen
  const listenRaw = cfg.listen === undefined ? {} : object(cfg.listen, "listen", fail);
  onlyKeys(listenRaw, "listen", ["host", "port"], fail);
  const listen = {
    host: listenRaw.host === undefined ? "127.0.0.1" : str(listenRaw.host, "listen.host", fail),
    port: listenRaw.port === undefined ? 8080 : port(listenRaw.port, "listen.port", fail),
  };

  // envoy
  const envoyRaw = cfg.envoy === undefined || cfg.envoy === null ? {} : object(cfg.envoy, "envoy", fail);
  onlyKeys(envoyRaw, "envoy", ["model", "bufferLimitBytes", "http2BufferLimitBytes", "streamIdleTimeoutMs"], fail);
  let model: "1.27" | "ideal" = "1.27";
  if (envoyRaw.model !== undefined) {
    const m = String(envoyRaw.model);
    if (m !== "1.27" && m !== "ideal") fail("envoy.model", `expected "1.27" or ideal, got ${describe(envoyRaw.model)}`);
    model = m as "1.27" | "ideal";
  }
  const optInt = (v: unknown, at: string): number | undefined =>
    v === undefined ? undefined : nonNegativeInt(v, at, fail);
  const envoy: ResolvedEnvoy = {
    model,
    bufferLimitBytes: optInt(envoyRaw.bufferLimitBytes, "envoy.bufferLimitBytes"),
    http2BufferLimitBytes: optInt(envoyRaw.http2BufferLimitBytes, "envoy.http2BufferLimitBytes"),
    streamIdleTimeoutMs: optInt(envoyRaw.streamIdleTimeoutMs, "envoy.streamIdleTimeoutMs"),
  };

  // clusters
  const clusters = new Map<string, ResolvedTarget>();
  if (cfg.clusters !== undefined) {
    const c = object(cfg.clusters, "clusters", fail);
    for (const [name, value] of Object.entries(c)) {
      if (name === "") fail("clusters", "a cluster name is empty");
      clusters.set(name, target(value, `clusters["${name}"]`, fail, true));
    }
  }

  // routes
  if (cfg.routes === undefined) fail("routes", "missing: expected a list of routes");
  if (!Array.isArray(cfg.routes)) fail("routes", `expected a list, got ${describe(cfg.routes)}`);
  const routes: ResolvedRoute[] = [];
  const seen = new Set<string>();
  (cfg.routes as unknown[]).forEach((r, i) => {
    const at = `routes[${i}]`;
    const o = object(r, at, fail);
    onlyKeys(
      o,
      at,
      ["name", "prefix", "rewritePrefix", "upstream", "cluster", "authority", "plugin", "timeoutMs"],
      fail,
    );
    const name = str(o.name, `${at}.name`, fail);
    if (name === "") fail(`${at}.name`, "must not be empty");
    if (seen.has(name)) fail(`${at}.name`, `duplicate route name "${name}"`);
    seen.add(name);
    const prefix = str(o.prefix, `${at}.prefix`, fail);
    if (!prefix.startsWith("/")) fail(`${at}.prefix`, `expected a path starting with "/", got "${prefix}"`);
    let rewritePrefix: string | undefined;
    if (o.rewritePrefix !== undefined) {
      rewritePrefix = str(o.rewritePrefix, `${at}.rewritePrefix`, fail);
      if (rewritePrefix !== "" && !rewritePrefix.startsWith("/")) {
        fail(`${at}.rewritePrefix`, `expected a path starting with "/", got "${rewritePrefix}"`);
      }
    }
    if (o.upstream === undefined) fail(`${at}.upstream`, "missing: expected an http:// or https:// URL");
    const upstream = target(o.upstream, `${at}.upstream`, fail);
    const defaultPort = upstream.url.port || (upstream.url.protocol === "https:" ? "443" : "80");
    routes.push({
      name,
      prefix,
      rewritePrefix,
      upstream,
      clusterName:
        o.cluster === undefined ? `outbound|${defaultPort}||${name}.static` : str(o.cluster, `${at}.cluster`, fail),
      authority: o.authority === undefined ? upstream.url.host : str(o.authority, `${at}.authority`, fail),
      plugin: o.plugin === undefined ? true : bool(o.plugin, `${at}.plugin`, fail),
      timeoutMs: o.timeoutMs === undefined ? 0 : nonNegativeInt(o.timeoutMs, `${at}.timeoutMs`, fail),
    });
  });

  // plugin
  let plugin: ResolvedPlugin | null = null;
  if (cfg.plugin !== undefined && cfg.plugin !== null) {
    const p = object(cfg.plugin, "plugin", fail);
    onlyKeys(
      p,
      "plugin",
      [
        "wasm",
        "enabled",
        "name",
        "rootId",
        "vmId",
        "failStrategy",
        "logLevel",
        "config",
        "vmConfig",
        "vmRestart",
        "vmRestartIntervalMs",
      ],
      fail,
    );
    const enabled = p.enabled === undefined ? true : bool(p.enabled, "plugin.enabled", fail);
    let wasmCandidates: string[] = [];
    if (p.wasm === undefined) {
      if (enabled) fail("plugin.wasm", "missing: expected the path of the plugin's .wasm file");
    } else {
      const w = str(p.wasm, "plugin.wasm", fail);
      if (w === "") fail("plugin.wasm", "must not be empty");
      wasmCandidates = wasmSearchPath(w, opts.baseDir ?? cwd, cwd);
    }
    let failStrategy: "close" | "open" = "close";
    if (p.failStrategy !== undefined) {
      const f = str(p.failStrategy, "plugin.failStrategy", fail);
      if (f === "FAIL_CLOSE") failStrategy = "close";
      else if (f === "FAIL_OPEN") failStrategy = "open";
      else fail("plugin.failStrategy", `expected FAIL_CLOSE or FAIL_OPEN, got "${f}"`);
    }
    let logLevel = 2;
    if (p.logLevel !== undefined) {
      const l = str(p.logLevel, "plugin.logLevel", fail);
      logLevel = LOG_LEVEL_NAMES.indexOf(l as LogLevelName);
      if (logLevel < 0) fail("plugin.logLevel", `expected one of ${LOG_LEVEL_NAMES.join(", ")}, got "${l}"`);
    }
    const asText = (v: unknown, at: string): string => {
      if (v === undefined || v === null) return "";
      if (typeof v === "string") return v;
      if (typeof v === "object") return JSON.stringify(v);
      return fail(at, `expected an object (or a JSON string), got ${describe(v)}`);
    };
    plugin = {
      enabled,
      wasmCandidates,
      name: p.name === undefined ? "" : str(p.name, "plugin.name", fail),
      rootId: p.rootId === undefined ? "" : str(p.rootId, "plugin.rootId", fail),
      vmId: p.vmId === undefined ? "" : str(p.vmId, "plugin.vmId", fail),
      failStrategy,
      logLevel,
      config: asText(p.config, "plugin.config"),
      vmConfig: asText(p.vmConfig, "plugin.vmConfig"),
      vmRestart: p.vmRestart === undefined ? true : bool(p.vmRestart, "plugin.vmRestart", fail),
      vmRestartIntervalMs: optInt(p.vmRestartIntervalMs, "plugin.vmRestartIntervalMs"),
    };
  }

  return { listen, envoy, plugin, routes, clusters, source };
}

/**
 * Where the plugin's .wasm is looked for: an absolute path as is; a relative
 * one against the config file's folder first, then the current directory.
 */
export function wasmSearchPath(wasm: string, baseDir: string, cwd: string): string[] {
  return isAbsolute(wasm) ? [wasm] : [...new Set([resolve(baseDir, wasm), resolve(cwd, wasm)])];
}

/** The first of the candidate paths (from wasmSearchPath) that exists. */
export function firstExisting(candidates: string[]): string | undefined {
  return candidates.find((p) => existsSync(p));
}

/** The plugin's .wasm file: the first existing candidate path, else an error naming the field. */
export function findWasm(plugin: ResolvedPlugin, source: string): string {
  const found = firstExisting(plugin.wasmCandidates);
  if (!found) {
    throw new GatewayConfigError(`${source}: plugin.wasm: file not found (tried ${plugin.wasmCandidates.join(", ")})`);
  }
  return found;
}

// ----- helpers ---------------------------------------------------------------

type Fail = (path: string, msg: string) => never;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `"${v}"`;
  return `${typeof v} ${String(v)}`;
}

function object(v: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(at, `expected an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, at: string, allowed: string[], fail: Fail): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      fail(at === "(top level)" ? k : `${at}.${k}`, `unknown field (expected one of: ${allowed.join(", ")})`);
  }
}

function str(v: unknown, at: string, fail: Fail): string {
  if (typeof v !== "string") fail(at, `expected a string, got ${describe(v)}`);
  return v as string;
}

function bool(v: unknown, at: string, fail: Fail): boolean {
  if (typeof v !== "boolean") fail(at, `expected true or false, got ${describe(v)}`);
  return v as boolean;
}

function nonNegativeInt(v: unknown, at: string, fail: Fail): number {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    fail(at, `expected a non-negative integer, got ${describe(v)}`);
  return n as number;
}

function port(v: unknown, at: string, fail: Fail): number {
  const n = nonNegativeInt(v, at, fail);
  if (n > 65535) fail(at, `expected a port number 0..65535, got ${n}`);
  return n;
}

function target(v: unknown, at: string, fail: Fail, cluster = false): ResolvedTarget {
  let url: string;
  let insecure = false;
  let sni: string | undefined;
  let http2 = false;
  let healthy = true;
  if (typeof v === "string") {
    url = v;
  } else {
    const o = object(v, at, fail);
    onlyKeys(
      o,
      at,
      cluster ? ["url", "insecure", "sni", "http2", "healthy"] : ["url", "insecure", "sni", "http2"],
      fail,
    );
    url = str(o.url, `${at}.url`, fail);
    if (o.insecure !== undefined) insecure = bool(o.insecure, `${at}.insecure`, fail);
    if (o.sni !== undefined) sni = str(o.sni, `${at}.sni`, fail);
    if (o.http2 !== undefined) http2 = bool(o.http2, `${at}.http2`, fail);
    if (o.healthy !== undefined) healthy = bool(o.healthy, `${at}.healthy`, fail);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(typeof v === "string" ? at : `${at}.url`, `expected an http:// or https:// URL, got "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    fail(typeof v === "string" ? at : `${at}.url`, `expected an http:// or https:// URL, got "${url}"`);
  }
  return { url: parsed, insecure, sni, http2, healthy };
}

/** Expands ${VAR} references in every string value of a parsed config; errors name the field. */
function expandTree(v: unknown, env: Env, at: string, fail: Fail): unknown {
  if (typeof v === "string") {
    try {
      return expandEnv(v, env);
    } catch (e) {
      if (e instanceof UnsetVariableError) return fail(at || "(top level)", e.message);
      throw e;
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => expandTree(x, env, `${at}[${i}]`, fail));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = expandTree(x, env, at ? `${at}.${k}` : k, fail);
    return out;
  }
  return v;
}

// ----- ${VAR} references ------------------------------------------------------

// ${VAR} or ${VAR:-default}; `$${` is a literal `${`, not a reference.
const VAR_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A ${VAR} without a default whose variable is unset or empty. */
export class UnsetVariableError extends Error {
  constructor(
    readonly variable: string,
    empty: boolean,
  ) {
    super(
      `environment variable ${variable} is ${empty ? "empty" : "not set"} (write \${${variable}:-default} to give a default)`,
    );
  }
}

/**
 * Expands `${VAR}` and `${VAR:-default}` in a string; `$${` gives a literal `${`.
 * `${VAR:-default}` takes the default when VAR is unset or empty; `${VAR}`
 * with VAR unset or empty throws UnsetVariableError naming it.
 */
export function expandEnv(s: string, env: Env): string {
  return s.replace(VAR_RE, (_match: string, name: string | undefined, def: string | undefined) => {
    if (name === undefined) return "${";
    const value = env[name];
    if (value !== undefined && value !== "") return value;
    if (def !== undefined) return def;
    throw new UnsetVariableError(name, value === "");
  });
}

export interface EnvRef {
  name: string;
  hasDefault: boolean;
}

/** Every ${VAR} reference in the config's string values (not keys, not comments), first occurrence of each name. */
export function configEnvRefs(yamlText: string): EnvRef[] {
  const seen = new Map<string, EnvRef>();
  const scan = (s: string) => {
    for (const m of s.matchAll(VAR_RE)) {
      if (m[1] === undefined) continue; // $${
      const prev = seen.get(m[1]);
      const hasDefault = m[2] !== undefined;
      if (!prev) seen.set(m[1], { name: m[1], hasDefault });
      else if (!hasDefault) prev.hasDefault = false; // one bare use makes it required
    }
  };
  const walk = (v: unknown) => {
    if (typeof v === "string") scan(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(parseYaml(yamlText));
  return [...seen.values()];
}

/** Names of the variables the config requires (no default) that `env` leaves unset or empty: the ones expandEnv refuses. */
export function missingEnvVars(yamlText: string, env: Env): string[] {
  return configEnvRefs(yamlText)
    .filter((r) => !r.hasDefault && (env[r.name] === undefined || env[r.name] === ""))
    .map((r) => r.name);
}
