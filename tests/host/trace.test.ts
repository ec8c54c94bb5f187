// The host's trace hook (HostOptions.trace): every host function call that
// changes state is reported with its decoded arguments and its result;
// reads are not; a faulty tracer does not affect the module. Checked with a
// small WAT module and with the compiled plugin.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { loadHost, LogLevel, WasmResult, type TraceEntry } from "../../host/index.ts";
import { WASM } from "../kit/drive.ts";
import { buildModule, handEncodedPairs, messages } from "../kit/wat.ts";

const CLUSTER = "outbound|443||deepseek.dns";

/** A module that calls one state-changing function of every kind (and a few reads) from its callbacks. */
function tracedModule(): Promise<Uint8Array> {
  return buildModule({
    strings: {
      t: "trace line",
      d: "debug line",
      i: "info line",
      w: "warn line",
      e: "error line",
      c: "critical line",
      xa: "X-A",
      one: "1",
      xb: "x-b",
      two: "2",
      xc: "x-c",
      path: "my\0prop\0",
      value: "v1",
      metric: "ai_json_mode.traced",
      cluster: CLUSTER,
      call: handEncodedPairs([
        [":method", "POST"],
        [":path", "/v1"],
        [":authority", "api.deepseek.com"],
      ]),
      pairs: handEncodedPairs([["x-new", "yes"]]),
      body: "{}",
      neu: "NEW",
      details: "denied by test",
      deny: "no",
      stdout: "from stdout\n",
    },
    body: `
      (global $stream (mut i32) (i32.const 0))
      (global $metric (export "metric_id") (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param $c i32) (param i32 i32) (result i32)
        (global.set $stream (local.get $c))
        (drop (call $proxy_log (i32.const 0) @t))
        (drop (call $proxy_log (i32.const 1) @d))
        (drop (call $proxy_log (i32.const 2) @i))
        (drop (call $proxy_log (i32.const 3) @w))
        (drop (call $proxy_log (i32.const 4) @e))
        (drop (call $proxy_log (i32.const 5) @c))
        (drop (call $proxy_log (i32.const 9) @c))
        (drop (call $proxy_add_header_map_value (i32.const 0) @xa @one))
        (drop (call $proxy_replace_header_map_value (i32.const 0) @xb @two))
        (drop (call $proxy_remove_header_map_value (i32.const 0) @xc))
        (drop (call $proxy_get_header_map_value (i32.const 0) @xb (i32.const 16) (i32.const 20)))
        (drop (call $proxy_set_header_map_pairs (i32.const 2) @pairs))
        (drop (call $proxy_set_property @path @value))
        (drop (call $proxy_define_metric (i32.const 0) @metric (i32.const 24)))
        (global.set $metric (i32.load (i32.const 24)))
        (drop (call $proxy_increment_metric (global.get $metric) (i64.const 3)))
        (drop (call $proxy_record_metric (global.get $metric) (i64.const 5)))
        ;; an iovec at 40: the stdout string
        (i32.store (i32.const 40) @stdout.ptr)
        (i32.store (i32.const 44) @stdout.len)
        (drop (call $fd_write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 48)))
        (drop (call $proxy_http_call @cluster @call @body (i32.const 0) (i32.const 0) (i32.const 500) (i32.const 24)))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (drop (call $proxy_set_effective_context (i32.const 99)))
        (drop (call $proxy_set_effective_context (global.get $stream)))
        (drop (call $proxy_continue_stream (i32.const 0))))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
      (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        (drop (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (local.get $size) @neu))
        (drop (call $proxy_send_local_response (i32.const 403) @details @deny @pairs (i32.const -1)))
        (i32.const 0))
    `,
  });
}

test("trace: every state-changing call with its decoded arguments and result; reads are not traced", async () => {
  const entries: TraceEntry[] = [];
  const host = await loadHost(await tracedModule(), {
    clusters: [CLUSTER],
    logLevel: LogLevel.info,
    trace: (e) => entries.push(e),
  });
  const s = host.stream().requestHeaders({ ":path": "/", "x-b": "old", "x-c": "gone" }, true);
  const id = s.id;
  const view = () => entries.map((e) => [e.name, e.args, e.result, e.contextId]);
  const metricId = (host.exports.metric_id as WebAssembly.Global).value;
  assert.deepEqual(view(), [
    ["proxy_log", [0, "trace line"], WasmResult.Ok, id],
    ["proxy_log", [1, "debug line"], WasmResult.Ok, id],
    ["proxy_log", [2, "info line"], WasmResult.Ok, id],
    ["proxy_log", [3, "warn line"], WasmResult.Ok, id],
    ["proxy_log", [4, "error line"], WasmResult.Ok, id],
    ["proxy_log", [5, "critical line"], WasmResult.Ok, id],
    ["proxy_log", [9, "critical line"], WasmResult.BadArgument, id],
    ["proxy_add_header_map_value", [0, "X-A", "1"], WasmResult.Ok, id],
    ["proxy_replace_header_map_value", [0, "x-b", "2"], WasmResult.Ok, id],
    ["proxy_remove_header_map_value", [0, "x-c"], WasmResult.Ok, id],
    ["proxy_set_header_map_pairs", [2, [["x-new", "yes"]]], WasmResult.BadArgument, id],
    ["proxy_set_property", ["my.prop", 2], WasmResult.Ok, id],
    ["proxy_define_metric", [0, "ai_json_mode.traced"], WasmResult.Ok, id],
    ["proxy_increment_metric", [metricId, 3n], WasmResult.Ok, id],
    ["proxy_record_metric", [metricId, 5n], WasmResult.Ok, id],
    ["fd_write", [1, "from stdout\n"], 0, id],
    [
      "proxy_http_call",
      [
        CLUSTER,
        [
          [":method", "POST"],
          [":path", "/v1"],
          [":authority", "api.deepseek.com"],
        ],
        2,
        [],
        500,
      ],
      WasmResult.Ok,
      id,
    ],
  ]);
  // What the module changed is what the trace says.
  assert.deepEqual(
    s.request.headers.filter(([k]) => k.startsWith("x-")),
    [],
  );
  assert.equal(host.metrics().get("ai_json_mode.traced")?.value, 8n);
  assert.deepEqual(
    messages(s.logs),
    ["info line", "warn line", "error line", "critical line", "from stdout"],
    "log lines below the level are traced, not recorded",
  );

  entries.length = 0;
  host.answer(host.pendingCalls()[0], 200, {}, "{}");
  assert.deepEqual(view(), [
    ["proxy_set_effective_context", [99], WasmResult.BadArgument, 1],
    ["proxy_set_effective_context", [id], WasmResult.Ok, 1],
    ["proxy_continue_stream", [0], WasmResult.Ok, id],
  ]);
  assert.deepEqual(
    s.request.headers.filter(([k]) => k.startsWith("x-")),
    [
      ["x-b", "2"],
      ["x-a", "1"],
    ],
    "the request went upstream with the edits",
  );

  entries.length = 0;
  s.responseHeaders({ ":status": "200" }).responseFrames(["ab", "cd"], "http1");
  assert.deepEqual(view(), [
    ["proxy_set_buffer_bytes", [1, 0, 4, 3], WasmResult.Ok, id],
    ["proxy_send_local_response", [403, "denied by test", 2, [["x-new", "yes"]], -1], WasmResult.Ok, id],
  ]);
  assert.equal(s.status, 403);
  assert.equal(s.bodyText, "no");
  s.done();
  assert.equal(host.liveContexts(), 0);
});

test("trace: arguments the host cannot read are reported raw; a throwing tracer does not affect the module", async () => {
  const wasm = await buildModule({
    strings: { ok: "still running" },
    body: `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_log (i32.const 2) (i32.const 200000) (i32.const 4)))
        (call $log @ok)
        (i32.const 0))
    `,
  });
  const entries: TraceEntry[] = [];
  const host = await loadHost(wasm, {
    trace: (e) => {
      entries.push(e);
      throw new Error("a broken tracer");
    },
  });
  const s = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.equal(host.failed, false);
  assert.deepEqual(messages(s.logs), ["still running"]);
  assert.deepEqual(
    entries.map((e) => [e.name, e.args, e.result]),
    [
      ["proxy_log", [2, 200000, 4], WasmResult.InvalidMemoryAccess],
      ["proxy_log", [2, "still running"], WasmResult.Ok],
    ],
  );
  assert.ok(s.request.complete, "the request went on");
});

test(
  "trace: a conversion by the compiled plugin, as a conformance run will compare it",
  { skip: existsSync(WASM) ? false : "needs build/plugin.wasm" },
  async () => {
    const entries: TraceEntry[] = [];
    const host = await loadHost(WASM, {
      pluginName: "ai-json-mode",
      clusters: [CLUSTER],
      trace: (e) => entries.push(e),
    });
    assert.equal(
      host.configure({
        url: "https://api.deepseek.com/v1/chat/completions",
        model: "deepseek-chat",
        apiKey: "sk-trace",
        serviceFQDN: "deepseek.dns",
        servicePort: 443,
      }),
      true,
    );
    const body = JSON.stringify({
      choices: [{ message: { role: "assistant", content: "sunny, 25 C" }, finish_reason: "stop", index: 0 }],
    });
    const s = host
      .stream({ routeName: "r" })
      .requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, true)
      .responseHeaders({ ":status": "200", "content-type": "application/json", "content-length": String(body.length) })
      .responseBody(body, true);
    const [call] = host.pendingCalls();
    host.answer(
      call,
      200,
      { "content-type": "application/json" },
      JSON.stringify({ choices: [{ message: { content: '{"output": "sunny"}' } }] }),
    );
    assert.equal(s.header("mode"), "json");
    s.done();

    assert.ok(
      entries.every((e) => !/^proxy_get_/.test(e.name)),
      "reads are not traced",
    );
    const names = entries.map((e) => e.name);
    const httpCall = entries.find((e) => e.name === "proxy_http_call")!;
    assert.equal(httpCall.args[0], CLUSTER);
    assert.equal(httpCall.result, WasmResult.Ok);
    assert.ok(
      (httpCall.args[1] as [string, string][]).some(([k, v]) => k === "authorization" && v === "Bearer sk-trace"),
    );
    assert.equal(httpCall.args[2], call.body.length, "the body as a byte length");
    const after = names.slice(names.indexOf("proxy_http_call"));
    assert.ok(after.includes("proxy_set_effective_context"), after.join(" "));
    assert.ok(after.includes("proxy_set_buffer_bytes"), after.join(" "));
    const resume = entries.filter((e) => e.name === "proxy_continue_stream");
    assert.deepEqual(
      resume.map((e) => [e.args, e.result, e.contextId]),
      [[[1], WasmResult.Ok, s.id]],
      "one resume of the response",
    );
    assert.ok(entries.every((e) => typeof e.result === "number"));
    host.close();
  },
);
