// The WAT kit: small proxy-wasm test modules built from WAT, compiled
// in-process with wabt (used by tests/host).
//
// A module is the prelude below (every env.proxy_* import, a 2-page memory, a
// counting bump `malloc`, logging helpers) plus the test's own functions.
// Strings go to data segments and are referenced in the body as
//   @name      ->  (i32.const ptr) (i32.const len)
//   @name.ptr  ->  (i32.const ptr)
//   @name.len  ->  (i32.const len)
// Fixed scratch slots for out-pointers: 16 (ptr), 20 (len), 24 (token / u32),
// 32 (u64). Heap allocations start at 65536.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabt: Promise<Wabt> | undefined;

export async function compileWat(source: string, name = "test.wat"): Promise<Uint8Array> {
  wabt ??= import("wabt").then((m) => m.default());
  const w = await wabt;
  const mod = w.parseWat(name, source, { bulk_memory: true, mutable_globals: true });
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/** Reads tests/kit/wat/<file>. */
export function watFile(file: string): string {
  return readFileSync(fileURLToPath(new URL(`./wat/${file}`, import.meta.url)), "utf8");
}

export interface ModuleSpec {
  /** ABI marker suffix: "0_2_100" (default), "0_2_1", "0_2_0", or null for none. */
  abi?: string | null;
  /** Strings (or raw bytes) referenced as @name in the body. */
  strings?: Record<string, string | Uint8Array>;
  /** The test's functions and exports. */
  body: string;
  /** Raw extra imports, placed before the prelude imports. */
  imports?: string;
}

const PRELUDE_IMPORTS = `
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_log_level" (func $proxy_get_log_level (param i32) (result i32)))
  (import "env" "proxy_get_property" (func $proxy_get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $proxy_set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $proxy_send_local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $proxy_replace_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $proxy_remove_header_map_value (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $proxy_get_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $proxy_set_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $proxy_get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_status" (func $proxy_get_buffer_status (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $proxy_set_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $proxy_http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $proxy_continue_stream (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $proxy_close_stream (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $proxy_set_effective_context (param i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $proxy_get_current_time_nanoseconds (param i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $proxy_set_tick_period_milliseconds (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $proxy_define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $proxy_increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_record_metric" (func $proxy_record_metric (param i32 i64) (result i32)))
  (import "env" "proxy_get_metric" (func $proxy_get_metric (param i32 i32) (result i32)))
  (import "env" "proxy_done" (func $proxy_done (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
`;

const PRELUDE_BODY = `
  (memory (export "memory") 2)
  (global $heap (export "heap") (mut i32) (i32.const 65536))
  (global $malloc_calls (export "malloc_calls") (mut i32) (i32.const 0))

  ;; bump allocator, grows memory when needed
  (func $alloc (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow (i32.const 1)))
        (br $grow)))
    (local.get $p))
  (func $malloc (export "malloc") (param $n i32) (result i32)
    (global.set $malloc_calls (i32.add (global.get $malloc_calls) (i32.const 1)))
    (call $alloc (local.get $n)))

  (func $out_ptr (result i32) (i32.load (i32.const 16)))
  (func $out_len (result i32) (i32.load (i32.const 20)))

  ;; log at info level
  (func $log (param $p i32) (param $n i32)
    (drop (call $proxy_log (i32.const 2) (local.get $p) (local.get $n))))

  ;; decimal digits of an unsigned value at dst; returns the length
  (func $utoa (param $v i32) (param $dst i32) (result i32)
    (local $n i32) (local $t i32) (local $i i32)
    (local.set $t (local.get $v))
    (local.set $n (i32.const 1))
    (block $b (loop $l
      (br_if $b (i32.lt_u (local.get $t) (i32.const 10)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (local.set $i (local.get $n))
    (local.set $t (local.get $v))
    (loop $w
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
        (i32.add (i32.const 48) (i32.rem_u (local.get $t) (i32.const 10))))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $w (i32.gt_u (local.get $i) (i32.const 0))))
    (local.get $n))

  ;; logs prefix followed by a number
  (func $logn (param $p i32) (param $n i32) (param $v i32)
    (local $buf i32)
    (local.set $buf (call $alloc (i32.add (local.get $n) (i32.const 12))))
    (memory.copy (local.get $buf) (local.get $p) (local.get $n))
    (call $log (local.get $buf)
      (i32.add (local.get $n) (call $utoa (local.get $v) (i32.add (local.get $buf) (local.get $n))))))

  ;; logs prefix followed by bytes
  (func $logs (param $p i32) (param $n i32) (param $q i32) (param $m i32)
    (local $buf i32)
    (local.set $buf (call $alloc (i32.add (local.get $n) (local.get $m))))
    (memory.copy (local.get $buf) (local.get $p) (local.get $n))
    (memory.copy (i32.add (local.get $buf) (local.get $n)) (local.get $q) (local.get $m))
    (call $log (local.get $buf) (i32.add (local.get $n) (local.get $m))))

  ;; logs prefix followed by the result held in the out slots (16/20)
  (func $logout (param $p i32) (param $n i32)
    (call $logs (local.get $p) (local.get $n) (call $out_ptr) (call $out_len)))
`;

function escapeBytes(b: Uint8Array): string {
  return [...b].map((x) => `\\${x.toString(16).padStart(2, "0")}`).join("");
}

export function buildWat(spec: ModuleSpec): string {
  const strings = spec.strings ?? {};
  const layout = new Map<string, { ptr: number; len: number }>();
  const data: string[] = [];
  let off = 1024;
  for (const [name, value] of Object.entries(strings)) {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
    layout.set(name, { ptr: off, len: bytes.length });
    if (bytes.length) data.push(`  (data (i32.const ${off}) "${escapeBytes(bytes)}")`);
    off += bytes.length + 8 - (bytes.length % 8);
  }
  if (off > 65536) throw new Error("test strings do not fit below the heap");
  const withoutComments = spec.body.replace(/;;.*$/gm, "");
  const body = withoutComments.replace(/@([A-Za-z_][A-Za-z0-9_]*)(\.ptr|\.len)?/g, (m, name: string, part?: string) => {
    const s = layout.get(name);
    if (!s) throw new Error(`unknown string @${name}`);
    if (part === ".ptr") return `(i32.const ${s.ptr})`;
    if (part === ".len") return `(i32.const ${s.len})`;
    return `(i32.const ${s.ptr}) (i32.const ${s.len})`;
  });
  const abi = spec.abi === undefined ? "0_2_100" : spec.abi;
  return [
    "(module",
    spec.imports ?? "",
    PRELUDE_IMPORTS,
    PRELUDE_BODY,
    abi ? `  (func (export "proxy_abi_version_${abi}"))` : "",
    ...data,
    body,
    ")",
  ].join("\n");
}

export async function buildModule(spec: ModuleSpec): Promise<Uint8Array> {
  return compileWat(buildWat(spec));
}

/** Encodes a header map by hand, independently of the host's encoder: used to check bytes. */
export function handEncodedPairs(pairs: [string | Uint8Array, string | Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  const bytes = (x: string | Uint8Array): Uint8Array => (typeof x === "string" ? enc.encode(x) : x);
  const out: number[] = [];
  const u32 = (n: number): void => {
    out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  };
  u32(pairs.length);
  for (const [k, v] of pairs) {
    u32(bytes(k).length);
    u32(bytes(v).length);
  }
  for (const [k, v] of pairs) {
    out.push(...bytes(k), 0, ...bytes(v), 0);
  }
  return new Uint8Array(out);
}

/**
 * wat/callout.wat with the header map its call sends (`handEncodedPairs`) to
 * the cluster outbound|443||deepseek.dns: it pauses every response, sends the
 * body to the cluster and, on a 2xx answer, replaces the body with it.
 */
export function calloutModule(callHeaders: Uint8Array): Promise<Uint8Array> {
  return buildModule({
    strings: {
      req_headers: "request headers eos ",
      req_body: "request body ",
      status_key: ":status",
      resp_status: "response status ",
      resp_body: "response body ",
      cluster: "outbound|443||deepseek.dns",
      call_headers: callHeaders,
      call_rc: "call rc ",
      call_headers_n: "call headers ",
      call_status: "call status ",
      cl_key: "content-length",
      mode_key: "x-mode",
      mode_value: "json",
    },
    body: watFile("callout.wat"),
  });
}

/** The messages a host (or stream) logged, in order. */
export function messages(logs: { message: string; source?: string }[]): string[] {
  return logs.filter((l) => l.source !== "host").map((l) => l.message);
}
