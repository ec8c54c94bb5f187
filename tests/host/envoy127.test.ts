// Higress's Envoy 1.27 as the host plays it, checked with small WAT modules:
// the per-stream buffer limit (500 / 413) and the properties that raise it,
// buffered bodies read later from a call answer, the stream idle timeout,
// call dispatch to unknown and unhealthy clusters, traps (a stream fails at
// its next callback, late answers are dropped, the VM is re-created for the
// next new stream at most once per interval), the route cache, and trailers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import {
  loadHost,
  HIGRESS_DEFAULTS,
  FAIL_STREAM_DETAILS,
  WasmResult,
  type HostOptions,
  type HttpStream,
  type ProxyWasmHost,
} from "../../host/index.ts";
import { buildModule, handEncodedPairs, messages } from "../kit/wat.ts";

const CLUSTER = "outbound|443||deepseek.dns";

/**
 * A module whose answers are set through exported globals:
 * request: $reqHold (headers), $reqMode (body before the end), $reqFinal (body at the end);
 * response: $hold (headers), $mode (body before the end), $final (body at the end);
 * $replace > 0: at the end of the response, replace the body with that many "x" first.
 * Request headers x-limit / x-dlimit set set_encoder_buffer_limit / set_decoder_buffer_limit.
 */
function limitsModule(): Promise<Uint8Array> {
  return buildModule({
    strings: {
      xlimit: "x-limit",
      xdlimit: "x-dlimit",
      enc: "set_encoder_buffer_limit",
      dec: "set_decoder_buffer_limit",
      st: ":status",
      seen: "response headers :status ",
      size: "size ",
      rsize: "request size ",
      rc: "set rc ",
    },
    body: `
      (global $reqHold (export "reqHold") (mut i32) (i32.const 0))
      (global $reqMode (export "reqMode") (mut i32) (i32.const 0))
      (global $reqFinal (export "reqFinal") (mut i32) (i32.const 0))
      (global $hold (export "hold") (mut i32) (i32.const 1))
      (global $mode (export "mode") (mut i32) (i32.const 1))
      (global $final (export "final") (mut i32) (i32.const 0))
      (global $replace (export "replace") (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @xlimit (i32.const 16) (i32.const 20)))
          (then (drop (call $proxy_set_property @enc (call $out_ptr) (call $out_len)))))
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @xdlimit (i32.const 16) (i32.const 20)))
          (then (drop (call $proxy_set_property @dec (call $out_ptr) (call $out_len)))))
        (global.get $reqHold))
      (func (export "proxy_on_request_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (call $logn @rsize (local.get $size))
        (if (local.get $eos) (then (return (global.get $reqFinal))))
        (global.get $reqMode))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_get_header_map_value (i32.const 2) @st (i32.const 16) (i32.const 20)))
        (call $logout @seen)
        (global.get $hold))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (local $p i32)
        (call $logn @size (local.get $size))
        (if (i32.eqz (local.get $eos)) (then (return (global.get $mode))))
        (if (global.get $replace) (then
          (local.set $p (call $alloc (global.get $replace)))
          (memory.fill (local.get $p) (i32.const 120) (global.get $replace))
          (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (local.get $size) (local.get $p) (global.get $replace)))))
        (global.get $final))
    `,
  });
}

async function limitsHost(
  opts: HostOptions = {},
): Promise<{ host: ProxyWasmHost; g: Record<string, WebAssembly.Global> }> {
  const host = await loadHost(await limitsModule(), opts);
  return { host, g: host.exports as Record<string, WebAssembly.Global> };
}

const frames = (n: number, size: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => new Uint8Array(size).fill(97 + (i % 26)));

function openResponse(host: ProxyWasmHost, reqHeaders: Record<string, string> = {}, protocol?: string): HttpStream {
  return host
    .stream({ protocol })
    .requestHeaders({ ":path": "/", ...reqHeaders }, true)
    .responseHeaders({ ":status": "200", "content-type": "application/json" });
}

// ---------------------------------------------------------------------------
// Buffer limit

test("Higress defaults: 32768-byte buffer limit (65535 for HTTP/2 clients), 180 s idle timeout, 1 s between VM re-creations", async () => {
  assert.deepEqual(HIGRESS_DEFAULTS, {
    bufferLimitBytes: 32768,
    http2BufferLimitBytes: 65535,
    streamIdleTimeoutMs: 180000,
    vmRestartIntervalMs: 1000,
  });
  const { host } = await limitsHost();
  assert.equal(host.stream().bufferLimit, 32768);
  assert.equal(host.stream({ protocol: "HTTP/1.1" }).bufferLimit, 32768);
  assert.equal(host.stream({ protocol: "HTTP/2" }).bufferLimit, 65535);
  const { host: ideal } = await limitsHost({ envoy: "ideal", bufferLimitBytes: 10 });
  assert.equal(ideal.stream().bufferLimit, 10, "the limit is kept, only not applied");
});

test("buffer limit: a buffered response body over 32768 bytes gets Envoy's 500, straight to the client", async () => {
  const { host } = await limitsHost();
  const s = openResponse(host);
  // 4 x 8192 = 32768: at the limit, still fine.
  for (const f of frames(4, 8192)) s.responseBody(f);
  assert.equal(s.status, undefined);
  s.responseBody(new Uint8Array(1), false);
  assert.equal(s.status, 500);
  assert.equal(s.bodyText, "Internal Server Error");
  assert.deepEqual(s.headers, [
    [":status", "500"],
    ["content-length", "21"],
    ["content-type", "text/plain"],
  ]);
  assert.equal(s.localResponse?.details, "response_payload_too_large");
  assert.equal(s.complete, true);
  s.responseBody(new Uint8Array(100), true); // ignored, as Envoy ignores it
  assert.deepEqual(messages(s.logs), [
    "response headers :status 200",
    "size 8192",
    "size 8192",
    "size 16384",
    "size 24576",
    "size 32768",
  ]);
  assert.ok(
    host.logs.some(
      (l) =>
        l.source === "host" &&
        /response data too large: 32769 bytes buffered, over the buffer limit of 32768/.test(l.message),
    ),
  );
  s.done();
  assert.equal(host.liveContexts(), 0);
});

test("buffer limit: an HTTP/2 client's stream holds 65535; ideal mode has no limit", async () => {
  const { host } = await limitsHost();
  let s = openResponse(host, {}, "HTTP/2").responseFrames(frames(9, 8192), "http2");
  assert.equal(s.status, 500, "65536 bytes buffered: one over the limit");
  s = openResponse(host, {}, "HTTP/2").responseFrames(frames(5, 8192), "http2");
  assert.equal(s.status, 200);
  assert.equal(s.body.length, 40960);

  const { host: ideal } = await limitsHost({ envoy: "ideal" });
  s = openResponse(ideal).responseFrames(frames(64, 8192), "http1");
  assert.equal(s.status, 200);
  assert.equal(s.body.length, 64 * 8192);
});

test("buffer limit: StopIterationAndWatermark and StopIterationNoBuffer never get the 500", async () => {
  const { host, g } = await limitsHost();
  g.mode.value = 2; // watermark: Envoy only applies back-pressure past the limit
  let s = openResponse(host).responseFrames(frames(8, 8192), "http1");
  assert.equal(s.status, 200);
  assert.equal(s.body.length, 65536);

  // NoBuffer, then a large replacement written into the last (empty) chunk and Continue.
  g.mode.value = 3;
  g.replace.value = 50_000;
  s = openResponse(host).responseFrames(frames(8, 8192), "http1");
  assert.equal(s.status, 200);
  assert.equal(s.body.length, 50_000);
});

test("buffer limit: a replacement over the limit trips at once; one under it trips when the last HTTP/2 frame joins it", async () => {
  const { host, g } = await limitsHost();
  g.replace.value = 40_000;
  let s = openResponse(host).responseFrames(frames(2, 1000), "http1");
  assert.equal(s.status, 500, "the write itself goes over the limit");
  assert.equal(s.bodyText, "Internal Server Error");
  assert.ok(messages(s.logs).includes("set rc 0"));

  g.replace.value = 30_000;
  s = openResponse(host).responseFrames(frames(2, 1000), "http1");
  assert.equal(s.status, 200, "HTTP/1: the end is an empty chunk, 30000 bytes fit");
  assert.equal(s.body.length, 30_000);

  s = openResponse(host).responseFrames([...frames(2, 1000), new Uint8Array(5000)], "http2");
  assert.equal(s.status, 500, "HTTP/2: the 5000-byte last frame joins the 30000-byte replacement after the callback");
});

test("buffer limit: past it after the response headers went out, Envoy resets the stream", async () => {
  const { host, g } = await limitsHost();
  g.hold.value = 0;
  const s = openResponse(host);
  assert.equal(s.status, 200);
  s.responseFrames(frames(5, 8192), "http1");
  assert.equal(s.reset, true);
  assert.match(s.resetReason!, /response_payload_too_large/);
});

test("set_encoder_buffer_limit / set_decoder_buffer_limit: decimal bytes parsed as std::stoul, one limit per stream", async () => {
  const { host } = await limitsHost();
  const limitAfter = (headers: Record<string, string>): number =>
    host.stream().requestHeaders({ ":path": "/", ...headers }, true).bufferLimit;
  assert.equal(limitAfter({ "x-limit": "1048576" }), 1048576);
  assert.equal(
    limitAfter({ "x-limit": " 70000abc" }),
    70000,
    "leading space skipped, parsing stops at the first non-digit",
  );
  assert.equal(limitAfter({ "x-limit": "+5" }), 5);
  assert.equal(limitAfter({ "x-limit": "0" }), 0, "0 removes the limit");
  assert.equal(limitAfter({ "x-limit": "-1" }), 32768, "a negative value wraps past 32 bits: refused");
  assert.equal(limitAfter({ "x-limit": "abc" }), 32768, "no digits: refused");
  assert.equal(limitAfter({ "x-limit": "4294967296" }), 32768, "over 32 bits: refused");
  assert.equal(limitAfter({ "x-limit": "4294967295" }), 4294967295);
  assert.equal(limitAfter({ "x-dlimit": "65536" }), 65536, "the decoder limit is the same limit");

  // Raised, a 1 MiB buffered response goes through.
  const s = openResponse(host, { "x-limit": "2000000" }).responseFrames(frames(128, 8192), "http1");
  assert.equal(s.status, 200);
  assert.equal(s.body.length, 1 << 20);
});

test("buffer limit, request: a buffered request body over the limit gets 413 through the filter chain", async () => {
  const { host, g } = await limitsHost();
  g.reqHold.value = 1;
  g.reqMode.value = 1;
  g.hold.value = 0;
  const s = host.stream().requestHeaders({ ":method": "POST", ":path": "/" });
  for (const f of frames(5, 8192)) s.requestBody(f);
  assert.equal(s.status, 413);
  assert.equal(s.bodyText, "Payload Too Large");
  assert.equal(s.localResponse?.details, "request_payload_too_large");
  assert.equal(s.request.headers.length, 0, "nothing went upstream");
  assert.ok(messages(s.logs).includes("response headers :status 413"), "the module's response callbacks see the 413");
});

// ---------------------------------------------------------------------------
// Buffered bodies read later

test("after StopIterationAndBuffer at the end, a call answer reads and replaces the whole body (HTTP/2 too); after NoBuffer the body is gone", async () => {
  const wasm = await buildModule({
    strings: {
      known: CLUSTER,
      hdrs: handEncodedPairs([
        [":method", "POST"],
        [":path", "/"],
        [":authority", "x"],
      ]),
      got: "answer reads ",
      rc: "answer set rc ",
      neu: "CONVERTED",
    },
    body: `
      (global $stream (mut i32) (i32.const 0))
      (global $atEnd (export "atEnd") (mut i32) (i32.const 1))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (global.set $stream (local.get $c))
        (i32.const 1))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        (drop (call $proxy_http_call @known @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 24)))
        (global.get $atEnd))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 0) (i32.const 1000) (i32.const 16) (i32.const 20)))
        (call $logout @got)
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (i32.const 1000) @neu))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
  });
  const host = await loadHost(wasm, { clusters: [CLUSTER] });
  const g = host.exports as Record<string, WebAssembly.Global>;
  for (const protocol of ["http1", "http2"] as const) {
    const s = openResponse(host).responseFrames(["ab", "cd", "ef"], protocol);
    host.answer(host.pendingCalls()[0], 200);
    assert.deepEqual(messages(s.logs), ["answer reads abcdef", "answer set rc 0"], protocol);
    assert.equal(s.bodyText, "CONVERTED");
  }
  // StopIterationNoBuffer at the end: the buffer refers to the last chunk, which Envoy no longer holds.
  g.atEnd.value = 3;
  const s = openResponse(host).responseFrames(["ab", "cd", "ef"], "http2");
  host.answer(host.pendingCalls()[0], 200);
  assert.deepEqual(messages(s.logs), ["answer reads ", "answer set rc 0"]);
  assert.equal(s.bodyText, "abcd", "what was buffered goes out; the write is lost");
  assert.ok(host.logs.some((l) => l.source === "host" && /the write is lost/.test(l.message)));
});

// ---------------------------------------------------------------------------
// Stream idle timeout

function idleModule(): Promise<Uint8Array> {
  return buildModule({
    strings: { st: ":status", seen: "response headers :status " },
    body: `
      (global $reqHold (export "reqHold") (mut i32) (i32.const 0))
      (global $hold (export "hold") (mut i32) (i32.const 1))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (global.get $reqHold))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_get_header_map_value (i32.const 2) @st (i32.const 16) (i32.const 20)))
        (call $logout @seen)
        (global.get $hold))
      (func (export "proxy_on_response_body") (param i32) (param i32) (param $eos i32) (result i32) (i32.eqz (local.get $eos)))
    `,
  });
}

test("stream idle timeout: a paused response is answered 504 stream timeout, straight to the client", async () => {
  const host = await loadHost(await idleModule(), { streamIdleTimeoutMs: 60 });
  const s = openResponse(host).responseBody("{"); // buffered, held: the module waits
  const local: string[] = [];
  s.on("local-response", (lr) => local.push(lr.details));
  await sleep(120);
  assert.equal(s.status, 504);
  assert.equal(s.bodyText, "stream timeout");
  assert.deepEqual(s.headers, [
    [":status", "504"],
    ["content-length", "14"],
    ["content-type", "text/plain"],
  ]);
  assert.equal(s.localResponse?.details, "stream_idle_timeout");
  assert.deepEqual(local, ["stream_idle_timeout"]);
  assert.deepEqual(messages(s.logs), ["response headers :status 200"], "the module does not see the reply");
});

test("stream idle timeout: 408 through the filter chain while the request is incomplete; activity re-arms it; a started response is reset", async () => {
  const host = await loadHost(await idleModule(), { streamIdleTimeoutMs: 80 });
  const g = host.exports as Record<string, WebAssembly.Global>;
  g.reqHold.value = 1;
  g.hold.value = 0;
  const s = host.stream().requestHeaders({ ":method": "POST", ":path": "/" });
  for (let i = 0; i < 4; i++) {
    await sleep(30);
    s.requestBody("x");
  }
  assert.equal(s.status, undefined, "activity every 30 ms keeps it alive");
  await sleep(140);
  assert.equal(s.status, 408);
  assert.equal(s.bodyText, "stream timeout");
  assert.ok(messages(s.logs).includes("response headers :status 408"), "the module's response callbacks see it");

  g.reqHold.value = 0;
  const t = openResponse(host).responseBody("partial");
  assert.equal(t.status, 200);
  await sleep(140);
  assert.equal(t.reset, true);
  assert.equal(t.resetReason, "stream_idle_timeout");

  const none = await loadHost(await idleModule(), { streamIdleTimeoutMs: 0 });
  const u = openResponse(none).responseBody("{");
  await sleep(100);
  assert.equal(u.status, undefined, "0 turns it off");

  const closing = await loadHost(await idleModule(), { streamIdleTimeoutMs: 50 });
  const v = openResponse(closing).responseBody("{");
  closing.close();
  await sleep(100);
  assert.equal(v.status, undefined, "close() stops the timers");
});

// ---------------------------------------------------------------------------
// Call dispatch

test("proxy_http_call: an unknown cluster is BadArgument; a known one without a healthy endpoint is InternalFailure at once", async () => {
  const wasm = await buildModule({
    strings: {
      known: CLUSTER,
      sick: "outbound|443||sick.dns",
      other: "outbound|80||nowhere.dns",
      hdrs: handEncodedPairs([
        [":method", "GET"],
        [":path", "/"],
        [":authority", "x"],
      ]),
      rc: "rc ",
      tok: "token ",
    },
    body: `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (i32.store (i32.const 24) (i32.const 77))
        (call $logn @rc (call $proxy_http_call @other @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 24)))
        (call $logn @rc (call $proxy_http_call @sick @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 24)))
        (call $logn @tok (i32.load (i32.const 24)))
        (call $logn @rc (call $proxy_http_call @known @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 24)))
        (call $logn @tok (i32.load (i32.const 24)))
        (i32.const 0))
    `,
  });
  const dispatched: string[] = [];
  const host = await loadHost(wasm, {
    clusters: [CLUSTER, "outbound|443||sick.dns"],
    unhealthyClusters: ["outbound|443||sick.dns"],
    onHttpCall: (c) => dispatched.push(c.cluster),
  });
  const s = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.deepEqual(messages(s.logs), [
    `rc ${WasmResult.BadArgument}`,
    `rc ${WasmResult.InternalFailure}`,
    "token 0",
    "rc 0",
    "token 1",
  ]);
  assert.deepEqual(dispatched, [CLUSTER], "only the healthy cluster's call goes out");
  assert.equal(host.pendingCalls().length, 1);
});

// ---------------------------------------------------------------------------
// Traps and VM re-creation

function trapModule(): Promise<Uint8Array> {
  return buildModule({
    strings: {
      trap: "x-trap",
      hold: "x-hold",
      call: "x-call",
      known: CLUSTER,
      hdrs: handEncodedPairs([
        [":method", "GET"],
        [":path", "/"],
        [":authority", "x"],
      ]),
      start: "vm start",
      conf: "configure",
      req: "request headers",
      answer: "answer",
    },
    body: `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (call $log @start) (i32.const 1))
      (func (export "proxy_on_configure") (param i32 i32) (result i32) (call $log @conf) (i32.const 1))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $log @req)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @trap (i32.const 16) (i32.const 20)))
          (then unreachable))
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 2) @call (i32.const 16) (i32.const 20)))
          (then
            (global.set $stream (local.get $c))
            (drop (call $proxy_http_call @known @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 24)))))
        (i32.eqz (call $proxy_get_header_map_value (i32.const 2) @hold (i32.const 16) (i32.const 20))))
      (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (call $log @answer)
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
  });
}

test("a trap, fail closed: the trapping stream gets 503 (no body) at once, the others at their next callback; late answers are dropped; the next stream gets a new VM", async () => {
  const host = await loadHost(await trapModule(), { clusters: [CLUSTER], config: "{}" });
  const held = host
    .stream()
    .requestHeaders({ ":path": "/held" }, true)
    .responseHeaders({ ":status": "200", "x-hold": "1" });
  const waiting = host
    .stream()
    .requestHeaders({ ":path": "/waiting" }, true)
    .responseHeaders({ ":status": "200", "x-call": "1", "x-hold": "1" });
  const [call] = host.pendingCalls();
  assert.ok(call);

  const bad = host.stream().requestHeaders({ ":path": "/boom", "x-trap": "1" }, true);
  assert.equal(host.failed, true);
  assert.match(host.failure!.message, /unreachable/);
  assert.ok(
    host.logs.some(
      (l) =>
        l.source === "host" &&
        /Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/.test(l.message),
    ),
  );
  assert.equal(bad.status, 503);
  assert.equal(bad.bodyText, "");
  assert.deepEqual(bad.headers, [[":status", "503"]]);
  assert.equal(bad.localResponse?.details, FAIL_STREAM_DETAILS);
  assert.equal(bad.localResponse?.grpcStatus, 14);
  assert.equal(bad.request.headers.length, 0, "the failing request never went upstream");

  assert.equal(held.status, undefined, "a stream that is not in a callback is not failed yet");
  assert.equal(host.pendingCalls().length, 0, "calls of the failed VM are dropped");
  host.answer(call, 200, {}, "late");
  assert.equal(waiting.status, undefined, "the late answer is dropped: nothing resumes");
  assert.equal(waiting.resumed, 0);

  held.responseBody("rest", true);
  assert.equal(held.status, 503, "failed at its next callback");
  assert.equal(held.localResponse?.details, FAIL_STREAM_DETAILS);
  assert.equal(held.complete, true);

  // The next new stream re-creates the VM (started and configured again).
  const logsBefore = host.logs.length;
  const later = host.stream().requestHeaders({ ":path": "/fine" }, true);
  assert.equal(host.failed, false);
  assert.equal(host.generation, 2);
  assert.equal(host.restarts, 1);
  assert.deepEqual(messages(host.logs.slice(logsBefore)), ["vm start", "configure", "request headers"]);
  assert.equal(later.request.complete, true);
  later.responseHeaders({ ":status": "204" }, true);
  assert.equal(later.status, 204);
  // A stream of the old VM still fails at its next callback.
  waiting.responseBody("x", true);
  assert.equal(waiting.status, 503);
  for (const s of [held, waiting, bad, later]) s.done();
  assert.equal(host.liveContexts(), 0);
});

test("VM re-creation happens at most once per vmRestartIntervalMs, and never with vmRestart: false", async () => {
  const host = await loadHost(await trapModule(), { vmRestartIntervalMs: 250 });
  host.stream().requestHeaders({ ":path": "/", "x-trap": "1" }, true);
  assert.equal(host.failed, true);
  const first = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.equal(host.generation, 2, "the first re-creation is immediate");
  assert.equal(first.request.complete, true);
  host.stream().requestHeaders({ ":path": "/", "x-trap": "1" }, true);
  assert.equal(host.failed, true);
  const throttled = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.equal(host.generation, 2, "within the interval: no new VM");
  assert.equal(throttled.status, 503);
  assert.equal(throttled.lastAction, undefined, "the module is not called");
  await sleep(300);
  const after = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.equal(host.generation, 3);
  assert.equal(after.request.complete, true);

  const never = await loadHost(await trapModule(), { vmRestart: false });
  never.stream().requestHeaders({ ":path": "/", "x-trap": "1" }, true);
  const s = never.stream().requestHeaders({ ":path": "/" }, true);
  assert.equal(never.failed, true);
  assert.equal(s.status, 503);
  assert.equal(never.configure("{}"), false, "a failed VM takes no configuration");
});

test("a trap, fail open: the trapping stream and later callbacks pass through the module untouched; then a new VM", async () => {
  const host = await loadHost(await trapModule(), { failStrategy: "open" });
  const held = host
    .stream()
    .requestHeaders({ ":path": "/held" }, true)
    .responseHeaders({ ":status": "200", "x-hold": "1" });
  const bad = host.stream().requestHeaders({ ":path": "/boom", "x-trap": "1" }, true);
  assert.equal(host.failed, true);
  assert.deepEqual(
    bad.request.headers,
    [
      [":path", "/boom"],
      ["x-trap", "1"],
    ],
    "the request goes upstream",
  );
  bad.responseHeaders({ ":status": "201" }).responseBody("ok", true);
  assert.equal(bad.status, 201);
  assert.equal(bad.bodyText, "ok");
  assert.equal(held.status, undefined, "held until its next callback");
  held.responseBody("rest", true);
  assert.equal(held.status, 200);
  assert.equal(held.bodyText, "rest");
  const later = host.stream().requestHeaders({ ":path": "/later" }, true);
  assert.equal(host.generation, 2);
  assert.ok(messages(later.logs).includes("request headers"), "the new VM sees it");
});

test("fail open: a body chunk that carries the end of stream reaches the client before the end", async () => {
  const host = await loadHost(await trapModule(), { failStrategy: "open" });
  const s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200", "x-hold": "1" });
  host.stream().requestHeaders({ ":path": "/boom", "x-trap": "1" }, true);
  assert.equal(host.failed, true);
  const events: string[] = [];
  s.on("headers", () => events.push("headers"));
  s.on("data", (c: Uint8Array) => events.push(`data ${Buffer.from(c).toString()}`));
  s.on("end", () => events.push("end"));
  s.responseFrames(["a", "b"], "http2");
  assert.deepEqual(events, ["headers", "data a", "data b", "end"]);
  assert.equal(s.bodyText, "ab");
  assert.equal(s.complete, true);
});

// ---------------------------------------------------------------------------
// Route cache

function rerouteModule(): Promise<Uint8Array> {
  return buildModule({
    strings: {
      path: ":path",
      v2: "/v2/moved",
      crc: "clear_route_cache",
      off: "off",
      xoff: "x-off",
      xhold: "x-hold",
      xa: "x-added",
      yes: "yes",
    },
    body: `
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param $c i32) (param i32 i32) (result i32)
        (global.set $stream (local.get $c))
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @xoff (i32.const 16) (i32.const 20)))
          (then (drop (call $proxy_set_property @crc @off))))
        (drop (call $proxy_replace_header_map_value (i32.const 0) @path @v2))
        (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @xhold (i32.const 16) (i32.const 20))))
      (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
        (drop (call $proxy_add_header_map_value (i32.const 0) @xa @yes))
        (i32.const 0))
    `,
  });
}

test("route cache: a request-header edit clears it and the route is matched again before the request goes upstream, unless clear_route_cache is off", async () => {
  const host = await loadHost(await rerouteModule());
  const routes = (h: [string, string][]) => {
    const path = h.find(([k]) => k === ":path")?.[1] ?? "";
    if (path.startsWith("/v1/")) return { routeName: "v1", clusterName: "outbound|80||v1.static" };
    if (path.startsWith("/v2/")) return { routeName: "v2", clusterName: "outbound|80||v2.static" };
    return null;
  };
  let s = host
    .stream({ routeName: "v1", clusterName: "outbound|80||v1.static", route: routes })
    .requestHeaders({ ":path": "/v1/chat" }, true);
  assert.equal(s.routeCacheCleared, true);
  assert.equal(s.routeCacheClears, 1);
  assert.equal(s.routeName, "v2");
  assert.equal(s.clusterName, "outbound|80||v2.static");
  assert.equal(s.request.headers.find(([k]) => k === ":path")?.[1], "/v2/moved");

  s = host.stream({ routeName: "v1", route: routes }).requestHeaders({ ":path": "/v1/chat", "x-off": "1" }, true);
  assert.equal(s.routeCacheCleared, false, "DisableReroute");
  assert.equal(s.routeName, "v1");

  // Held request headers edited again from the body callback: two clears, one match when they go upstream.
  s = host
    .stream({ routeName: "v1", route: routes })
    .requestHeaders({ ":method": "POST", ":path": "/v1/chat", "x-hold": "1" });
  assert.equal(s.routeName, "v1", "not matched again until the request goes upstream");
  s.requestBody("{}", true);
  assert.equal(s.routeCacheClears, 2);
  assert.equal(s.routeName, "v2");
  assert.ok(s.request.headers.some(([k]) => k === "x-added"));

  // No route matches the edited headers: Envoy's router answers 404 route_not_found.
  const none = host.stream({ routeName: "v1", route: () => null }).requestHeaders({ ":path": "/v1/chat" }, true);
  assert.equal(none.status, 404);
  assert.equal(none.localResponse?.details, "route_not_found");
  assert.equal(none.request.headers.length, 0);

  // Without a route table the route never changes.
  s = host.stream({ routeName: "v1" }).requestHeaders({ ":path": "/v1/chat" }, true);
  assert.equal(s.routeCacheCleared, true);
  assert.equal(s.routeName, "v1");
});

// ---------------------------------------------------------------------------
// Trailers

/**
 * Response: $hold (headers), $mode (body), $tr (trailers) give the return
 * values; the trailers callback logs how many trailers it got and the value of
 * x-checksum, then sets x-seen: 1; with $cont it continues the stream itself.
 * The body callback logs whether map 3 is available there.
 */
function trailersModule(withTrailersCallback = true): Promise<Uint8Array> {
  return buildModule({
    strings: { n: "trailers ", ck: "x-checksum", v: "checksum ", seen: "x-seen", one: "1", m3: "map 3 in body: " },
    body: `
      (global $hold (export "hold") (mut i32) (i32.const 1))
      (global $mode (export "mode") (mut i32) (i32.const 3))
      (global $tr (export "tr") (mut i32) (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (global.get $hold))
      (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
        (call $logn @m3 (call $proxy_get_header_map_value (i32.const 3) @ck (i32.const 16) (i32.const 20)))
        (global.get $mode))
      ${
        withTrailersCallback
          ? `(func (export "proxy_on_response_trailers") (param i32) (param $n i32) (result i32)
        (call $logn @n (local.get $n))
        (drop (call $proxy_get_header_map_value (i32.const 3) @ck (i32.const 16) (i32.const 20)))
        (call $logout @v)
        (drop (call $proxy_add_header_map_value (i32.const 3) @seen @one))
        (global.get $tr))`
          : ""
      }
    `,
  });
}

test("trailers: proxy_on_response_trailers with map 3; Continue releases what the filter held, then the trailers; StopIteration holds them until continue", async () => {
  const host = await loadHost(await trailersModule());
  const g = host.exports as Record<string, WebAssembly.Global>;
  const open = () => host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });

  // Headers held, body passed on (Continue releases the headers with the first chunk), trailers seen and edited.
  g.mode.value = 0;
  let s = open().responseBody("ab").responseBody("cd");
  assert.equal(s.complete, false);
  assert.equal(s.bodyText, "abcd");
  s.responseTrailers({ "x-checksum": "c1" });
  const bad = `map 3 in body: ${WasmResult.BadArgument}`;
  assert.deepEqual(
    messages(s.logs),
    [bad, bad, "trailers 1", "checksum c1"],
    "map 3 exists in the trailers callback only",
  );
  assert.deepEqual(s.trailers, [
    ["x-checksum", "c1"],
    ["x-seen", "1"],
  ]);
  assert.equal(s.complete, true);
  s.done();

  // StopIterationNoBuffer on every chunk, then Continue on the trailers: Envoy's commonContinue sends
  // the held headers and the trailers; the chunks were never buffered, so the client gets no body.
  g.mode.value = 3;
  s = open().responseBody("ab").responseBody("cd");
  assert.equal(s.status, undefined, "headers held");
  s.responseTrailers({ "x-checksum": "c2" });
  assert.equal(s.status, 200);
  assert.equal(s.bodyText, "", "the chunks the module did not buffer are gone");
  assert.equal(s.trailers?.length, 2);
  assert.equal(s.complete, true);
  s.done();

  // StopIterationAndBuffer, then trailers: headers, the buffered body and the trailers go together.
  g.mode.value = 1;
  s = open().responseBody("ab").responseBody("cd").responseTrailers({ "x-checksum": "c3" });
  assert.equal(s.bodyText, "abcd");
  assert.equal(s.complete, true);
  s.done();

  // StopIteration on the trailers: everything waits for proxy_continue_stream (here: the idle timer would end it).
  g.tr.value = 1;
  s = open().responseBody("ab").responseTrailers({ "x-checksum": "c4" });
  assert.equal(s.complete, false);
  assert.equal(s.status, undefined);
  s.done();
  assert.equal(host.liveContexts(), 0);
});

test("trailers: a module without proxy_on_response_trailers continues; trailers right after the headers", async () => {
  const host = await loadHost(await trailersModule(false));
  const g = host.exports as Record<string, WebAssembly.Global>;
  g.mode.value = 1;
  let s = host
    .stream()
    .requestHeaders({ ":path": "/" }, true)
    .responseHeaders({ ":status": "200" })
    .responseBody("body")
    .responseTrailers({ "grpc-status": "0" });
  assert.equal(s.bodyText, "body");
  assert.deepEqual(s.trailers, [["grpc-status", "0"]]);
  assert.equal(s.complete, true);
  s.done();

  s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });
  s.responseTrailers({ "grpc-status": "0" });
  assert.equal(s.status, 200);
  assert.equal(s.bodyText, "");
  assert.equal(s.complete, true);
  s.done();
  assert.equal(host.liveContexts(), 0);
});
