// Host fidelity: bodies and buffering, buffer edits, HTTP calls and their
// outcomes, the ABI 0.2.100 / 0.2.1 header-stop difference, local replies,
// effective context, no re-entrancy, context accounting. Envoy 1.27's
// limits, idle timeout, traps and VM re-creation, call dispatch and route
// cache are in envoy127.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadHost, WasmResult, type HttpCall } from "../../host/index.ts";
import { buildModule, handEncodedPairs, messages } from "../kit/wat.ts";

const CLUSTER = "outbound|443||deepseek.dns";

/** Logs each body callback's size; at the end of stream logs the body it reads. */
function bodiesModule(): Promise<Uint8Array> {
  return buildModule({
    strings: { size: "size ", eos: " eos ", body: "body: " },
    body: `
      ;; action for chunks before end of stream: 1 buffer, 0 continue, 3 no-buffer
      (global $action (export "action") (mut i32) (i32.const 1))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (call $logn @size (local.get $size))
        (if (i32.eqz (local.get $eos)) (then (return (global.get $action))))
        (drop (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
        (call $logout @body)
        (i32.const 0))
    `,
  });
}

test("bodies, envoy: ideal: StopIterationAndBuffer accumulates (sizes include the chunk); Continue releases; NoBuffer drops", async () => {
  const host = await loadHost(await bodiesModule(), { envoy: "ideal" });
  const g = host.exports as Record<string, WebAssembly.Global>;
  const open = () => host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });

  // Buffer: sizes 2, 5, 6; nothing reaches the client before the end.
  let s = open().responseBody("ab").responseBody("cde");
  assert.equal(s.lastAction, 1);
  assert.equal(s.status, undefined, "headers are held (StopIteration, ABI 0.2.100)");
  assert.equal(s.body.length, 0);
  s.responseBody("f", true);
  assert.deepEqual(messages(s.logs), ["size 2", "size 5", "size 6", "body: abcdef"]);
  assert.equal(s.status, 200);
  assert.equal(s.bodyText, "abcdef");
  assert.equal(s.complete, true);

  // Continue: each chunk goes through at once, sizes are per chunk.
  g.action.value = 0;
  s = open().responseBody("ab");
  assert.equal(s.status, 200);
  assert.equal(s.bodyText, "ab");
  s.responseBody("cde").responseBody("f", true);
  assert.deepEqual(messages(s.logs), ["size 2", "size 3", "size 1", "body: f"]);
  assert.equal(s.bodyText, "abcdef");

  // StopIterationNoBuffer: Envoy neither buffers nor forwards those chunks.
  g.action.value = 3;
  s = open().responseBody("ab").responseBody("cde").responseBody("f", true);
  assert.deepEqual(messages(s.logs), ["size 2", "size 3", "size 1", "body: f"]);
  assert.equal(s.bodyText, "f");
});

test("bodies, Envoy 1.27: after StopIterationAndBuffer a callback sees the buffer without its own chunk, which joins after it returns", async () => {
  const host = await loadHost(await bodiesModule());
  const g = host.exports as Record<string, WebAssembly.Global>;
  const open = () => host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });

  // HTTP/1: the end of stream comes as an empty chunk, so the last callback sees the whole body.
  let s = open().responseFrames(["ab", "cde", "f"], "http1");
  assert.deepEqual(messages(s.logs), ["size 2", "size 2", "size 5", "size 6", "body: abcdef"]);
  assert.equal(s.bodyText, "abcdef");
  assert.equal(s.complete, true);

  // HTTP/2: the last frame carries the end of stream: the last callback sees the body without it;
  // the frame joins the buffer after the callback and goes out with it.
  s = open().responseFrames(["ab", "cde", "f"], "http2");
  assert.deepEqual(messages(s.logs), ["size 2", "size 2", "size 5", "body: abcde"]);
  assert.equal(s.bodyText, "abcdef");

  // Continue: each chunk goes through at once, sizes are per chunk.
  g.action.value = 0;
  s = open().responseBody("ab");
  assert.equal(s.status, 200);
  s.responseFrames(["cde", "f"], "http2");
  assert.deepEqual(messages(s.logs), ["size 2", "size 3", "size 1", "body: f"]);
  assert.equal(s.bodyText, "abcdef");

  // StopIterationNoBuffer: each callback sees only its chunk; Envoy keeps nothing, the end goes out empty.
  g.action.value = 3;
  s = open().responseFrames(["ab", "cde", "f"], "http1");
  assert.deepEqual(messages(s.logs), ["size 2", "size 3", "size 1", "size 0", "body: "]);
  assert.equal(s.bodyText, "");
  assert.equal(s.complete, true);
  s = open().responseFrames(["ab", "cde", "f"], "http2");
  assert.deepEqual(messages(s.logs), ["size 2", "size 3", "size 1", "body: f"]);
  assert.equal(s.bodyText, "f", "the last callback returned Continue: its chunk goes out");
});

test("set_buffer_bytes: start 0 drops then prepends, start >= size appends, else BadArgument; read-only buffers; get clamps", async () => {
  const wasm = await buildModule({
    strings: {
      q: "Q",
      lt: "<",
      gt: ">",
      bang: "!",
      qm: "?",
      neu: "NEW",
      x: "x",
      rc: "rc ",
      got: "got ",
      status: "status len ",
    },
    body: `
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        ;; get clamps to the buffer
        (drop (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 2) (i32.const 100) (i32.const 16) (i32.const 20)))
        (call $logout @got)
        (call $logn @rc (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 10) (i32.const 5) (i32.const 16) (i32.const 20)))
        (call $logn @got (call $out_len))
        (drop (call $proxy_get_buffer_status (i32.const 1) (i32.const 24) (i32.const 28)))
        (call $logn @status (i32.load (i32.const 24)))
        ;; "abcdef" -> "Qcdef" -> "<Qcdef" -> "<Qcdef>" (start == size) -> "<Qcdef>!" (start > size);
        ;; a middle edit is refused
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (i32.const 2) @q))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (i32.const 0) @lt))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 6) (i32.const 0) @gt))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 100) (i32.const 0) @bang))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 2) (i32.const 1) @qm))
        (drop (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 0) (i32.const 100) (i32.const 16) (i32.const 20)))
        (call $logout @got)
        ;; read-only or absent buffers
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 6) (i32.const 0) (i32.const 0) @x))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 0) @x))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 4) (i32.const 0) (i32.const 0) @x))
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 9) (i32.const 0) (i32.const 0) @x))
        ;; start 0 with len >= size replaces the whole body
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (i32.const 1000) @neu))
        (i32.const 0))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (call $logn @rc (call $proxy_set_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 0) @x))
        (i32.const 1))
    `,
  });
  const host = await loadHost(wasm);
  assert.equal(host.configure("{}"), true);
  assert.deepEqual(messages(host.logs), [`rc ${WasmResult.BadArgument}`], "plugin configuration is read-only");
  const s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });
  s.responseFrames(["abc", "def"], "http1");
  assert.deepEqual(messages(s.logs), [
    "got cdef",
    "rc 0",
    "got 0",
    "status len 6",
    "rc 0",
    "rc 0",
    "rc 0",
    "rc 0",
    `rc ${WasmResult.BadArgument}`,
    "got <Qcdef>!",
    `rc ${WasmResult.BadArgument}`, // vm configuration: read-only
    `rc ${WasmResult.NotFound}`, // plugin configuration: only during on_configure
    `rc ${WasmResult.NotFound}`, // http call body: only during the call's callback
    `rc ${WasmResult.BadArgument}`, // no such buffer type
    "rc 0",
  ]);
  assert.equal(s.bodyText, "NEW");
});

/** A module that calls the cluster from on_response_headers and resumes in the callback. */
function callerModule(): Promise<Uint8Array> {
  const full = handEncodedPairs([
    [":method", "POST"],
    [":path", "/v1/chat/completions"],
    [":authority", "api.deepseek.com"],
    ["content-type", "application/json"],
  ]);
  const noAuthority = handEncodedPairs([
    [":method", "POST"],
    [":path", "/v1"],
  ]);
  const noMethod = handEncodedPairs([
    [":path", "/v1"],
    [":authority", "a"],
  ]);
  return buildModule({
    strings: {
      known: CLUSTER,
      unknown: "outbound|443||nowhere.dns",
      full,
      noAuthority,
      noMethod,
      body: "{}",
      rc: "rc ",
      token: "token ",
      answer: "answer headers ",
      bodySize: "answer body size ",
      status: "answer :status ",
      statusKey: ":status",
      statusRc: "answer :status rc ",
      abody: "answer body ",
      setRc: "set call body rc ",
      resp: "response phase",
    },
    body: `
      ;; 1: also try the failing calls before the good one
      (global $tryBad (export "try_bad") (mut i32) (i32.const 0))
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (call $log @resp)
        (global.set $stream (local.get $c))
        (if (global.get $tryBad) (then
          (call $logn @rc (call $proxy_http_call @unknown @full (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 24)))
          (call $logn @rc (call $proxy_http_call @known @noAuthority (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 24)))
          (call $logn @rc (call $proxy_http_call @known @noMethod (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 24)))
          (call $logn @rc (call $proxy_http_call @known @full (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 24)))))
        (call $logn @rc (call $proxy_http_call @known @full @body (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 24)))
        (call $logn @token (i32.load (i32.const 24)))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $nh i32) (param $bs i32) (param $nt i32)
        (call $logn @answer (local.get $nh))
        (call $logn @bodySize (local.get $bs))
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 6) @statusKey (i32.const 16) (i32.const 20)))
          (then (call $logout @status))
          (else (call $logn @statusRc (call $proxy_get_header_map_value (i32.const 6) @statusKey (i32.const 16) (i32.const 20)))))
        (if (local.get $bs) (then
          (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $bs) (i32.const 16) (i32.const 20)))
          (call $logout @abody)
          (call $logn @setRc (call $proxy_set_buffer_bytes (i32.const 4) (i32.const 0) (i32.const 0) @body))))
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
  });
}

test("http calls: BadArgument for an unknown cluster or a missing :method/:path/:authority; host tokens; content-length", async () => {
  const wasm = await callerModule();
  const host = await loadHost(wasm, { clusters: [CLUSTER] });
  (host.exports.try_bad as WebAssembly.Global).value = 1;
  const s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" }, true);
  assert.deepEqual(messages(s.logs), [
    "response phase",
    `rc ${WasmResult.BadArgument}`, // unknown cluster
    `rc ${WasmResult.BadArgument}`, // no :authority
    `rc ${WasmResult.BadArgument}`, // no :method
    `rc ${WasmResult.BadArgument}`, // negative timeout
    "rc 0",
    "token 1",
  ]);
  const [call] = host.pendingCalls();
  assert.equal(host.pendingCalls().length, 1);
  assert.equal(call.cluster, CLUSTER);
  assert.equal(call.method, "POST");
  assert.equal(call.path, "/v1/chat/completions");
  assert.equal(call.authority, "api.deepseek.com");
  assert.equal(call.bodyText, "{}");
  assert.equal(call.timeoutMs, 5000);
  assert.equal(call.streamId, s.id);
  assert.deepEqual(
    call.headers.find(([k]) => k === "content-length"),
    ["content-length", "2"],
    "a non-empty body sets content-length",
  );
  assert.equal(s.status, undefined, "the response waits for the call");
  host.answer(call, 200, { "content-type": "application/json" }, '{"ok":true}');
  assert.equal(s.resumed, 1);
  assert.equal(s.status, 200);
  assert.equal(s.complete, true);
  // The callback runs in the root context: its lines are the root's, not the stream's.
  assert.deepEqual(messages(host.logs).slice(-5), [
    "answer headers 2",
    "answer body size 11",
    "answer :status 200",
    'answer body {"ok":true}',
    `set call body rc ${WasmResult.BadArgument}`,
  ]);
  assert.equal(host.pendingCalls().length, 0);
});

test("http call outcomes: timeout -> 504 answer, refused -> 503 answer, reset -> zero headers", async () => {
  const host = await loadHost(await callerModule(), { clusters: [CLUSTER] });
  const run = (finish: (c: HttpCall) => void): string[] => {
    const s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" }, true);
    const before = host.logs.length;
    finish(host.pendingCalls()[0]);
    assert.equal(s.resumed, 1, "resumed exactly once");
    assert.equal(s.complete, true);
    assert.ok(host.logs.slice(before).every((l) => l.contextId === host.rootContextId));
    return messages(host.logs.slice(before));
  };
  assert.deepEqual(
    run((c) => host.timeout(c)),
    [
      "answer headers 3",
      "answer body size 24",
      "answer :status 504",
      "answer body upstream request timeout",
      `set call body rc ${WasmResult.BadArgument}`,
    ],
  );
  const refused = run((c) => host.refuse(c));
  assert.deepEqual(refused.slice(0, 3), ["answer headers 3", "answer body size 91", "answer :status 503"]);
  assert.match(refused[3], /^answer body upstream connect error or disconnect\/reset before headers/);
  assert.deepEqual(
    run((c) => host.reset(c)),
    ["answer headers 0", "answer body size 0", `answer :status rc ${WasmResult.BadArgument}`],
  );
  // An answer for a call that no longer exists is ignored; a token never issued is an error.
  assert.throws(() => host.answer(999, 200), /no pending HTTP call with token 999/);
});

test("ABI 0.2.100 keeps StopIteration (body callbacks arrive); 0.2.1 turns it into StopAll (no body callbacks until continue)", async () => {
  const spec = (abi: string) =>
    buildModule({
      abi,
      strings: {
        known: CLUSTER,
        hdrs: handEncodedPairs([
          [":method", "GET"],
          [":path", "/"],
          [":authority", "x"],
        ]),
        size: "body size ",
        eos: "body eos ",
      },
      body: `
        (global $stream (mut i32) (i32.const 0))
        (global $waiting (mut i32) (i32.const 0))
        (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
          (global.set $stream (local.get $c))
          (global.set $waiting (i32.const 1))
          (drop (call $proxy_http_call @known @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 24)))
          (i32.const 1))
        (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
          (call $logn @size (local.get $size))
          (call $logn @eos (local.get $eos))
          ;; buffer while the call is pending
          (global.get $waiting))
        (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
          (global.set $waiting (i32.const 0))
          (drop (call $proxy_set_effective_context (global.get $stream)))
          (drop (call $proxy_continue_stream (i32.const 1))))
      `,
    });

  const h100 = await loadHost(await spec("0_2_100"));
  assert.equal(h100.abiVersion, "0.2.100");
  let s = h100.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });
  s.responseFrames(["aa", "bb"], "http1");
  // Envoy 1.27: the "bb" callback sees the buffered "aa"; the empty end chunk sees both.
  assert.deepEqual(messages(s.logs), [
    "body size 2",
    "body eos 0",
    "body size 2",
    "body eos 0",
    "body size 4",
    "body eos 1",
  ]);
  assert.equal(s.status, undefined);
  h100.answer(h100.pendingCalls()[0], 200);
  assert.equal(s.status, 200);
  assert.equal(s.bodyText, "aabb");
  assert.equal(s.resumed, 1);

  const h021 = await loadHost(await spec("0_2_1"));
  assert.equal(h021.abiVersion, "0.2.1");
  s = h021.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" });
  s.responseFrames(["aa", "bb"], "http1");
  assert.deepEqual(messages(s.logs), [], "no body callbacks while headers are stopped");
  assert.equal(s.status, undefined);
  h021.answer(h021.pendingCalls()[0], 200);
  // After continue the module sees what arrived meanwhile, as one chunk.
  assert.deepEqual(messages(s.logs), ["body size 4", "body eos 1"]);
  assert.equal(s.status, 200);
  assert.equal(s.bodyText, "aabb");
});

test("headers are released as mutated by then; content-length is never recomputed", async () => {
  const wasm = await buildModule({
    strings: { cl: "content-length", xp: "x-plugin", yes: "yes", repl: "a much longer replacement body" },
    body: `
      (global $fix (export "fix") (mut i32) (i32.const 1))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        (drop (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (local.get $size) @repl))
        (if (global.get $fix) (then (drop (call $proxy_remove_header_map_value (i32.const 2) @cl))))
        (drop (call $proxy_add_header_map_value (i32.const 2) @xp @yes))
        (i32.const 0))
    `,
  });
  const host = await loadHost(wasm);
  let s = host
    .stream()
    .requestHeaders({ ":path": "/" }, true)
    .responseHeaders({ ":status": "200", "content-length": "5" });
  s.responseBody("hello", true);
  assert.deepEqual(s.headers, [
    [":status", "200"],
    ["x-plugin", "yes"],
  ]);
  assert.equal(s.bodyText, "a much longer replacement body");

  (host.exports.fix as WebAssembly.Global).value = 0;
  s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200", "content-length": "5" });
  s.responseBody("hello", true);
  assert.equal(s.header("content-length"), "5", "a stale content-length is released as is");
  assert.equal(s.body.length, 30);
});

test("no re-entrancy: an answer given from inside proxy_http_call is delivered after the VM call returns", async () => {
  const wasm = await buildModule({
    strings: {
      known: CLUSTER,
      hdrs: handEncodedPairs([
        [":method", "GET"],
        [":path", "/"],
        [":authority", "x"],
      ]),
      after: "after dispatch",
      cb: "callback, in headers = ",
    },
    body: `
      (global $inHeaders (mut i32) (i32.const 0))
      (global $stream (mut i32) (i32.const 0))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (global.set $inHeaders (i32.const 1))
        (global.set $stream (local.get $c))
        (drop (call $proxy_http_call @known @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 24)))
        (call $log @after)
        (global.set $inHeaders (i32.const 0))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (call $logn @cb (global.get $inHeaders))
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
  });
  let host!: Awaited<ReturnType<typeof loadHost>>;
  host = await loadHost(wasm, { onHttpCall: (call) => host.answer(call, 200, {}, "now") });
  const s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" }, true);
  assert.deepEqual(messages(host.logs), ["after dispatch", "callback, in headers = 0"]);
  assert.equal(s.resumed, 1);
  assert.equal(s.status, 200, "delivered before responseHeaders() returned");
  assert.equal(s.complete, true);
});

test("effective context: continue from the root context without proxy_set_effective_context resumes nothing", async () => {
  const wasm = await buildModule({
    strings: {
      known: CLUSTER,
      hdrs: handEncodedPairs([
        [":method", "GET"],
        [":path", "/"],
        [":authority", "x"],
      ]),
      rc: "set_effective_context(bad) rc ",
    },
    body: `
      (global $stream (mut i32) (i32.const 0))
      (global $proper (export "proper") (mut i32) (i32.const 0))
      (func (export "proxy_on_response_headers") (param $c i32) (param i32 i32) (result i32)
        (global.set $stream (local.get $c))
        (drop (call $proxy_http_call @known @hdrs (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 24)))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (call $logn @rc (call $proxy_set_effective_context (i32.const 12345)))
        (if (global.get $proper) (then (drop (call $proxy_set_effective_context (global.get $stream)))))
        (drop (call $proxy_continue_stream (i32.const 1))))
    `,
  });
  const host = await loadHost(wasm);
  const s = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" }, true);
  host.answer(host.pendingCalls()[0], 200);
  assert.equal(s.resumed, 0);
  assert.equal(s.status, undefined, "still paused");
  assert.deepEqual(messages(host.logs), [`set_effective_context(bad) rc ${WasmResult.BadArgument}`]);
  assert.ok(host.logs.some((l) => l.source === "host" && /root context: no stream is resumed/.test(l.message)));

  (host.exports.proper as WebAssembly.Global).value = 1;
  const t = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200" }, true);
  host.answer(host.pendingCalls()[0], 200);
  assert.equal(t.resumed, 1);
  assert.equal(t.status, 200);
});

test("local responses: from the request phase (through the module's response callbacks) and from the response phase (direct)", async () => {
  const wasm = await buildModule({
    strings: {
      deny: "x-deny",
      details: "denied by test",
      body: "nope",
      extra: handEncodedPairs([["x-why", "test"]]),
      status: ":status",
      seen: "response callback sees :status ",
      rc: "second local response rc ",
    },
    body: `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) @deny (i32.const 16) (i32.const 20)))
          (then
            (drop (call $proxy_send_local_response (i32.const 403) @details @body @extra (i32.const -1)))
            (call $logn @rc (call $proxy_send_local_response (i32.const 500) @details @body @extra (i32.const -1)))))
        ;; the return value is ignored after a local response
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_get_header_map_value (i32.const 2) @status (i32.const 16) (i32.const 20)))
        (call $logout @seen)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 2) @deny (i32.const 16) (i32.const 20)))
          (then (drop (call $proxy_send_local_response (i32.const 502) @details @body @extra (i32.const -1)))))
        (i32.const 0))
    `,
  });
  const host = await loadHost(wasm);
  const s = host.stream().requestHeaders({ ":path": "/", "x-deny": "1" }, true);
  assert.equal(s.status, 403);
  assert.equal(s.bodyText, "nope");
  assert.deepEqual(s.headers, [
    [":status", "403"],
    ["x-why", "test"],
    ["content-length", "4"],
    ["content-type", "text/plain"],
  ]);
  assert.equal(s.localResponse?.details, "denied_by_test");
  assert.equal(s.request.headers.length, 0, "not forwarded upstream");
  assert.deepEqual(messages(s.logs), [
    `second local response rc ${WasmResult.BadArgument}`,
    "response callback sees :status 403",
  ]);
  // A late upstream response is ignored.
  s.responseHeaders({ ":status": "200" }, true);
  assert.equal(s.status, 403);

  const t = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200", "x-deny": "1" });
  assert.equal(t.status, 502);
  assert.equal(t.bodyText, "nope");
  assert.deepEqual(
    messages(t.logs),
    ["response callback sees :status 200"],
    "a direct reply does not go through the module",
  );
  t.responseBody("ignored", true);
  assert.equal(t.bodyText, "nope");
});

test("close_stream resets the stream; done() runs on_log, on_done, on_delete; live contexts return to 0", async () => {
  const wasm = await buildModule({
    strings: { close: "x-close", log: "on_log", doneS: "on_done", del: "on_delete", create: "create " },
    body: `
      (func (export "proxy_on_context_create") (param $c i32) (param i32) (call $logn @create (local.get $c)))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (if (i32.eqz (call $proxy_get_header_map_value (i32.const 2) @close (i32.const 16) (i32.const 20)))
          (then (drop (call $proxy_close_stream (i32.const 1)))))
        (i32.const 0))
      (func (export "proxy_on_log") (param i32) (call $log @log))
      (func (export "proxy_on_done") (param i32) (result i32) (call $log @doneS) (i32.const 1))
      (func (export "proxy_on_delete") (param i32) (call $log @del))
    `,
  });
  const host = await loadHost(wasm);
  const streams = Array.from({ length: 5 }, () => host.stream().requestHeaders({ ":path": "/" }, true));
  assert.equal(host.liveContexts(), 5);
  const r = streams[0];
  const resets: string[] = [];
  r.on("reset", (why) => resets.push(why));
  r.responseHeaders({ ":status": "200", "x-close": "1" });
  assert.deepEqual(resets, ["wasm_close_stream"]);
  assert.equal(r.reset, true);
  for (const s of streams) s.done();
  assert.equal(host.liveContexts(), 0);
  assert.deepEqual(messages(r.logs), [`create ${r.id}`, "on_log", "on_done", "on_delete"]);
  assert.ok(host.memoryPages() >= 2);
});

test("request phase: held headers see body callbacks (0.2.100), body replaced, headers mutated from the body callback; on_log reads the maps", async () => {
  const wasm = await buildModule({
    strings: {
      repl: "REPLACED",
      cl: "content-length",
      eight: "8",
      x: "x-body-seen",
      yes: "yes",
      path: ":path",
      logPath: "on_log :path ",
    },
    body: `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_request_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        (drop (call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) @repl))
        (drop (call $proxy_replace_header_map_value (i32.const 0) @cl @eight))
        (drop (call $proxy_add_header_map_value (i32.const 0) @x @yes))
        (i32.const 0))
      (func (export "proxy_on_log") (param i32)
        (drop (call $proxy_get_header_map_value (i32.const 0) @path (i32.const 16) (i32.const 20)))
        (call $logout @logPath))
    `,
  });
  const host = await loadHost(wasm);
  const upstream: string[] = [];
  const s = host.stream();
  s.on("upstream-headers", () => upstream.push("headers"));
  s.on("upstream-data", (c: Uint8Array) => upstream.push(`data ${c.length}`));
  s.on("upstream-end", () => upstream.push("end"));
  s.requestHeaders({ ":method": "POST", ":path": "/v1", "content-length": "11" }).requestFrames(
    ["hello ", "world"],
    "http1",
  );
  assert.deepEqual(upstream, ["headers", "data 8", "end"]);
  assert.deepEqual(s.request.headers, [
    [":method", "POST"],
    [":path", "/v1"],
    ["content-length", "8"],
    ["x-body-seen", "yes"],
  ]);
  assert.equal(s.request.bodyText, "REPLACED");
  assert.equal(s.request.complete, true);
  s.responseHeaders({ ":status": "200" }, true).done();
  assert.deepEqual(messages(s.logs), ["on_log :path /v1"], "request headers are readable again in on_log");
});

test("WASI proc_exit ends the VM call like a trap", async () => {
  const wasm = await buildModule({
    body: `(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $proc_exit (i32.const 3)) (i32.const 0))`,
  });
  const host = await loadHost(wasm);
  const s = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.equal(host.failed, true);
  assert.equal(host.failure?.message, "proc_exit(3)");
  assert.equal(s.status, 503);
});
