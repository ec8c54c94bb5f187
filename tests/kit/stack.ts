// The end-to-end stack shared by the suites: the compiled plugin in the local
// gateway (or in the bare host), the mock LLMs, a scriptable upstream, a raw
// HTTP client, and the checks every suite repeats.
//
// The module under test is build/plugin.wasm, or the file named by the
// environment variable AI_JSON_MODE_WASM (wasm.ts). Every server listens on
// 127.0.0.1, port 0.

import assert from "node:assert/strict";
import { after } from "node:test";
import http from "node:http";
import http2 from "node:http2";
import { existsSync } from "node:fs";
import type { AddressInfo, Server, Socket } from "node:net";
import {
  loadHost,
  startChatMock,
  startGateway,
  startJsonModeMock,
  type ClusterTarget,
  type EnvoySection,
  type Gateway,
  type GatewayConfig,
  type HostOptions,
  type HttpStream,
  type LogEntry,
  type MockOptions,
  type MockServer,
  type Pairs,
  type ProxyWasmHost,
  type RouteConfig,
} from "../../host/index.ts";

import { ROOT, WASM } from "./wasm.ts";

export { ROOT, WASM };

if (!existsSync(WASM)) {
  throw new Error(`${WASM} not found: run \`npm run build\` first (or set AI_JSON_MODE_WASM)`);
}

/** A key distinctive enough that any log line holding it (or a part of it) is caught. */
export const KEY = "sk-e2e-7f3a9c2e41b8d6-secret";
export const DS_CLUSTER = "outbound|443||deepseek.dns";

/** The lesson's plugin configuration (no JSON-reliability field), plus `extra`. */
export function lessonConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    url: "https://api.deepseek.com/v1/chat/completions",
    model: "deepseek-chat",
    apiKey: KEY,
    serviceFQDN: "deepseek.dns",
    servicePort: 443,
    ...extra,
  };
}

// ---------------------------------------------------------------------------
// A scriptable upstream: sends exactly the status, headers and bytes a test gives.

/** A date header for upstream replies, so that the gateway adds none of its own (headers are compared in order). */
export const DATE: [string, string] = ["date", "Tue, 01 Jan 2030 00:00:00 GMT"];

export interface UpstreamReply {
  status?: number;
  /** Sent in this order, exactly (Node adds nothing but connection headers: no date). */
  headers?: Pairs;
  body?: string | Uint8Array;
  /** Write the body in pieces of this many bytes. */
  chunkSize?: number;
  /** Or in exactly these pieces. */
  chunks?: (string | Uint8Array)[];
  /** Delay between pieces. */
  delayMs?: number;
  /** Trailers after the body: HTTP/2, a trailing HEADERS frame (it carries END_STREAM); HTTP/1.1, chunked trailers. */
  trailers?: Pairs;
}

export interface RecordedUpstreamRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Upstream {
  url: string;
  requests: RecordedUpstreamRequest[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Servers still open; a failed test that skipped its clean-up must not keep the file's process alive. */
const openServers = new Set<() => Promise<void>>();
after(async () => {
  for (const close of [...openServers]) await close();
});

/** Registers a close function; returns one that runs it once and unregisters it. */
function tracked(close: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  const once = () => {
    openServers.delete(once);
    return (done ??= close());
  };
  openServers.add(once);
  return once;
}

/** The body of a reply in the pieces it is written in. */
function replyPieces(r: UpstreamReply): Buffer[] {
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body as any);
  if (r.chunks) return r.chunks.map((c) => Buffer.from(c as any));
  if (r.chunkSize) {
    const pieces: Buffer[] = [];
    for (let i = 0; i < body.length; i += r.chunkSize) pieces.push(body.subarray(i, i + r.chunkSize));
    return pieces;
  }
  return [body];
}

/**
 * A scriptable upstream. `http2: true`: an h2c server (HTTP/2 with prior
 * knowledge); each piece is one DATA frame, written once the previous one
 * went out, and the last piece carries END_STREAM.
 */
export async function startUpstream(
  reply: UpstreamReply | ((req: RecordedUpstreamRequest) => UpstreamReply),
  opts: { http2?: boolean } = {},
): Promise<Upstream> {
  const requests: RecordedUpstreamRequest[] = [];
  if (opts.http2) {
    const h2 = http2.createServer();
    h2.on("stream", (stream, headers) => {
      const parts: Buffer[] = [];
      stream.on("data", (c: Buffer) => parts.push(c));
      stream.on("end", async () => {
        const plain: http.IncomingHttpHeaders = {};
        for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":")) plain[k] = v as string;
        plain.host = String(headers[":authority"] ?? "");
        const rec = {
          method: String(headers[":method"]),
          url: String(headers[":path"]),
          headers: plain,
          body: Buffer.concat(parts).toString(),
        };
        requests.push(rec);
        const r = typeof reply === "function" ? reply(rec) : reply;
        const out: http2.OutgoingHttpHeaders = { ":status": r.status ?? 200 };
        for (const [k, v] of r.headers ?? []) {
          const key = k.toLowerCase();
          if (["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"].includes(key)) continue;
          const prev = out[key];
          out[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
        }
        const pieces = replyPieces(r).filter((p) => p.length > 0);
        if (stream.destroyed) return;
        const trailers = r.trailers;
        if (trailers) {
          stream.once("wantTrailers", () => {
            const t: http2.OutgoingHttpHeaders = {};
            for (const [k, v] of trailers) t[k.toLowerCase()] = v;
            stream.sendTrailers(t);
          });
        }
        stream.respond(out, { endStream: pieces.length === 0 && !trailers, waitForTrailers: trailers !== undefined });
        if (pieces.length === 0 && trailers) stream.end();
        for (let i = 0; i < pieces.length; i++) {
          if (stream.destroyed) return;
          if (i === pieces.length - 1) stream.end(pieces[i]);
          else await new Promise<void>((ok) => stream.write(pieces[i], () => ok()));
          if (r.delayMs && i < pieces.length - 1) await sleep(r.delayMs);
        }
      });
    });
    return listening(h2, requests);
  }
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", async () => {
      const rec = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(parts).toString(),
      };
      requests.push(rec);
      const r = typeof reply === "function" ? reply(rec) : reply;
      res.sendDate = false;
      const flat: string[] = [];
      for (const [k, v] of r.headers ?? []) flat.push(k, v);
      res.writeHead(r.status ?? 200, flat);
      const pieces = replyPieces(r);
      for (let i = 0; i < pieces.length; i++) {
        if (res.destroyed) return;
        if (pieces[i].length) await new Promise<void>((ok) => res.write(pieces[i], () => ok()));
        if (r.delayMs && i < pieces.length - 1) await sleep(r.delayMs);
      }
      if (r.trailers) res.addTrailers(r.trailers);
      res.end();
    });
  });
  return listening(server, requests);
}

/** The upstream once `server` listens on 127.0.0.1; closing it also ends the connections still open. */
async function listening(server: Server, requests: RecordedUpstreamRequest[]): Promise<Upstream> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: tracked(
      () =>
        new Promise<void>((ok) => {
          server.close(() => ok());
          for (const s of sockets) s.destroy();
        }),
    ),
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

// ---------------------------------------------------------------------------
// The gateway with the plugin and the mocks.

export interface Stack {
  gw: Gateway;
  host: ProxyWasmHost;
  chat: MockServer;
  ds: MockServer;
  /** Every stream the gateway created, in order. */
  streams: HttpStream[];
  /** Every plugin, host and gateway log line. */
  logs: LogEntry[];
  /** gateway URL + path */
  url(path?: string): string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** The plugin configuration (default: the lesson's). */
  config?: unknown;
  /** Routes; default one route "openai" at /api/openai -> chat mock. `chatUrl` is substituted for "$CHAT". */
  routes?: RouteConfig[];
  /** Clusters; default {DS_CLUSTER: ds mock}. "$DS" is replaced by the DeepSeek mock's URL. */
  clusters?: Record<string, string | ClusterTarget>;
  chat?: MockOptions;
  ds?: MockOptions;
  logLevel?: "trace" | "debug" | "info" | "warn";
  /** The gateway's Envoy: Higress's Envoy 1.27 and its defaults, with these fields changed (a small idle timeout, say). */
  envoy?: EnvoySection;
}

/** Starts a chat mock, a DeepSeek mock and a gateway running the plugin; captures its streams. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const chat = await startChatMock(opts.chat ?? {});
  const ds = await startJsonModeMock(opts.ds ?? {});
  const logs: LogEntry[] = [];
  const sub = (v: string) => v.replace("$CHAT", chat.url).replace("$DS", ds.url);
  const routes = (opts.routes ?? [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: "$CHAT" }]).map(
    (r) => ({
      ...r,
      upstream: typeof r.upstream === "string" ? sub(r.upstream) : r.upstream,
    }),
  );
  const clusters: Record<string, string | ClusterTarget> = {};
  for (const [k, v] of Object.entries(opts.clusters ?? { [DS_CLUSTER]: "$DS" })) {
    clusters[k] = typeof v === "string" ? sub(v) : v;
  }
  let gw: Gateway;
  try {
    gw = await startGateway({
      config: {
        listen: { host: "127.0.0.1", port: 0 },
        envoy: opts.envoy,
        plugin: {
          wasm: WASM,
          name: "ai-json-mode",
          failStrategy: "FAIL_CLOSE",
          logLevel: opts.logLevel ?? "debug",
          config: opts.config ?? lessonConfig(),
        },
        routes,
        clusters,
      } as GatewayConfig,
      onLog: (e) => logs.push(e),
    });
  } catch (e) {
    await chat.close();
    await ds.close();
    throw e;
  }
  const host = gw.host!;
  const streams = captureStreams(host);
  return {
    gw,
    host,
    chat,
    ds,
    streams,
    logs,
    url: (path = "/api/openai/v1/chat/completions") => gw.url + path,
    close: tracked(async () => {
      await gw.close();
      await chat.close();
      await ds.close();
    }),
  };
}

/**
 * Runs `fn` on a stack with the lesson's configuration plus `config`, then
 * checks what every such test expects: no log line holds the key, no
 * content-length that does not match its body, no stream left alive.
 */
export async function withStack(
  config: Record<string, unknown>,
  fn: (s: Stack) => Promise<void>,
  opts: Partial<StackOptions> = {},
): Promise<void> {
  const stack = await startStack({ config: lessonConfig(config), ...opts });
  try {
    await fn(stack);
    assertNoKey(stack.logs);
    assertNoLengthMismatch(stack.logs);
    await until(() => stack.host.liveContexts() === 0, "no live stream");
  } finally {
    await stack.close();
  }
}

/** Sizes of the response body chunks the gateway fed to each captured stream. */
export const responseChunks = new WeakMap<HttpStream, number[]>();
/** The same chunks with their end-of-stream flag (an HTTP/2 DATA frame with END_STREAM: `end` on a non-empty one). */
export const responseFrames = new WeakMap<HttpStream, { size: number; end: boolean }[]>();

/** A stream property the plugin set (the host keeps what proxy_set_property wrote), as text. */
export function property(s: HttpStream, name: string): string | undefined {
  const v = s.properties.get(name);
  if (v === undefined) return undefined;
  return v instanceof Uint8Array ? Buffer.from(v).toString("utf8") : String(v);
}

/** Records every stream the host creates (the gateway keeps them to itself), and its response chunks. */
export function captureStreams(host: ProxyWasmHost): HttpStream[] {
  const streams: HttpStream[] = [];
  const original = host.stream.bind(host);
  host.stream = ((props?: Parameters<ProxyWasmHost["stream"]>[0]) => {
    const s = original(props);
    const sizes: number[] = [];
    const frames: { size: number; end: boolean }[] = [];
    responseChunks.set(s, sizes);
    responseFrames.set(s, frames);
    const feed = s.responseBody.bind(s);
    s.responseBody = ((chunk: Uint8Array | string, eos?: boolean) => {
      const size = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      sizes.push(size);
      frames.push({ size, end: eos === true });
      return feed(chunk, eos);
    }) as HttpStream["responseBody"];
    streams.push(s);
    return s;
  }) as ProxyWasmHost["stream"];
  return streams;
}

/** Loads the plugin in the bare host (no gateway) and configures it. */
export async function loadPlugin(config: unknown, opts: HostOptions = {}): Promise<ProxyWasmHost> {
  const host = await loadHost(WASM, { pluginName: "ai-json-mode", clusters: [DS_CLUSTER], logLevel: 1, ...opts });
  assert.equal(host.configure(config as object), true, "the plugin rejected its configuration");
  return host;
}

// ---------------------------------------------------------------------------
// Client.

export interface Reply {
  status: number;
  /** Header pairs as received, keys lower-case, in order. */
  rawHeaders: Pairs;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** A transport problem: parse error, reset, incomplete body. */
  error?: string;
}

export function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    let error: string | undefined;
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body as any);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body && !Object.keys(headers).some((k) => k.toLowerCase() === "content-type"))
      headers["content-type"] = "application/json";
    const req = http.request(url, { method: opts.method ?? (body ? "POST" : "GET"), headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => (error ??= e.message));
      res.on("aborted", () => (error ??= "aborted"));
      res.on("close", () => {
        const b = Buffer.concat(chunks);
        const rawHeaders: Pairs = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
          rawHeaders.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
        resolveReply({
          status: res.statusCode ?? 0,
          rawHeaders,
          headers: res.headers,
          body: b,
          text: b.toString("utf8"),
          error: error ?? (res.complete ? undefined : "incomplete response"),
        });
      });
    });
    req.setTimeout(opts.timeoutMs ?? 10000, () => req.destroy(new Error("client timeout")));
    req.on("error", (e) => (error ? undefined : reject(e)));
    req.end(body);
  });
}

/**
 * The same request over HTTP/2 with prior knowledge (h2c), as an HTTP/2
 * client reaches the gateway: its stream gets Envoy's 65535-byte buffer limit.
 * `rawHeaders` keeps the order of the response's HEADERS frame (no
 * pseudo-headers); `trailers` are the trailing HEADERS, if any.
 */
export function sendH2(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<Reply & { trailers: Record<string, string> }> {
  return new Promise((resolveReply, reject) => {
    const u = new URL(url);
    const session = http2.connect(u.origin);
    session.on("error", reject);
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body as any);
    const headers: http2.OutgoingHttpHeaders = {
      ":method": opts.method ?? (body ? "POST" : "GET"),
      ":path": u.pathname + u.search,
      ...(body ? { "content-type": "application/json" } : {}),
      ...(opts.headers ?? {}),
    };
    const req = session.request(headers, { endStream: body === undefined });
    const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), opts.timeoutMs ?? 10000);
    let status = 0;
    let rawHeaders: Pairs = [];
    const trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let error: string | undefined;
    req.on("response", (h, flags) => {
      status = Number(h[":status"]);
      rawHeaders = [];
      void flags;
      for (const [k, v] of Object.entries(h)) {
        if (k.startsWith(":")) continue;
        for (const one of Array.isArray(v) ? v : [v]) rawHeaders.push([k, String(one)]);
      }
    });
    req.on("trailers", (t) => {
      for (const [k, v] of Object.entries(t)) if (!k.startsWith(":")) trailers[k] = String(v);
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", (e) => (error ??= e.message));
    req.on("close", () => {
      clearTimeout(timer);
      if (req.rstCode && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR) error ??= `stream reset (${req.rstCode})`;
      session.close();
      const b = Buffer.concat(chunks);
      const flat: http.IncomingHttpHeaders = {};
      for (const [k, v] of rawHeaders) flat[k] = flat[k] === undefined ? v : `${flat[k]}, ${v}`;
      resolveReply({ status, rawHeaders, headers: flat, body: b, text: b.toString("utf8"), error, trailers });
    });
    req.end(body);
  });
}

/** An OpenAI chat request body. */
export function chatRequest(message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: "qwen-plus", messages: [{ role: "user", content: message }], ...extra });
}

/** Posts a chat request to the stack's route. */
export function ask(
  stack: Stack,
  message: string,
  opts: { headers?: Record<string, string>; path?: string; extra?: Record<string, unknown> } = {},
): Promise<Reply> {
  return send(stack.url(opts.path), { body: chatRequest(message, opts.extra), headers: opts.headers });
}

// ---------------------------------------------------------------------------
// Bodies.

/** A Qwen-shaped chat completion. */
export function completion(content: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    choices: [{ message: { role: "assistant", content }, finish_reason: "stop", index: 0, logprobs: null }],
    object: "chat.completion",
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    created: 1735689600,
    system_fingerprint: null,
    model: "qwen-plus",
    id: "chatcmpl-e2e-0001",
    ...extra,
  });
}

/** A DeepSeek-shaped answer to the JSON-mode call. */
export function dsCompletion(
  content: string,
  usage = { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
  finish = "stop",
): string {
  return JSON.stringify({
    id: "ds-e2e-0001",
    object: "chat.completion",
    created: 1735689601,
    model: "deepseek-chat",
    choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: finish }],
    usage,
  });
}

/** An SSE stream of chat.completion.chunk events carrying `pieces`. */
export function sseBody(pieces: string[], opts: { usage?: object; eol?: string; id?: string } = {}): string {
  const eol = opts.eol ?? "\n";
  const base = {
    id: opts.id ?? "chatcmpl-sse-e2e",
    object: "chat.completion.chunk",
    created: 1735689600,
    model: "qwen-plus",
  };
  const ev = (o: unknown) => `data: ${typeof o === "string" ? o : JSON.stringify(o)}${eol}${eol}`;
  let out = ev({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
  pieces.forEach((p, i) => {
    out += ev({
      ...base,
      choices: [{ index: 0, delta: { content: p }, finish_reason: i === pieces.length - 1 ? "stop" : null }],
    });
  });
  if (opts.usage) out += ev({ ...base, choices: [], usage: opts.usage });
  return out + ev("[DONE]");
}

/** Parses an SSE body into the data strings of its events. */
export function sseEvents(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    const data = block
      .split(/\r\n|\n|\r/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""));
    if (data.length) out.push(data.join("\n"));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Checks.

const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding"]);

/** Header pairs without the per-connection ones (which Node writes itself). */
export function endToEndHeaders(h: Pairs): Pairs {
  return h.filter(([k]) => !CONNECTION_HEADERS.has(k.toLowerCase())).map(([k, v]) => [k.toLowerCase(), v]);
}

/** The client got exactly what the upstream sent: status, headers (in order) and bytes. */
export function assertOriginal(reply: Reply, status: number, headers: Pairs, body: string | Uint8Array): void {
  assert.equal(reply.error, undefined, `transport error: ${reply.error}`);
  assert.equal(reply.status, status, "status");
  assert.deepEqual(endToEndHeaders(reply.rawHeaders), endToEndHeaders(headers), "headers");
  const expected = Buffer.from(body as any);
  assert.equal(reply.body.length, expected.length, "body length");
  assert.ok(reply.body.equals(expected), "body bytes differ from the upstream's");
}

/** A complete response whose content-length (when present) is the body's length. */
export function assertLength(reply: Reply): void {
  assert.equal(reply.error, undefined, `transport error: ${reply.error}`);
  const cl = reply.headers["content-length"];
  if (cl !== undefined) assert.equal(Number(cl), reply.body.length, "content-length vs body");
}

/** A converted reply: 200, application/json, mode: json, correct content-length; returns the parsed body. */
export function assertConverted(reply: Reply): any {
  assertLength(reply);
  assert.equal(reply.status, 200, `status (body: ${reply.text.slice(0, 300)})`);
  assert.equal(reply.headers["mode"], "json", `mode header missing (body: ${reply.text.slice(0, 300)})`);
  assert.equal(reply.headers["content-type"], "application/json");
  assert.ok(reply.headers["content-length"] !== undefined, "content-length missing");
  assert.equal(reply.rawHeaders.filter(([k]) => k === "content-length").length, 1, "one content-length");
  return JSON.parse(reply.text);
}

export function pluginLines(logs: LogEntry[], minLevel = 0): LogEntry[] {
  return logs.filter((l) => l.source === "plugin" && l.level >= minLevel);
}

/** Warn-or-worse lines of this stream (plugin and host). */
export function warnLines(s: HttpStream): LogEntry[] {
  return s.logs.filter((l) => l.level >= 3);
}

/** No log line holds the key (nor its distinctive tail). */
export function assertNoKey(logs: LogEntry[], key = KEY): void {
  const tail = key.slice(-12);
  for (const l of logs) {
    assert.ok(!l.message.includes(key) && !l.message.includes(tail), `a log line holds the API key: ${l.message}`);
  }
}

/** No gateway line about a content-length that does not match the body. */
export function assertNoLengthMismatch(logs: LogEntry[]): void {
  const bad = logs.filter((l) => /content-length says/.test(l.message));
  assert.deepEqual(
    bad.map((l) => l.message),
    [],
    "stale content-length",
  );
}

/** Waits until `cond` holds (the gateway calls done() right after the client's response ends). */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function metric(host: ProxyWasmHost, name: string): number {
  const m = host.metrics().get("ai_json_mode." + name);
  return m === undefined ? 0 : Number(m.value);
}

/** All ai_json_mode.* counters with a non-zero value. */
export function metricSnapshot(host: ProxyWasmHost): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of host.metrics()) {
    if (k.startsWith("ai_json_mode.") && v.value !== 0n) out[k.slice("ai_json_mode.".length)] = Number(v.value);
  }
  return out;
}

/** The difference of two snapshots (only the counters that moved). */
export function metricDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}
