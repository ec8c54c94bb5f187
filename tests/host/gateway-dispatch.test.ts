// The local gateway with small WAT modules that make requests Node refuses to
// send (a header value with a line feed, a header name with a blank, a path
// with a blank) and that copy header bytes around: a call that cannot be sent
// fails at once with Envoy's 503 answer and the paused stream goes on (never a
// hang); a request the plugin made unsendable gets the router's 503; header
// names and values travel byte for byte, invalid UTF-8 included, between the
// client, the plugin, the upstream, and the plugin's own calls.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { loadHost, startGateway, type LogEntry } from "../../host/index.ts";
import { REFUSED_BODY } from "../../host/host.ts";
import { buildModule, calloutModule as calloutBytes, handEncodedPairs } from "../kit/wat.ts";
import { headerValues, rawRequest, rawRequestBytes, rawResponse, rawServer } from "../kit/raw-http.ts";

const dir = mkdtempSync(join(tmpdir(), "host-gateway-dispatch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const CLUSTER = "outbound|443||deepseek.dns";

async function writeWasm(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A real server on 127.0.0.1:0; closed after the file's tests. */
async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A GET with a timeout: a hang is a failed test, not a stuck one. */
function get(
  url: string,
  timeoutMs = 5000,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`client timeout after ${timeoutMs} ms: the gateway hung`)));
    req.on("error", reject);
  });
}

const ORIGINAL = "the original answer";

test(
  "a call Node refuses to send fails at once with Envoy's 503 answer; the paused response goes on with its original bytes",
  { timeout: 30000 },
  async () => {
    const chat = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(ORIGINAL.length) });
      res.end(ORIGINAL);
    });
    let clusterHits = 0;
    const clusterUrl = await serve((_req, res) => {
      clusterHits++;
      res.end('{"never":"used"}');
    });
    const base: [string, string][] = [
      [":method", "POST"],
      [":path", "/v1/chat/completions"],
      [":authority", "api.deepseek.com"],
      ["content-type", "application/json"],
    ];
    const cases: Array<{ name: string; headers: [string, string][]; http2?: boolean; reason: RegExp }> = [
      {
        name: "a header value ending in a line feed",
        headers: [...base, ["authorization", "Bearer sk-e2e-secret-value\n"]],
        reason: /Invalid character in header content \["authorization"\]/,
      },
      {
        name: "a header name with a blank",
        headers: [...base, ["bad name", "x"]],
        reason: /HTTP token \["bad name"\]/,
      },
      {
        name: "a path with a blank",
        headers: [[":method", "POST"], [":path", "/v1/chat completions"], ...base.slice(2)],
        reason: /unescaped characters/,
      },
      {
        name: "a header value with a NUL byte",
        headers: [...base, ["authorization", "Bearer sk-e2e\0secret"]],
        reason: /Invalid character in header content \["authorization"\]/,
      },
      {
        name: "a header value ending in a line feed, to an HTTP/2 cluster",
        headers: [...base, ["authorization", "Bearer sk-e2e-secret-value\n"]],
        http2: true,
        reason: /Protocol error/, // nghttp2 refuses to submit it: the stream fails before its headers
      },
    ];
    for (const c of cases) {
      const wasm = await writeWasm(`callout-${cases.indexOf(c)}.wasm`, await calloutBytes(handEncodedPairs(c.headers)));
      const logs: LogEntry[] = [];
      const gw = await startGateway({
        port: 0,
        onLog: (e) => logs.push(e),
        config: {
          plugin: { wasm, name: "callout" },
          routes: [{ name: "chat", prefix: "/", upstream: chat }],
          clusters: { [CLUSTER]: c.http2 ? { url: clusterUrl, http2: true } : clusterUrl },
        },
      });
      try {
        // The call's own timeout is long: only an answer given at once passes.
        (gw.host!.exports.timeout as WebAssembly.Global).value = 60000;
        const started = Date.now();
        const r = await get(`${gw.url}/v1`);
        const plugin = logs.filter((l) => l.source === "plugin").map((l) => l.message);
        assert.equal(r.status, 200, c.name);
        assert.equal(r.body, ORIGINAL, `${c.name}: the client gets the original body`);
        assert.equal(r.headers["x-mode"], undefined, c.name);
        assert.ok(plugin.includes("call rc 0"), `${c.name}: dispatched: ${plugin.join(" | ")}`);
        assert.ok(plugin.includes("call status 503"), `${c.name}: ${plugin.join(" | ")}`);
        assert.ok(Date.now() - started < 3000, `${c.name}: answered in ${Date.now() - started} ms`);
        const failed = logs.filter((l) => l.source === "gateway" && /http call \d+ to .* failed/.test(l.message));
        assert.equal(failed.length, 1, `${c.name}: ${logs.map((l) => l.message).join(" | ")}`);
        assert.match(failed[0].message, c.reason, c.name);
        for (const l of logs)
          assert.ok(!l.message.includes("secret"), `${c.name}: a log line holds the value: ${l.message}`);
        assert.equal(gw.host!.pendingCalls().length, 0);
        assert.equal(gw.host!.liveContexts(), 0);
      } finally {
        await gw.close();
      }
    }
    assert.equal(clusterHits, 0, "nothing reached the cluster");
  },
);

test(
  "a request the plugin made unsendable (a header value with a line feed) gets the router's 503 at once",
  { timeout: 15000 },
  async () => {
    let upstreamHits = 0;
    const upstream = await serve((_req, res) => {
      upstreamHits++;
      res.end("upstream");
    });
    const wasm = await writeWasm(
      "bad-request-header.wasm",
      await buildModule({
        strings: { key: "x-bad", value: "a\nb", status: ":status", seen: "response status " },
        body: `
          (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
            (drop (call $proxy_add_header_map_value (i32.const 0) @key @value))
            (i32.const 0))
          (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
            (drop (call $proxy_get_header_map_value (i32.const 2) @status (i32.const 16) (i32.const 20)))
            (call $logout @seen)
            (i32.const 0))
        `,
      }),
    );
    const logs: LogEntry[] = [];
    const gw = await startGateway({
      port: 0,
      onLog: (e) => logs.push(e),
      config: { plugin: { wasm }, routes: [{ name: "r", prefix: "/", upstream }] },
    });
    try {
      const r = await get(`${gw.url}/x`);
      assert.equal(r.status, 503);
      assert.equal(r.body, REFUSED_BODY);
      assert.equal(upstreamHits, 0);
      const lines = logs.map((l) => `${l.source}: ${l.message}`);
      assert.ok(lines.includes("plugin: response status 503"), "the 503 goes through the response phase");
      assert.ok(
        lines.some((l) =>
          /^gateway: .*cannot send the request: Invalid character in header content \["x-bad"\]/.test(l),
        ),
        lines.join(" | "),
      );
      // The gateway still serves.
      const again = await get(`${gw.url}/y`);
      assert.equal(again.status, 503);
      assert.equal(gw.host!.liveContexts(), 0);
    } finally {
      await gw.close();
    }
  },
);

test(
  "header bytes travel unchanged: client -> plugin -> upstream, upstream -> plugin -> client, and the plugin's call both ways",
  { timeout: 15000 },
  async () => {
    const BAD = Buffer.from([0xff, 0xfe]); // not UTF-8
    const UTF8 = Buffer.from("é", "utf8"); // C3 A9
    const LATIN1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1
    const MIXED = Buffer.concat([BAD, UTF8, LATIN1, Buffer.from([0xef, 0xbb, 0xbf, 0xed, 0xa0, 0x80])]);
    const upstream = await rawServer(
      rawResponse(
        "200 OK",
        [
          ["content-type", "text/plain"],
          ["x-bad", BAD],
          ["x-utf8", UTF8],
          ["x-latin1", LATIN1],
        ],
        ORIGINAL,
      ),
    );
    const cluster = await rawServer(rawResponse("200 OK", [["x-answer", MIXED]], "{}"));
    const wasm = await writeWasm(
      "copy.wasm",
      await buildModule({
        strings: {
          in_key: "x-in",
          in_copy: "x-in-copy",
          bad_key: "x-bad",
          copy_key: "x-copy",
          answer_key: "x-answer",
          answer_copy: "x-answer-copy",
          cluster: CLUSTER,
          call_headers: handEncodedPairs([
            [":method", "GET"],
            [":path", "/call"],
            [":authority", "cluster.local"],
            ["x-call", MIXED],
          ]),
          call_rc: "call rc ",
        },
        body: `
          (global $stream (mut i32) (i32.const 0))
          (global $waiting (mut i32) (i32.const 0))
          (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
            (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @in_key (i32.const 16) (i32.const 20)))
              (then (drop (call $proxy_add_header_map_value (i32.const 0) @in_copy (call $out_ptr) (call $out_len)))))
            (i32.const 0))
          (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
            (if (i32.eqz (call $proxy_get_header_map_value (i32.const 2) @bad_key (i32.const 16) (i32.const 20)))
              (then (drop (call $proxy_add_header_map_value (i32.const 2) @copy_key (call $out_ptr) (call $out_len)))))
            (call $logn @call_rc
              (call $proxy_http_call @cluster @call_headers (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                (i32.const 5000) (i32.const 24)))
            (global.set $stream (local.get $c))
            (global.set $waiting (i32.const 1))
            (i32.const 1))
          ;; the headers stay held until the call's answer
          (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
            (global.get $waiting))
          (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
            (global.set $waiting (i32.const 0))
            (drop (call $proxy_set_effective_context (global.get $stream)))
            (if (i32.eqz (call $proxy_get_header_map_value (i32.const 6) @answer_key (i32.const 16) (i32.const 20)))
              (then (drop (call $proxy_add_header_map_value (i32.const 2) @answer_copy (call $out_ptr) (call $out_len)))))
            (drop (call $proxy_continue_stream (i32.const 1))))
        `,
      }),
    );
    const logs: LogEntry[] = [];
    const gw = await startGateway({
      port: 0,
      onLog: (e) => logs.push(e),
      config: {
        plugin: { wasm },
        routes: [{ name: "r", prefix: "/", upstream: upstream.url }],
        clusters: { [CLUSTER]: cluster.url },
      },
    });
    try {
      const r = await rawRequest(
        gw.port,
        rawRequestBytes("GET", "/x", [
          ["host", "gw"],
          ["x-in", MIXED],
        ]),
      );
      assert.match(r.head.toString("latin1"), /^HTTP\/1\.1 200 /);
      assert.equal(r.body.toString(), ORIGINAL);
      const one = (name: string): Buffer => {
        const v = headerValues(r.head, name);
        assert.equal(v.length, 1, `one ${name} line in ${JSON.stringify(r.head.toString("latin1"))}`);
        return v[0];
      };
      assert.deepEqual(one("x-bad"), BAD, "invalid UTF-8 from the upstream");
      assert.deepEqual(one("x-utf8"), UTF8, "UTF-8 from the upstream, not encoded again");
      assert.deepEqual(one("x-latin1"), LATIN1, "a latin1 byte from the upstream");
      assert.deepEqual(one("x-copy"), BAD, "the plugin read the upstream's bytes and wrote them back");
      assert.deepEqual(one("x-answer-copy"), MIXED, "the plugin read its call answer's bytes");

      assert.equal(upstream.seen.length, 1);
      assert.deepEqual(headerValues(upstream.seen[0].head, "x-in"), [MIXED], "the client's bytes reach the upstream");
      assert.deepEqual(headerValues(upstream.seen[0].head, "x-in-copy"), [MIXED], "as the plugin read them");
      assert.equal(cluster.seen.length, 1);
      assert.deepEqual(headerValues(cluster.seen[0].head, "x-call"), [MIXED], "the call carries the plugin's bytes");
      assert.ok(logs.some((l) => l.message === "call rc 0"));
    } finally {
      await gw.close();
    }
  },
);

test("a throwing onHttpCall hook fails the call at once with InternalFailure; nothing stays pending", async () => {
  const host = await loadHost(
    await buildModule({
      strings: {
        cluster: CLUSTER,
        call_headers: handEncodedPairs([
          [":method", "GET"],
          [":path", "/"],
          [":authority", "a"],
        ]),
        call_rc: "call rc ",
      },
      body: `
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (call $logn @call_rc
            (call $proxy_http_call @cluster @call_headers (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
              (i32.const 1000) (i32.const 24)))
          (i32.const 0))
      `,
    }),
    {
      onHttpCall: () => {
        throw new Error("cannot dispatch");
      },
    },
  );
  try {
    const s = host.stream();
    s.requestHeaders({ ":path": "/", ":method": "GET", ":authority": "x" }, true);
    assert.ok(
      s.logs.some((l) => l.message === "call rc 10"),
      s.logs.map((l) => l.message).join(" | "),
    );
    assert.equal(host.pendingCalls().length, 0);
    assert.ok(host.logs.some((l) => /onHttpCall hook failed: cannot dispatch/.test(l.message)));
  } finally {
    host.close();
  }
});
