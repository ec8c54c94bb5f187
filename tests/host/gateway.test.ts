// The local gateway with real HTTP servers on 127.0.0.1 (ports picked at run
// time) and small WAT modules: streaming, a paused response calling a cluster,
// call failures, stale content-length, VM failure, routes without the plugin,
// and the configuration file.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import {
  startGateway,
  GatewayConfigError,
  resolveGatewayConfig,
  loadGatewayConfigFile,
  type GatewayConfig,
  type LogEntry,
} from "../../host/index.ts";
import { buildModule, calloutModule as calloutBytes, handEncodedPairs } from "../kit/wat.ts";

const dir = mkdtempSync(join(tmpdir(), "host-gateway-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real server on 127.0.0.1:0 that records what it receives. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${port}`, port, seen, server };
}

/** A port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Reply {
  status?: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  error?: string;
}

function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve) => {
    let error: string | undefined;
    let gotResponse = false;
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: false }, (res) => {
      gotResponse = true;
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", (e) => (error ??= e.message));
      res.on("aborted", () => (error ??= "aborted"));
      res.on("close", () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          error: error ?? (res.complete ? undefined : "incomplete response"),
        }),
      );
    });
    req.on("error", (e) => {
      error ??= e.message;
      if (!gotResponse) resolve({ headers: {}, body: "", error });
    });
    req.end(opts.body);
  });
}

async function writeWasm(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Continues everything, logs body sizes, marks responses with x-seen. */
async function passModule(): Promise<string> {
  return writeWasm(
    "pass.wasm",
    await buildModule({
      strings: { reqBody: "request body ", respBody: "response body ", seen: "x-seen", one: "1", trap: "x-trap" },
      body: `
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @trap (i32.const 16) (i32.const 20)))
            (then unreachable))
          (i32.const 0))
        (func (export "proxy_on_request_body") (param i32) (param $size i32) (param i32) (result i32)
          (call $logn @reqBody (local.get $size)) (i32.const 0))
        (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
          (drop (call $proxy_add_header_map_value (i32.const 2) @seen @one)) (i32.const 0))
        (func (export "proxy_on_response_body") (param i32) (param $size i32) (param i32) (result i32)
          (call $logn @respBody (local.get $size)) (i32.const 0))
      `,
    }),
  );
}

const CALL_HEADERS = handEncodedPairs([
  [":method", "POST"],
  [":path", "/v1/chat/completions"],
  [":authority", "api.deepseek.com"],
  ["content-type", "application/json"],
  ["authorization", "Bearer sk-test"],
]);

async function calloutModule(): Promise<string> {
  return writeWasm("callout.wasm", await calloutBytes(CALL_HEADERS));
}

function pluginLines(logs: LogEntry[]): string[] {
  return logs.filter((l) => l.source === "plugin").map((l) => l.message);
}

test(
  "streams upstream chunks through the plugin as they arrive; request phase and prefix rewrite",
  { timeout: 15000 },
  async () => {
    let releaseSecond!: () => void;
    const clientGotFirst = new Promise<void>((r) => (releaseSecond = r));
    const upstream = await serve(async (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("one;");
      await clientGotFirst; // only after the client saw the first chunk
      res.end("two;");
    });
    const logs: LogEntry[] = [];
    const gw = await startGateway({
      port: 0,
      onLog: (e) => logs.push(e),
      config: {
        plugin: { wasm: await passModule(), name: "pass" },
        routes: [{ name: "stream", prefix: "/api/stream", rewritePrefix: "/up", upstream: upstream.url }],
      },
    });
    try {
      const chunks: string[] = [];
      const reply = await new Promise<{ status?: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        const req = http.request(
          `${gw.url}/api/stream/x?y=1`,
          { method: "POST", headers: { "content-type": "text/plain" }, agent: false },
          (res) => {
            res.on("data", (c: Buffer) => {
              chunks.push(c.toString());
              releaseSecond();
            });
            res.on("end", () => resolve({ status: res.statusCode, headers: res.headers }));
          },
        );
        req.on("error", reject);
        req.end("hello");
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers["x-seen"], "1");
      assert.equal(chunks.join(""), "one;two;");
      assert.equal(chunks[0], "one;", "the first chunk reached the client on its own");
      const seen = upstream.seen[0];
      assert.equal(seen.method, "POST");
      assert.equal(seen.url, "/up/x?y=1");
      assert.equal(seen.body, "hello");
      assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
      assert.match(String(seen.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
      assert.equal(seen.headers["x-forwarded-proto"], "http");
      const lines = pluginLines(logs);
      assert.ok(lines.includes("request body 5"), lines.join(" | "));
      const bodies = lines.filter((l) => l.startsWith("response body "));
      assert.equal(bodies[0], "response body 4", "first chunk seen by the plugin alone");
      assert.ok(bodies.length >= 2, bodies.join(" | "));
      await new Promise((r) => setImmediate(r));
      assert.equal(gw.host!.liveContexts(), 0);
    } finally {
      await gw.close();
    }
  },
);

test(
  "pauses the response, calls a cluster on another real server, replaces the body; a plugin: false route is untouched",
  { timeout: 15000 },
  async () => {
    const original = JSON.stringify({ choices: [{ message: { content: "free text answer" } }] });
    const chat = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(original)) });
      res.end(original);
    });
    const answer = '{"mode":"json","items":[1,2,3]}';
    const cluster = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(answer);
    });
    const logs: LogEntry[] = [];
    const gw = await startGateway({
      port: 0,
      onLog: (e) => logs.push(e),
      config: {
        plugin: { wasm: await calloutModule(), name: "callout", logLevel: "trace" },
        routes: [
          { name: "chat", prefix: "/api/chat", upstream: chat.url },
          { name: "raw", prefix: "/raw", upstream: chat.url, plugin: false },
        ],
        // keyed by the FQDN part of outbound|443||deepseek.dns; the base path is kept
        clusters: { "deepseek.dns": `${cluster.url}/base` },
      },
    });
    try {
      const r = await request(`${gw.url}/api/chat/v1/chat/completions`, {
        method: "POST",
        body: '{"model":"x"}',
        headers: { "content-type": "application/json" },
      });
      assert.equal(r.error, undefined);
      assert.equal(r.status, 200);
      assert.equal(r.body, answer);
      assert.equal(r.headers["x-mode"], "json");
      assert.ok(
        r.headers["content-length"] === undefined || r.headers["content-length"] === String(answer.length),
        "no stale content-length",
      );
      const call = cluster.seen[0];
      assert.equal(call.method, "POST");
      assert.equal(call.url, "/base/v1/chat/completions");
      assert.equal(call.headers.host, "api.deepseek.com");
      assert.equal(call.headers.authorization, "Bearer sk-test");
      assert.equal(call.headers["content-length"], String(Buffer.byteLength(original)));
      assert.equal(call.body, original);
      const lines = pluginLines(logs);
      assert.ok(lines.includes("call rc 0") && lines.includes("call status 200"), lines.join(" | "));

      const raw = await request(`${gw.url}/raw/v1`);
      assert.equal(raw.body, original);
      assert.equal(raw.headers["content-length"], String(Buffer.byteLength(original)));
      assert.equal(raw.headers["x-mode"], undefined);
      assert.equal(chat.seen.length, 2);

      const none = await request(`${gw.url}/nowhere`);
      assert.equal(none.status, 404);
      await new Promise((r) => setImmediate(r));
      assert.equal(gw.host!.liveContexts(), 0);
    } finally {
      await gw.close();
    }
  },
);

test(
  "plugin calls: refused -> 503 answer, timeout -> 504 answer, reset mid-body -> zero headers; the client keeps the original",
  { timeout: 20000 },
  async () => {
    const original = "original body";
    const chat = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(original.length) });
      res.end(original);
    });
    const silent = await serve(() => {
      /* never answers */
    });
    const resetter = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("0123456789");
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const cases: Array<[string, string, string]> = [
      ["refused", `http://127.0.0.1:${await closedPort()}`, "call status 503"],
      ["timeout", silent.url, "call status 504"],
      ["reset", resetter.url, "call headers 0"],
    ];
    const wasm = await calloutModule();
    for (const [what, clusterUrl, expected] of cases) {
      const logs: LogEntry[] = [];
      const gw = await startGateway({
        port: 0,
        onLog: (e) => logs.push(e),
        config: {
          plugin: { wasm, name: "callout" },
          routes: [{ name: "chat", prefix: "/", upstream: chat.url }],
          clusters: { "outbound|443||deepseek.dns": clusterUrl },
        },
      });
      try {
        (gw.host!.exports.timeout as WebAssembly.Global).value = 300;
        const r = await request(`${gw.url}/v1`);
        assert.equal(r.status, 200, what);
        assert.equal(r.body, original, `${what}: the client gets the original body`);
        assert.equal(r.headers["content-length"], String(original.length));
        assert.ok(pluginLines(logs).includes(expected), `${what}: ${pluginLines(logs).join(" | ")}`);
      } finally {
        await gw.close();
      }
    }
  },
);

test(
  "a stale content-length reaches the client as Envoy would send it: truncated or incomplete body",
  { timeout: 15000 },
  async () => {
    const original = "0123456789"; // content-length 10
    const chat = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(original.length) });
      res.end(original);
    });
    let answer = "a replacement longer than ten bytes";
    const cluster = await serve((_req, res) => res.end(answer));
    const logs: LogEntry[] = [];
    const gw = await startGateway({
      port: 0,
      onLog: (e) => logs.push(e),
      config: {
        plugin: { wasm: await calloutModule() },
        routes: [{ name: "chat", prefix: "/", upstream: chat.url }],
        clusters: { "outbound|443||deepseek.dns": cluster.url },
      },
    });
    try {
      (gw.host!.exports.fix as WebAssembly.Global).value = 0; // the plugin "forgets" the content-length fix
      const long = await request(`${gw.url}/v1`);
      assert.equal(long.headers["content-length"], "10");
      assert.equal(long.body, answer.slice(0, 10), "the client reads 10 bytes of the new body");
      assert.ok(long.error, "and its HTTP parser trips over the bytes after them");
      assert.ok(
        logs.some((l) => l.source === "gateway" && /content-length says 10 but the body has 35 bytes/.test(l.message)),
      );

      answer = "short";
      const short = await request(`${gw.url}/v1`);
      assert.ok(short.error, "the client sees an incomplete response");
      assert.equal(short.body, "short");
    } finally {
      await gw.close();
    }
  },
);

test(
  "VM failure through the gateway: the failing request gets 503 without a body (FAIL_CLOSE) or passes (FAIL_OPEN); the next request gets a new VM",
  { timeout: 15000 },
  async () => {
    const upstream = await serve((_req, res) => res.end("upstream says hi"));
    const wasm = await passModule();
    for (const failStrategy of ["FAIL_CLOSE", "FAIL_OPEN"] as const) {
      const gw = await startGateway({
        port: 0,
        config: { plugin: { wasm, failStrategy }, routes: [{ name: "r", prefix: "/", upstream: upstream.url }] },
      });
      try {
        const ok = await request(`${gw.url}/a`);
        assert.equal(ok.body, "upstream says hi");
        const boom = await request(`${gw.url}/b`, { headers: { "x-trap": "1" } });
        assert.equal(gw.host!.failed, true);
        if (failStrategy === "FAIL_CLOSE") {
          assert.equal(boom.status, 503);
          assert.equal(boom.body, "");
          assert.equal(boom.headers["content-length"], "0", "as Envoy's HTTP/1 codec writes a response without a body");
        } else {
          assert.equal(boom.status, 200);
          assert.equal(boom.body, "upstream says hi");
          assert.equal(boom.headers["x-seen"], undefined, "the module no longer runs for it");
        }
        const after = await request(`${gw.url}/c`);
        assert.equal(gw.host!.failed, false);
        assert.equal(gw.host!.generation, 2);
        assert.equal(after.status, 200);
        assert.equal(after.headers["x-seen"], "1", "a new VM runs the module");
      } finally {
        await gw.close();
      }
    }
    const gw = await startGateway({
      port: 0,
      config: { plugin: { wasm, vmRestart: false }, routes: [{ name: "r", prefix: "/", upstream: upstream.url }] },
    });
    try {
      await request(`${gw.url}/b`, { headers: { "x-trap": "1" } });
      const after = await request(`${gw.url}/c`);
      assert.equal(after.status, 503, "plugin.vmRestart: false keeps the VM failed");
    } finally {
      await gw.close();
    }
  },
);

test(
  "an unreachable upstream gives Envoy's 503, through the plugin's response phase; plugin.enabled: false runs without it",
  { timeout: 15000 },
  async () => {
    const gw = await startGateway({
      port: 0,
      config: {
        plugin: { wasm: await passModule() },
        routes: [{ name: "dead", prefix: "/", upstream: `http://127.0.0.1:${await closedPort()}` }],
      },
    });
    try {
      const r = await request(`${gw.url}/x`);
      assert.equal(r.status, 503);
      assert.match(r.body, /^upstream connect error or disconnect\/reset before headers/);
      assert.equal(r.headers["x-seen"], "1", "the plugin saw the reply");
    } finally {
      await gw.close();
    }

    const upstream = await serve((_req, res) => res.end("plain"));
    const off = await startGateway({
      port: 0,
      config: {
        plugin: { wasm: "does-not-matter.wasm", enabled: false },
        routes: [{ name: "r", prefix: "/", upstream: upstream.url }],
      },
    });
    try {
      assert.equal(off.host, null);
      const r = await request(`${off.url}/y`, { method: "POST", body: "data" });
      assert.equal(r.body, "plain");
      assert.equal(upstream.seen[0].body, "data");
    } finally {
      await off.close();
    }
  },
);

test("config: YAML file, ${VAR} expansion, wasm path relative to the file, errors that name the field", async () => {
  const wasm = await passModule();
  const cfgDir = join(dir, "cfg");
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(join(cfgDir, "p.wasm"), new Uint8Array(0));
  const file = join(cfgDir, "gw.yaml");
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: "${PORT:-0}" }',
      "plugin:",
      "  wasm: p.wasm",
      "  name: ai-json-mode",
      "  failStrategy: FAIL_OPEN",
      "  logLevel: debug",
      "  config:",
      "    url: http://deepseek.dns/v1/chat/completions",
      "    apiKey: ${DEEPSEEK_KEY}",
      "    literal: $${NOT_EXPANDED}",
      "    _rules_:",
      "      - { _match_route_: [json-route], model: x }",
      "routes:",
      "  - name: json-route",
      "    prefix: /api/openai",
      "    upstream: http://127.0.0.1:18001",
      "clusters:",
      '  "outbound|443||deepseek.dns": ${DS_URL:-http://127.0.0.1:18002}',
    ].join("\n"),
  );
  const c = loadGatewayConfigFile(file, { DEEPSEEK_KEY: "sk-1" });
  assert.deepEqual(c.listen, { host: "127.0.0.1", port: 0 });
  assert.equal(c.plugin!.wasmCandidates[0], join(cfgDir, "p.wasm"), "relative to the config file's folder first");
  assert.equal(c.plugin!.failStrategy, "open");
  assert.equal(c.plugin!.logLevel, 1);
  assert.deepEqual(JSON.parse(c.plugin!.config), {
    url: "http://deepseek.dns/v1/chat/completions",
    apiKey: "sk-1",
    literal: "${NOT_EXPANDED}",
    _rules_: [{ _match_route_: ["json-route"], model: "x" }],
  });
  assert.equal(c.routes[0].clusterName, "outbound|18001||json-route.static");
  assert.equal(c.routes[0].authority, "127.0.0.1:18001");
  assert.equal(c.clusters.get("outbound|443||deepseek.dns")!.url.href, "http://127.0.0.1:18002/");

  assert.throws(
    () => loadGatewayConfigFile(file, {}),
    /plugin\.config\.apiKey: environment variable DEEPSEEK_KEY is not set/,
  );
  assert.throws(
    () => loadGatewayConfigFile(file, { DEEPSEEK_KEY: "" }),
    /plugin\.config\.apiKey: environment variable DEEPSEEK_KEY is empty/,
  );
  const bad = (cfg: unknown, re: RegExp): void =>
    assert.throws(
      () => resolveGatewayConfig(cfg, { env: {} }),
      (e: Error) => e instanceof GatewayConfigError && re.test(e.message),
    );
  const route = { name: "r", prefix: "/", upstream: "http://127.0.0.1:1" };
  bad({}, /routes: missing/);
  bad(
    { routes: [{ ...route, upstream: "ftp://x" }] },
    /routes\[0\]\.upstream: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/,
  );
  bad({ routes: [{ ...route, prefix: "api" }] }, /routes\[0\]\.prefix: expected a path starting with "\/"/);
  bad({ routes: [route, route] }, /routes\[1\]\.name: duplicate route name "r"/);
  bad({ routes: [{ ...route, plugn: false }] }, /routes\[0\]\.plugn: unknown field/);
  bad({ rotes: [] }, /rotes: unknown field/);
  bad(
    { routes: [route], plugin: { wasm: "x.wasm", failStrategy: "CLOSE" } },
    /plugin\.failStrategy: expected FAIL_CLOSE or FAIL_OPEN, got "CLOSE"/,
  );
  bad({ routes: [route], plugin: { wasm: "x.wasm", logLevel: "loud" } }, /plugin\.logLevel: expected one of trace/);
  bad({ routes: [route], plugin: {} }, /plugin\.wasm: missing/);
  bad({ routes: [route], listen: { port: 70000 } }, /listen\.port: expected a port number/);
  bad({ routes: [route], clusters: { a: { url: "nope" } } }, /clusters\["a"\]\.url: expected an http/);
  await assert.rejects(
    startGateway({
      port: 0,
      config: { plugin: { wasm: join(dir, "missing.wasm") }, routes: [route] } as GatewayConfig,
    }),
    /plugin\.wasm: file not found/,
  );
  // A file the module cannot use is refused with the host's error.
  await assert.rejects(
    startGateway({ port: 0, configFile: file, env: { DEEPSEEK_KEY: "k" } }),
    /Failed to load Wasm module/,
  );
  assert.ok(wasm.endsWith(".wasm"));
});
