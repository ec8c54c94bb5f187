// Host fidelity: loading, start-up order, allocation, header-map bytes,
// properties, logs, metrics, import checks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadHost, WasmResult } from "../../host/index.ts";
import { buildModule, compileWat, buildWat, handEncodedPairs, messages } from "../kit/wat.ts";

test("start-up order: _initialize, main, root context 1, vm start, configure (and reconfigure)", async () => {
  const wasm = await buildModule({
    strings: {
      init: "_initialize",
      main: "main",
      start: "_start",
      create: "context_create ",
      parent: "parent ",
      vmstart: "vm_start size ",
      vmconf: "vm config: ",
      configure: "configure size ",
      conf: "config: ",
      outside: "plugin config outside on_configure: ",
    },
    body: `
      (func (export "_initialize") (call $log @init))
      (func (export "main") (param i32 i32) (result i32) (call $log @main) (i32.const 0))
      (func (export "_start") (call $log @start))
      (func (export "proxy_on_context_create") (param $c i32) (param $p i32)
        (call $logn @create (local.get $c)) (call $logn @parent (local.get $p)))
      (func (export "proxy_on_vm_start") (param $c i32) (param $n i32) (result i32)
        (call $logn @vmstart (local.get $n))
        (drop (call $proxy_get_buffer_bytes (i32.const 6) (i32.const 0) (local.get $n) (i32.const 16) (i32.const 20)))
        (call $logout @vmconf)
        (i32.const 1))
      (func (export "proxy_on_configure") (param $c i32) (param $n i32) (result i32)
        (call $logn @configure (local.get $n))
        (drop (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $n) (i32.const 16) (i32.const 20)))
        (call $logout @conf)
        ;; reject a configuration starting with "x"
        (i32.ne (i32.load8_u (call $out_ptr)) (i32.const 120)))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $logn @outside
          (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 100) (i32.const 16) (i32.const 20)))
        (i32.const 0))
    `,
  });
  const host = await loadHost(wasm, { vmConfig: "vmconf" });
  assert.deepEqual(messages(host.logs), [
    "_initialize",
    "main",
    "context_create 1",
    "parent 0",
    "vm_start size 6",
    "vm config: vmconf",
  ]);
  assert.equal(host.abiVersion, "0.2.100");

  const config = { model: "m", _rules_: [{ _match_route_: ["r"], model: "n" }] };
  assert.equal(host.configure(config), true);
  const json = JSON.stringify(config);
  assert.deepEqual(messages(host.logs).slice(6), [`configure size ${json.length}`, `config: ${json}`]);

  // A rejected reconfiguration returns false; the VM keeps running.
  assert.equal(host.configure("xyz"), false);
  assert.equal(host.failed, false);
  assert.equal(host.configure({ ok: 1 }), true);

  // The plugin configuration buffer only exists during on_configure.
  host.stream().requestHeaders({ ":path": "/" }, true).done();
  assert.equal(messages(host.logs).at(-1), `plugin config outside on_configure: ${WasmResult.NotFound}`);
});

test("start-up: _start is called when there is no _initialize (and main is not)", async () => {
  const wasm = await buildModule({
    strings: { main: "main", start: "_start" },
    body: `
      (func (export "main") (param i32 i32) (result i32) (call $log @main) (i32.const 0))
      (func (export "_start") (call $log @start))
    `,
  });
  const host = await loadHost(wasm);
  assert.deepEqual(messages(host.logs), ["_start"]);
});

test("start-up: on_vm_start false, a start-up trap, or a rejected config option make loadHost fail", async () => {
  const refuse = await buildModule({
    body: `(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 0))`,
  });
  await assert.rejects(loadHost(refuse), /proxy_on_vm_start returned false/);
  const trap = await buildModule({ body: `(func (export "_initialize") unreachable)` });
  await assert.rejects(loadHost(trap), /failed during start-up: .*unreachable/);
  const reject = await buildModule({
    body: `(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 0))`,
  });
  await assert.rejects(loadHost(reject, { config: { a: 1 } }), /rejected its configuration/);
});

test("imports the host does not offer make loading fail, naming them", async () => {
  const abort = await buildModule({
    imports: `(import "env" "abort" (func $abort (param i32 i32 i32 i32)))`,
    body: "",
  });
  await assert.rejects(loadHost(abort), (e: Error) => {
    assert.match(e.message, /missing import: env\.abort/);
    return true;
  });
  const several = await buildModule({
    imports: `
      (import "env" "trace" (func (param i32 i32)))
      (import "env" "seed" (func (result f64)))
      (import "env" "proxy_continue_request" (func (result i32)))`,
    body: "",
  });
  await assert.rejects(loadHost(several), /env\.trace, env\.seed, env\.proxy_continue_request \(ABI 0\.1\.0 only\)/);
  const mismatch = await compileWat(`(module
    (import "env" "proxy_log" (func (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "malloc") (param i32) (result i32) (i32.const 8))
    (func (export "proxy_abi_version_0_2_100")))`);
  await assert.rejects(
    loadHost(mismatch),
    /import type mismatch: env\.proxy_log: module wants \(i32,i32->i32\), host provides \(i32,i32,i32->i32\)/,
  );
  const noAbi = await buildModule({ abi: null, body: "" });
  await assert.rejects(loadHost(noAbi), /missing the Proxy-Wasm ABI version/);
  const noMalloc = await compileWat(
    `(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_100")))`,
  );
  await assert.rejects(loadHost(noMalloc), /neither malloc nor proxy_on_memory_allocate/);
});

test("results are written through the module's malloc; empty results are 0/0 without malloc; memory growth", async () => {
  const wasm = await buildModule({
    strings: {
      xa: "x-a",
      xempty: "x-empty",
      xmissing: "x-missing",
      got: "x-a=",
      calls: "malloc calls ",
      eptr: "empty ptr ",
      elen: "empty len ",
      rc: "result ",
      absent: "response map in request phase ",
      pairsLen: "pairs of absent map len ",
      bodyLen: "body bytes ",
      first: "first ",
      last: "last ",
    },
    body: `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (local $before i32)
        (local.set $before (global.get $malloc_calls))
        (call $logn @rc (call $proxy_get_header_map_value (i32.const 0) @xa (i32.const 16) (i32.const 20)))
        (call $logout @got)
        (call $logn @calls (i32.sub (global.get $malloc_calls) (local.get $before)))
        ;; an empty value: 0/0, no malloc
        (i32.store (i32.const 16) (i32.const 77))
        (i32.store (i32.const 20) (i32.const 77))
        (local.set $before (global.get $malloc_calls))
        (call $logn @rc (call $proxy_get_header_map_value (i32.const 0) @xempty (i32.const 16) (i32.const 20)))
        (call $logn @eptr (call $out_ptr))
        (call $logn @elen (call $out_len))
        (call $logn @calls (i32.sub (global.get $malloc_calls) (local.get $before)))
        (call $logn @rc (call $proxy_get_header_map_value (i32.const 0) @xmissing (i32.const 16) (i32.const 20)))
        ;; the response map does not exist yet
        (call $logn @absent (call $proxy_get_header_map_value (i32.const 2) @xa (i32.const 16) (i32.const 20)))
        (call $logn @rc (call $proxy_get_header_map_pairs (i32.const 2) (i32.const 16) (i32.const 20)))
        (call $logn @pairsLen (call $out_len))
        (i32.const 0))
      (func (export "proxy_on_request_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
        (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
        (drop (call $proxy_get_buffer_bytes (i32.const 0) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
        (call $logn @bodyLen (call $out_len))
        (call $logn @first (i32.load8_u (call $out_ptr)))
        (call $logn @last (i32.load8_u (i32.sub (i32.add (call $out_ptr) (call $out_len)) (i32.const 1))))
        (i32.const 0))
    `,
  });
  // No buffer limit: the body is buffered whole.
  const host = await loadHost(wasm, { bufferLimitBytes: 0 });
  const pagesBefore = host.memoryPages();
  const s = host.stream().requestHeaders({ ":path": "/", "x-a": "hello", "x-empty": "" });
  assert.deepEqual(messages(s.logs), [
    "result 0",
    "x-a=hello",
    "malloc calls 1",
    "result 0",
    "empty ptr 0",
    "empty len 0",
    "malloc calls 0",
    `result ${WasmResult.NotFound}`,
    `response map in request phase ${WasmResult.BadArgument}`,
    "result 0",
    "pairs of absent map len 0",
  ]);
  // A 300 KB body: malloc grows the memory; the host must write into the new pages.
  const big = new Uint8Array(300_000).fill(7);
  big[0] = 1;
  big[big.length - 1] = 9;
  s.requestFrames([big.subarray(0, 100_000), big.subarray(100_000)], "http1");
  assert.deepEqual(messages(s.logs).slice(-3), ["body bytes 300000", "first 1", "last 9"]);
  assert.ok(host.memoryPages() > pagesBefore + 3, `memory grew: ${pagesBefore} -> ${host.memoryPages()}`);
  assert.equal(s.request.body.length, 300_000);
  s.done();
  assert.equal(host.liveContexts(), 0);
});

test("header maps: exact bytes host -> module, module -> host, 0 or 4 bytes for empty", async () => {
  const mapBlob = new Uint8Array([
    3,
    0,
    0,
    0, // three pairs
    7,
    0,
    0,
    0,
    3,
    0,
    0,
    0, // ":status" / "201"
    1,
    0,
    0,
    0,
    2,
    0,
    0,
    0, // "a" / "xy"
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0, // "A" / ""  (keys are lower-cased by the host)
    ...new TextEncoder().encode(":status"),
    0,
    ...new TextEncoder().encode("201"),
    0,
    97,
    0,
    120,
    121,
    0,
    65,
    0,
    0,
  ]);
  const wasm = await buildModule({
    strings: {
      blob: mapBlob,
      zero4: new Uint8Array([0, 0, 0, 0]),
      empty: "",
      malformed: new Uint8Array([5, 0, 0, 0, 1]),
    },
    body: `
      (global $got_ptr (export "got_ptr") (mut i32) (i32.const 0))
      (global $got_len (export "got_len") (mut i32) (i32.const 0))
      (global $mode (export "mode") (mut i32) (i32.const 0))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_get_header_map_pairs (i32.const 0) (i32.const 16) (i32.const 20)))
        (global.set $got_ptr (call $out_ptr))
        (global.set $got_len (call $out_len))
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (if (i32.eq (global.get $mode) (i32.const 0))
          (then (drop (call $proxy_set_header_map_pairs (i32.const 2) @blob))))
        (if (i32.eq (global.get $mode) (i32.const 1))
          (then (drop (call $proxy_set_header_map_pairs (i32.const 2) @zero4))))
        (if (i32.eq (global.get $mode) (i32.const 2))
          (then (drop (call $proxy_set_header_map_pairs (i32.const 2) @empty))))
        (if (i32.eq (global.get $mode) (i32.const 3))
          (then (drop (call $proxy_set_header_map_pairs (i32.const 2) @malformed))))
        ;; read the map back: an empty map comes as 0/0
        (drop (call $proxy_get_header_map_pairs (i32.const 2) (i32.const 16) (i32.const 20)))
        (global.set $got_ptr (call $out_ptr))
        (global.set $got_len (call $out_len))
        (i32.const 0))
    `,
  });
  const host = await loadHost(wasm);
  const g = host.exports as Record<string, WebAssembly.Global>;
  const mem = (): Uint8Array =>
    new Uint8Array((host.exports.memory as WebAssembly.Memory).buffer, g.got_ptr.value, g.got_len.value).slice();

  // host -> module
  host.stream().requestHeaders([
    [":method", "GET"],
    ["a", "xy"],
    ["e", ""],
  ]);
  const expected = new Uint8Array([
    3,
    0,
    0,
    0,
    7,
    0,
    0,
    0,
    3,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    58,
    109,
    101,
    116,
    104,
    111,
    100,
    0,
    71,
    69,
    84,
    0, // ":method\0GET\0"
    97,
    0,
    120,
    121,
    0, // "a\0xy\0"
    101,
    0,
    0, // "e\0\0"
  ]);
  assert.deepEqual(mem(), expected);

  // module -> host
  const s = host
    .stream()
    .requestHeaders({ ":path": "/" }, true)
    .responseHeaders({ ":status": "200", "content-length": "0" }, true);
  assert.equal(s.status, 201);
  assert.deepEqual(s.headers, [
    [":status", "201"],
    ["a", "xy"],
    ["a", ""],
  ]);
  // Read back: the host serializes the (lower-cased) map it now holds.
  assert.deepEqual(
    mem(),
    handEncodedPairs([
      [":status", "201"],
      ["a", "xy"],
      ["a", ""],
    ]),
  );

  for (const [mode, what] of [
    [1, "4 zero bytes"],
    [2, "0 bytes"],
    [3, "malformed bytes"],
  ] as const) {
    g.mode.value = mode;
    const t = host.stream().requestHeaders({ ":path": "/" }, true).responseHeaders({ ":status": "200", x: "1" }, true);
    assert.deepEqual(t.headers, [], `${what} clear the map`);
    assert.equal(g.got_ptr.value, 0, `${what}: empty map read back as ptr 0`);
    assert.equal(g.got_len.value, 0, `${what}: empty map read back as len 0`);
  }
  assert.ok(host.logs.some((l) => l.source === "host" && /malformed header map/.test(l.message)));
});

test("properties: route_name, cluster_name, plugin_name, plugin_root_id, request.*, NotFound; request map gone after Continue", async () => {
  const path = (...seg: string[]): string => seg.join("\0");
  const wasm = await buildModule({
    strings: {
      route: "route_name",
      cluster: "cluster_name",
      plugin: "plugin_name",
      root: "plugin_root_id",
      rpath: path("request", "path"),
      xroute: path("xds", "route_name"),
      custom: path("source", "address"),
      nothing: "no_such_property",
      code: path("response", "code"),
      pathKey: ":path",
      v: "= ",
      rc: "rc ",
      rcHeader: "rc :path in response phase ",
      rcPath: "rc request.path in response phase ",
    },
    body: `
      (func $prop (param $p i32) (param $n i32)
        (if (i32.eqz (call $proxy_get_property (local.get $p) (local.get $n) (i32.const 16) (i32.const 20)))
          (then (call $logout @v))
          (else (call $logn @rc (call $proxy_get_property (local.get $p) (local.get $n) (i32.const 16) (i32.const 20))))))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $prop @route) (call $prop @cluster) (call $prop @plugin) (call $prop @root)
        (call $prop @rpath) (call $prop @xroute) (call $prop @custom) (call $prop @nothing)
        (i32.const 0))
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
        (call $logn @rcHeader (call $proxy_get_header_map_value (i32.const 0) @pathKey (i32.const 16) (i32.const 20)))
        (call $logn @rcPath (call $proxy_get_property @rpath (i32.const 16) (i32.const 20)))
        (drop (call $proxy_get_property @code (i32.const 16) (i32.const 20)))
        (call $logn @v (i32.load (call $out_ptr)))
        (call $logn @v (call $out_len))
        (i32.const 0))
    `,
  });
  const host = await loadHost(wasm, { pluginName: "ai-json-mode", rootId: "root-a" });
  const s = host
    .stream({
      routeName: "json-route",
      clusterName: "outbound|443||qwen.dns",
      properties: { "source.address": "10.0.0.1:5" },
    })
    .requestHeaders({ ":path": "/v1/chat?x=1", ":method": "POST" }, true)
    .responseHeaders({ ":status": "418" }, true);
  assert.deepEqual(messages(s.logs), [
    "= json-route",
    "= outbound|443||qwen.dns",
    "= ai-json-mode",
    "= root-a",
    "= /v1/chat?x=1",
    "= json-route",
    "= 10.0.0.1:5",
    `rc ${WasmResult.NotFound}`,
    // Envoy drops its pointer to the request headers once they continued.
    `rc :path in response phase ${WasmResult.BadArgument}`,
    `rc request.path in response phase ${WasmResult.NotFound}`,
    "= 418", // response.code: 8 bytes little-endian integer
    "= 8",
  ]);
});

test("logs: level filtering, levels and context ids; log level query; WASI stdout/stderr", async () => {
  const wasm = await buildModule({
    strings: {
      t: "trace line",
      d: "debug line",
      i: "info line",
      w: "warn line",
      e: "error line",
      lvl: "level ",
      out: "from stdout\n",
      err: "from stderr\n",
    },
    body: `
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_log (i32.const 0) @t))
        (drop (call $proxy_log (i32.const 1) @d))
        (drop (call $proxy_log (i32.const 2) @i))
        (drop (call $proxy_log (i32.const 3) @w))
        (drop (call $proxy_log (i32.const 4) @e))
        (drop (call $proxy_get_log_level (i32.const 24)))
        (call $logn @lvl (i32.load (i32.const 24)))
        ;; iovec at 40: one buffer
        (i32.store (i32.const 40) @out.ptr) (i32.store (i32.const 44) @out.len)
        (drop (call $fd_write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 48)))
        (i32.store (i32.const 40) @err.ptr) (i32.store (i32.const 44) @err.len)
        (drop (call $fd_write (i32.const 2) (i32.const 40) (i32.const 1) (i32.const 48)))
        (i32.const 0))
    `,
  });
  const seen: string[] = [];
  const host = await loadHost(wasm, { logLevel: 2, onLog: (e) => seen.push(`${e.levelName}:${e.message}`) });
  const s = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.deepEqual(
    s.logs.map((l) => [l.levelName, l.message, l.contextId]),
    [
      ["info", "info line", s.id],
      ["warn", "warn line", s.id],
      ["error", "error line", s.id],
      ["info", "level 2", s.id],
      ["info", "from stdout", s.id],
      ["error", "from stderr", s.id],
    ],
  );
  assert.equal(seen.length, 6);
});

test("metrics: define, increment, record, get; BadArgument and NotFound cases", async () => {
  const wasm = await buildModule({
    strings: { requests: "requests", inflight: "inflight", sizes: "sizes", v: "counter ", rc: "rc " },
    body: `
      (global $c (mut i32) (i32.const 0))
      (global $g (mut i32) (i32.const 0))
      (global $h (mut i32) (i32.const 0))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (drop (call $proxy_define_metric (i32.const 0) @requests (i32.const 24)))
        (global.set $c (i32.load (i32.const 24)))
        (drop (call $proxy_define_metric (i32.const 1) @inflight (i32.const 24)))
        (global.set $g (i32.load (i32.const 24)))
        (drop (call $proxy_define_metric (i32.const 2) @sizes (i32.const 24)))
        (global.set $h (i32.load (i32.const 24)))
        (call $logn @rc (call $proxy_define_metric (i32.const 3) @sizes (i32.const 24)))
        (i32.const 1))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $proxy_increment_metric (global.get $c) (i64.const 1)))
        (drop (call $proxy_increment_metric (global.get $g) (i64.const 5)))
        (drop (call $proxy_increment_metric (global.get $g) (i64.const -2)))
        (drop (call $proxy_record_metric (global.get $h) (i64.const 42)))
        (call $logn @rc (call $proxy_increment_metric (global.get $c) (i64.const 0)))
        (call $logn @rc (call $proxy_increment_metric (global.get $h) (i64.const 1)))
        (call $logn @rc (call $proxy_get_metric (global.get $h) (i32.const 32)))
        (call $logn @rc (call $proxy_get_metric (i32.const 999999) (i32.const 32)))
        (drop (call $proxy_get_metric (global.get $c) (i32.const 32)))
        (call $logn @v (i32.load (i32.const 32)))
        (i32.const 0))
    `,
  });
  const host = await loadHost(wasm);
  assert.deepEqual(messages(host.logs), [`rc ${WasmResult.BadArgument}`]);
  host.stream().requestHeaders({ ":path": "/" }, true).done();
  const s = host.stream().requestHeaders({ ":path": "/" }, true);
  assert.deepEqual(messages(s.logs), [
    `rc ${WasmResult.BadArgument}`,
    `rc ${WasmResult.BadArgument}`,
    `rc ${WasmResult.BadArgument}`,
    `rc ${WasmResult.NotFound}`,
    "counter 2",
  ]);
  const m = host.metrics();
  assert.deepEqual(m.get("requests"), { type: 0, value: 2n });
  assert.deepEqual(m.get("inflight"), { type: 1, value: 6n });
  assert.deepEqual(m.get("sizes"), { type: 2, value: 42n, samples: [42n, 42n] });
});

test("the kit's WAT assembles (sanity)", () => {
  assert.match(
    buildWat({ strings: { a: "x" }, body: "(func (call $log @a))" }),
    /\(i32\.const 1024\) \(i32\.const 1\)/,
  );
});
