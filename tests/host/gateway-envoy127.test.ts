// The local gateway as Higress's Envoy 1.27, with real servers on 127.0.0.1
// and small WAT modules: body frames from HTTP/1.1 and HTTP/2 upstreams
// (END_STREAM where the upstream put it), the buffer limit's 500, the
// stream idle timeout's 504, calls to unknown and unhealthy clusters and
// over HTTP/2, the route matched again after the plugin edits the path,
// what clients see after a trap and the VM re-created for the next new
// stream, and the new fields of the configuration file.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import {
  startGateway,
  resolveGatewayConfig,
  GatewayConfigError,
  type Gateway,
  type GatewayConfig,
  type LogEntry,
} from "../../host/index.ts";
import { parseArgs } from "../../host/cli/args.ts";
import { buildModule, handEncodedPairs } from "../kit/wat.ts";

const dir = mkdtempSync(join(tmpdir(), "host-gateway-envoy127-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function wasmFile(
  name: string,
  body: string,
  strings: Record<string, string | Uint8Array> = {},
): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await buildModule({ strings, body }));
  return path;
}

/** An HTTP/1.1 server writing `pieces` (each after the previous one went out). */
async function h1Upstream(
  pieces: Buffer[],
  headers: Record<string, string> = { "content-type": "text/plain" },
): Promise<string> {
  const server = http.createServer(async (req, res) => {
    req.resume();
    res.writeHead(200, headers);
    for (const p of pieces) await new Promise<void>((ok) => res.write(p, () => ok()));
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An h2c server: one DATA frame per piece; `endWithLast`: the last piece carries END_STREAM, else an empty frame does. */
async function h2Upstream(
  pieces: Buffer[],
  endWithLast: boolean,
  onRequest?: (headers: http2.IncomingHttpHeaders, body: string) => void,
): Promise<string> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    const body: Buffer[] = [];
    stream.on("data", (c: Buffer) => body.push(c));
    stream.on("end", async () => {
      onRequest?.(headers, Buffer.concat(body).toString());
      stream.respond({ ":status": 200, "content-type": "text/plain" });
      for (let i = 0; i < pieces.length; i++) {
        if (endWithLast && i === pieces.length - 1) return void stream.end(pieces[i]);
        await new Promise<void>((ok) => stream.write(pieces[i], () => ok()));
      }
      stream.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  after(() => {
    for (const s of sessions) s.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function gateway(config: GatewayConfig, logs: LogEntry[] = []): Promise<Gateway> {
  const gw = await startGateway({ port: 0, config, onLog: (e) => logs.push(e) });
  after(() => gw.close());
  return gw;
}

const plugin = (logs: LogEntry[]): string[] => logs.filter((l) => l.source === "plugin").map((l) => l.message);

/** Logs each response body callback as "size/eos" and passes everything on. */
function framesModule(): Promise<string> {
  return wasmFile(
    "frames.wasm",
    `
      (func (export "proxy_on_response_body") (param i32) (param $size i32) (param $eos i32) (result i32)
        (call $logn @b (i32.add (i32.mul (local.get $size) (i32.const 10)) (local.get $eos)))
        (i32.const 0))
    `,
    { b: "body " },
  );
}

test(
  "body frames: HTTP/1.1 ends with an empty chunk; HTTP/2 ends with whatever frame carries END_STREAM",
  { timeout: 15000 },
  async () => {
    const wasm = await framesModule();
    const tail = [Buffer.alloc(8192, 97), Buffer.alloc(8192, 98), Buffer.alloc(670, 99)];
    const ones = [Buffer.from("x"), Buffer.from("y"), Buffer.from("z")];
    const cases: [string, string, boolean, string[]][] = [
      ["HTTP/1.1", await h1Upstream(tail), false, ["body 81920", "body 81920", "body 6700", "body 1"]],
      [
        "HTTP/2, END_STREAM on the 670-byte frame",
        await h2Upstream(tail, true),
        true,
        ["body 81920", "body 81920", "body 6701"],
      ],
      [
        "HTTP/2, 1-byte frames then an empty END_STREAM frame",
        await h2Upstream(ones, false),
        true,
        ["body 10", "body 10", "body 10", "body 1"],
      ],
    ];
    for (const [name, url, h2, expected] of cases) {
      const logs: LogEntry[] = [];
      const gw = await gateway(
        { plugin: { wasm, logLevel: "info" }, routes: [{ name: "r", prefix: "/", upstream: { url, http2: h2 } }] },
        logs,
      );
      const r = await get(`${gw.url}/x`);
      assert.equal(r.status, 200, name);
      assert.equal(r.body.length, name.startsWith("HTTP/2, 1-byte") ? 3 : 17054, name);
      assert.deepEqual(plugin(logs), expected, name);
    }
  },
);

test(
  "the buffer limit through the gateway: Envoy's 500 past 32768 buffered bytes; envoy.bufferLimitBytes and ideal change it",
  { timeout: 15000 },
  async () => {
    const wasm = await wasmFile(
      "buffer.wasm",
      `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_body") (param i32) (param i32) (param $eos i32) (result i32) (i32.eqz (local.get $eos)))
    `,
    );
    const url = await h1Upstream(Array.from({ length: 5 }, () => Buffer.alloc(8192, 120)));
    const routes = [{ name: "r", prefix: "/", upstream: url }];
    let gw = await gateway({ plugin: { wasm }, routes });
    let r = await get(`${gw.url}/x`);
    assert.equal(r.status, 500);
    assert.equal(r.body, "Internal Server Error");
    assert.equal(r.headers["content-length"], "21");
    assert.equal(r.headers["content-type"], "text/plain");

    gw = await gateway({ envoy: { bufferLimitBytes: 65536 }, plugin: { wasm }, routes });
    r = await get(`${gw.url}/x`);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 40960);

    gw = await gateway({ envoy: { model: "ideal" }, plugin: { wasm }, routes });
    r = await get(`${gw.url}/x`);
    assert.equal(r.status, 200);
  },
);

const CALL = handEncodedPairs([
  [":method", "POST"],
  [":path", "/v1/chat"],
  [":authority", "api.example.com"],
]);

/** Calls cluster x-cluster (a request header) from the response headers, logs the result; continues on the answer. */
function callerModule(): Promise<string> {
  return wasmFile(
    "caller.wasm",
    `
      (global $stream (mut i32) (i32.const 0))
      (global $waiting (mut i32) (i32.const 0))
      (global $cl (mut i32) (i32.const 0))
      (global $cllen (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_get_header_map_value (i32.const 0) @xc (i32.const 16) (i32.const 20)))
        (global.set $cl (call $out_ptr))
        (global.set $cllen (call $out_len))
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (local $rc i32)
        (global.set $stream (local.get $c))
        (local.set $rc (call $proxy_http_call (global.get $cl) (global.get $cllen) @call @hello (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 24)))
        (call $logn @rc (local.get $rc))
        (global.set $waiting (i32.eqz (local.get $rc)))
        (global.get $waiting))
      (func (export "proxy_on_response_body") (param i32) (param i32) (param $eos i32) (result i32)
        (i32.or (global.get $waiting) (i32.eqz (local.get $eos))))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32) (param $size i32) (param i32)
        (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
        (call $logout @answer)
        (global.set $waiting (i32.const 0))
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
    { xc: "x-cluster", call: CALL, hello: "hello", rc: "call rc ", answer: "answer " },
  );
}

test(
  "calls: unknown cluster BadArgument, healthy: false InternalFailure, HTTP/2 clusters answered; a paused stream times out with 504 stream timeout",
  { timeout: 15000 },
  async () => {
    const wasm = await callerModule();
    const upstream = await h1Upstream([Buffer.from("upstream body")]);
    let seenByH2: { path?: string; authority?: string; body?: string } = {};
    const h2 = await h2Upstream(
      [Buffer.from("from h2")],
      true,
      (h, body) => (seenByH2 = { path: String(h[":path"]), authority: String(h[":authority"]), body }),
    );
    const silent = http.createServer(() => {}); // never answers
    await new Promise<void>((ok) => silent.listen(0, "127.0.0.1", ok));
    after(() => {
      silent.closeAllConnections();
      silent.close();
    });
    const logs: LogEntry[] = [];
    const gw = await gateway(
      {
        envoy: { streamIdleTimeoutMs: 300 },
        plugin: { wasm, logLevel: "info" },
        routes: [{ name: "r", prefix: "/", upstream }],
        clusters: {
          "outbound|443||sick.dns": { url: "http://127.0.0.1:9", healthy: false },
          "outbound|80||h2.dns": { url: h2, http2: true },
          "outbound|80||silent.dns": `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        },
      },
      logs,
    );
    let r = await get(`${gw.url}/x`, { "x-cluster": "outbound|443||nowhere.dns" });
    assert.equal(r.body, "upstream body");
    r = await get(`${gw.url}/x`, { "x-cluster": "outbound|443||sick.dns" });
    assert.equal(r.body, "upstream body");
    r = await get(`${gw.url}/x`, { "x-cluster": "outbound|80||h2.dns" });
    assert.equal(r.body, "upstream body");
    assert.deepEqual(
      seenByH2,
      { path: "/v1/chat", authority: "api.example.com", body: "hello" },
      JSON.stringify(logs.map((l) => l.message)),
    );
    assert.deepEqual(plugin(logs), ["call rc 2", "call rc 10", "call rc 0", "answer from h2"]);

    // The call never answers (its own timeout is 5 s): the stream idle timeout answers first.
    const started = Date.now();
    r = await get(`${gw.url}/x`, { "x-cluster": "outbound|80||silent.dns" });
    assert.equal(r.status, 504);
    assert.equal(r.body, "stream timeout");
    assert.ok(Date.now() - started < 3000);
  },
);

test(
  "route cache: the plugin's :path edit sends the request to the route it now matches, unless clear_route_cache is off",
  { timeout: 15000 },
  async () => {
    const wasm = await wasmFile(
      "reroute.wasm",
      `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @xoff (i32.const 16) (i32.const 20)))
          (then (drop (call $proxy_set_property @crc @off))))
        (drop (call $proxy_replace_header_map_value (i32.const 0) @path @moved))
        (i32.const 0))
    `,
      { xoff: "x-off", crc: "clear_route_cache", off: "off", path: ":path", moved: "/b/moved" },
    );
    const a = await h1Upstream([Buffer.from("from a")]);
    const b = await h1Upstream([Buffer.from("from b")]);
    const gw = await gateway({
      plugin: { wasm },
      routes: [
        { name: "a", prefix: "/a", upstream: a },
        { name: "b", prefix: "/b", upstream: b },
      ],
    });
    assert.equal((await get(`${gw.url}/a/x`)).body, "from b");
    assert.equal((await get(`${gw.url}/a/x`, { "x-off": "1" })).body, "from a");
  },
);

test("config file: envoy section, cluster http2 and healthy, plugin vmRestart fields; errors name the field", () => {
  const c = resolveGatewayConfig({
    envoy: { model: "1.27", bufferLimitBytes: 1024, http2BufferLimitBytes: 2048, streamIdleTimeoutMs: 5000 },
    plugin: { wasm: "x.wasm", vmRestart: false, vmRestartIntervalMs: 250 },
    routes: [{ name: "r", prefix: "/", upstream: { url: "http://127.0.0.1:1", http2: true } }],
    clusters: { c: { url: "http://127.0.0.1:2", healthy: false, http2: true } },
  });
  assert.deepEqual(c.envoy, {
    model: "1.27",
    bufferLimitBytes: 1024,
    http2BufferLimitBytes: 2048,
    streamIdleTimeoutMs: 5000,
  });
  assert.equal(c.routes[0].upstream.http2, true);
  assert.equal(c.clusters.get("c")!.healthy, false);
  assert.equal(c.plugin!.vmRestart, false);
  assert.equal(c.plugin!.vmRestartIntervalMs, 250);
  const defaults = resolveGatewayConfig({ routes: [{ name: "r", prefix: "/", upstream: "http://127.0.0.1:1" }] });
  assert.deepEqual(defaults.envoy, {
    model: "1.27",
    bufferLimitBytes: undefined,
    http2BufferLimitBytes: undefined,
    streamIdleTimeoutMs: undefined,
  });
  assert.equal(defaults.routes[0].upstream.http2, false);

  const route = { name: "r", prefix: "/", upstream: "http://127.0.0.1:1" };
  const bad = (cfg: unknown, re: RegExp) =>
    assert.throws(
      () => resolveGatewayConfig(cfg),
      (e: Error) => e instanceof GatewayConfigError && re.test(e.message),
    );
  bad({ routes: [route], envoy: { model: "1.32" } }, /envoy\.model: expected "1\.27" or ideal, got "1\.32"/);
  bad({ routes: [route], envoy: { bufferLimit: 1 } }, /envoy\.bufferLimit: unknown field/);
  bad(
    { routes: [route], envoy: { streamIdleTimeoutMs: -1 } },
    /envoy\.streamIdleTimeoutMs: expected a non-negative integer/,
  );
  bad(
    { routes: [{ ...route, upstream: { url: "http://x", healthy: false } }] },
    /routes\[0\]\.upstream\.healthy: unknown field/,
  );
  bad(
    { routes: [route], clusters: { c: { url: "http://x", http2: "yes" } } },
    /clusters\["c"\]\.http2: expected true or false/,
  );
  bad(
    { routes: [route], plugin: { wasm: "x.wasm", vmRestartIntervalMs: "soon" } },
    /plugin\.vmRestartIntervalMs: expected a non-negative integer/,
  );
});

test("npm start --stream-idle-timeout overrides the config's envoy.streamIdleTimeoutMs", async () => {
  assert.equal(parseArgs(["--stream-idle-timeout", "500"], {}).streamIdleTimeoutMs, 500);
  assert.equal(parseArgs(["--stream-idle-timeout=0"], {}).streamIdleTimeoutMs, 0);
  assert.equal(parseArgs([], {}).streamIdleTimeoutMs, undefined);
  assert.throws(() => parseArgs(["--stream-idle-timeout", "-1"], {}), /--stream-idle-timeout: expected milliseconds/);
  assert.throws(() => parseArgs(["--stream-idle-timeout", "soon"], {}), /--stream-idle-timeout: expected milliseconds/);
  const upstream = await h1Upstream([Buffer.from("x")]);
  const gw = await startGateway({
    port: 0,
    config: {
      envoy: { streamIdleTimeoutMs: 9000, bufferLimitBytes: 100 },
      routes: [{ name: "r", prefix: "/", upstream }],
    },
    envoy: { streamIdleTimeoutMs: 200 },
  });
  after(() => gw.close());
  assert.deepEqual(gw.config.envoy, {
    model: "1.27",
    bufferLimitBytes: 100,
    http2BufferLimitBytes: undefined,
    streamIdleTimeoutMs: 200,
  });
});

/** A request from an h2c client (HTTP/2 with prior knowledge). */
function h2get(
  base: string,
  path: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base);
    session.on("error", reject);
    const stream = session.request({ ":path": path, ":method": "GET" });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks).toString() });
    });
    stream.on("error", reject);
    stream.end();
  });
}

test(
  "an HTTP/2 client (h2c) on the same port: request.protocol HTTP/2 and the 65535-byte limit of its streams",
  { timeout: 15000 },
  async () => {
    const wasm = await wasmFile(
      "h2client.wasm",
      `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_get_property @proto (i32.const 16) (i32.const 20)))
        (call $logout @got)
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_body") (param i32) (param i32) (param $eos i32) (result i32) (i32.eqz (local.get $eos)))
    `,
      { proto: "request\0protocol", got: "protocol " },
    );
    const upstream = await h1Upstream(Array.from({ length: 5 }, () => Buffer.alloc(8192, 120)));
    const logs: LogEntry[] = [];
    const gw = await gateway(
      { plugin: { wasm, logLevel: "info" }, routes: [{ name: "r", prefix: "/", upstream }] },
      logs,
    );
    const h1 = await get(`${gw.url}/x`);
    assert.equal(h1.status, 500, "an HTTP/1.1 client's stream holds 32768 bytes");
    const h2 = await h2get(gw.url, "/x");
    assert.equal(h2.status, 200, "an HTTP/2 client's stream holds 65535 bytes");
    assert.equal(h2.body.length, 40960);
    assert.equal(h2.headers["content-type"], "text/plain");
    assert.deepEqual(plugin(logs), ["protocol HTTP/1.1", "protocol HTTP/2"]);
  },
);

test(
  "after a trap, through the gateway: the trapping request 503, a held response 503 at its next callback, a paused one's late call answer dropped (504 at the idle timeout); a new VM for the next new stream, at most once per second",
  { timeout: 20000 },
  async () => {
    const wasm = await wasmFile(
      "trap-lifecycle.wasm",
      `
      (global $callCtx (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @trap (i32.const 16) (i32.const 20)))
          (then unreachable))
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 2) @xcall (i32.const 16) (i32.const 20)))
          (then (global.set $callCtx (local.get $c))))
        (drop (call $proxy_add_header_map_value (i32.const 2) @seen @one))
        (i32.const 1))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        (if (i32.eq (local.get $c) (global.get $callCtx))
          (then
            (call $logn @rc (call $proxy_http_call @cluster @call @hello (i32.const 0) (i32.const 0) (i32.const 10000) (i32.const 24)))
            (return (i32.const 1))))
        (i32.const 0))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (call $log @answered)
        (drop (call $proxy_set_effective_context (global.get $callCtx)))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
      {
        trap: "x-trap",
        xcall: "x-call",
        seen: "x-seen",
        one: "1",
        rc: "call rc ",
        cluster: "outbound|80||slow.static",
        call: CALL,
        hello: "hello",
        answered: "call answered",
      },
    );
    const serve = async (handler: http.RequestListener): Promise<string> => {
      const server = http.createServer(handler);
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
      after(() => {
        server.closeAllConnections();
        server.close();
      });
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    let callArrived = false;
    let lateAnswerSent = false;
    const slow = await serve((req, res) => {
      req.resume();
      callArrived = true;
      setTimeout(() => {
        res.end("late");
        lateAnswerSent = true;
      }, 800);
    });
    const upA = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain", "x-call": "1" });
      res.end("A body");
    });
    const upB = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("B1");
      setTimeout(() => res.end("B2"), 700);
    });
    const upOk = await serve((req, res) => {
      req.resume();
      res.end("ok");
    });
    const logs: LogEntry[] = [];
    const gw = await gateway(
      {
        envoy: { streamIdleTimeoutMs: 1500 },
        plugin: { wasm, logLevel: "info" },
        routes: [
          { name: "a", prefix: "/a", upstream: upA },
          { name: "b", prefix: "/b", upstream: upB },
          { name: "ok", prefix: "/ok", upstream: upOk },
        ],
        clusters: { "outbound|80||slow.static": slow },
      },
      logs,
    );
    const host = gw.host!;
    const t0 = Date.now();
    const pA = get(`${gw.url}/a`); // paused on a call answered after 800 ms
    while (!callArrived) await sleep(5);
    const pB = get(`${gw.url}/b`).then((r) => ({ ...r, ms: Date.now() - t0 })); // headers held, next chunk at 700 ms
    await sleep(150);

    const c = await get(`${gw.url}/ok`, { "x-trap": "1" });
    assert.equal(c.status, 503, "the trapping request");
    assert.equal(c.body, "");
    assert.equal(c.headers["content-length"], "0");
    assert.equal(host.failed, true);
    assert.equal(host.pendingCalls().length, 0, "the failed VM's call is dropped");

    const recreated = Date.now();
    const d = await get(`${gw.url}/ok`);
    assert.equal(d.status, 200, "the next new stream re-creates the VM");
    assert.equal(d.headers["x-seen"], "1");
    assert.equal(host.generation, 2);

    const e = await get(`${gw.url}/ok`, { "x-trap": "1" });
    assert.equal(e.status, 503);
    const f = await get(`${gw.url}/ok`);
    assert.equal(f.status, 503, "within a second of the last re-creation: fail closed, the module is not called");
    assert.equal(f.body, "");
    assert.equal(host.generation, 2);

    const b = await pB;
    assert.equal(b.status, 503, "a held response of the old VM fails at its next callback");
    assert.equal(b.body, "");
    assert.ok(b.ms >= 650, `B failed at ${b.ms} ms: when its next chunk arrived, not at the trap`);

    const a = await pA;
    assert.equal(a.status, 504, "the paused response's call answer is dropped: the idle timeout ends it");
    assert.equal(a.body, "stream timeout");
    assert.equal(lateAnswerSent, true);
    assert.equal(
      plugin(logs).some((m) => m === "call answered"),
      false,
      "the late answer never reached the module",
    );

    await sleep(Math.max(0, 1050 - (Date.now() - recreated)));
    const g = await get(`${gw.url}/ok`);
    assert.equal(g.status, 200, "a second later, the next new stream gets a new VM");
    assert.equal(g.headers["x-seen"], "1");
    assert.equal(host.generation, 3);
    assert.equal(
      logs.filter(
        (l) =>
          l.source === "host" && /proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/.test(l.message),
      ).length,
      2,
      "one critical line per trap",
    );
  },
);
