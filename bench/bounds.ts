// npm run bench:bounds [-- --wasm FILE] [--only NAME[,NAME]] [--scale F] [--no-profile] [--trace] [--json]
//
// Memory and time bounds of one response, on the compiled plugin
// (build/plugin.wasm, built first when missing or stale; not with --wasm),
// through the proxy-wasm host API on the Envoy 1.27 model (Higress's
// defaults; maxBodyBytes 10 MiB). Each shape runs on a fresh instance of the
// module, so the linear memory it ends with is the peak that one response
// reached (linear memory never shrinks).
//
// Bounds:
//   memory  peak linear memory <= 4 x size + 2 MiB, where size is the larger
//           of the upstream body and the JSON-mode answer;
//   time    the answer callback (checking the answer against the schema,
//           writing the output) <= 50 ms per MB of answer, whatever the
//           schema; collecting an SSE stream <= 20 ms per MB, linear.
//
// Per shape: the size, the peak and its ratio to the bound, and per phase
// (the body callbacks; the answer callback) the time inside the VM calls, in
// ms and ms per MB of that phase's input, measured on a second instance after
// one unmeasured response (so the code runs compiled, as in a gateway that
// has served a few requests). "plugin" is the module's own CPU time in those
// calls: their time times the share of V8's profile samples (taken in a third
// run) that fall in wasm frames, leaving out the host's work inside the calls,
// such as copying a body into the module's memory; --no-profile skips it. Upstream
// bodies arrive whole (one callback, content-length set) or, for the shapes
// marked "chunked", as an HTTP/1 upstream sends them without content-length:
// 16 KiB (or 1 MiB) chunks, then an empty one with end of stream. `--scale 0.1` runs
// every shape at a tenth of its size; `--trace` prints memory after each
// phase. Exits 1 when a shape is over a bound or traps.
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Session } from "node:inspector/promises";
import { arg, flag, pluginWasm } from "./cli.ts";
import { loadHost, type ProxyWasmHost } from "../host/index.ts";

const MiB = 1024 * 1024;
const MAX_BODY = 10 * MiB;

const wasmPath = pluginWasm("bench", true);
const scale = Number(arg("scale") ?? "1");
const only = arg("only")?.split(",");
const asJson = flag("json");
const trace = flag("trace");
const profile = !flag("no-profile");

const CONFIG = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: "sk-bounds-secret",
  serviceFQDN: "deepseek.dns",
  maxRetries: 0,
};

const INTEGER_ITEMS = {
  type: "object",
  required: ["output"],
  properties: { output: { type: "array", items: { type: "integer" } } },
};

/** `{"choices":[{"message":{"content":…}}]…}` with `extra` members appended verbatim. */
function completion(contentJson: string, extra = ""): string {
  return `{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":${contentJson}},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}${extra}}`;
}

/** `size` scaled, at least 1 byte. */
const sized = (bytes: number) => Math.max(1, Math.round(bytes * scale));

/**
 * A JSON array of `unit` repeated (no comma in `unit`), padded with spaces so
 * that `wrap(array)` is exactly `total` bytes long (when it can be).
 */
function arrayFilling(unit: string, total: number, wrap: (array: string) => string): string {
  const overhead = Buffer.byteLength(wrap("[]"));
  const n = Math.max(1, Math.floor((total - overhead + 1) / (unit.length + 1)));
  const items = "[" + new Array(n).fill(unit).join(",");
  const pad = Math.max(0, total - Buffer.byteLength(wrap(items + "]")));
  return items + " ".repeat(pad) + "]";
}

/** A content string of "x" making `wrap(JSON string)` exactly `total` bytes. */
function stringFilling(total: number, wrap: (json: string) => string): string {
  return JSON.stringify("x".repeat(Math.max(1, total - Buffer.byteLength(wrap('""')))));
}

/** Items nested `depth` deep, each distinct: [[[…[i]…]]] */
function nestedDistinct(count: number, depth: number): string {
  const items: string[] = [];
  for (let i = 0; i < count; i++) items.push("[".repeat(depth) + i + "]".repeat(depth));
  return "[" + items.join(",") + "]";
}

interface Shape {
  name: string;
  what: string;
  config?: Record<string, unknown>;
  /** The upstream body. */
  upstream: () => string;
  /** The JSON-mode answer's content (the JSON text the model replies with). */
  answer: () => string;
  sse?: boolean;
  /** Delivered as an HTTP/1 upstream without content-length, in chunks of `chunk` bytes (16 KiB by default). */
  chunked?: boolean;
  chunk?: number;
  /** Counts for the worst validation time (a schema check of the answer). */
  schema?: boolean;
}

const upstreamSmallValues = () =>
  completion('"hi"', ',"extra":' + arrayFilling("0", sized(MAX_BODY), (a) => completion('"hi"', ',"extra":' + a)));
const upstreamOneString = () => completion(stringFilling(sized(MAX_BODY), (s) => completion(s)));
/** An answer (its content) echoing a string as large as the upstream's: {"output": "xxx…"}. */
const answerOneString = () => JSON.stringify({ output: "x".repeat(sized(MAX_BODY) - 400) });
/** An SSE stream of `event` repeated, then [DONE], of about 10 MiB. */
const sseOf = (event: string) => event.repeat(Math.floor((sized(MAX_BODY) - 14) / event.length)) + "data: [DONE]\n\n";
const upstreamSse = () => sseOf('data: {"choices":[{"index":0,"delta":{"content":"ab"}}]}\n\n');
const upstreamSseLarge = () => sseOf(`data: {"choices":[{"delta":{"content":"${"y".repeat(65536)}"},"index":0}]}\n\n`);
/** The answer to upstreamSseLarge, echoing a content as large as the stream. */
const answerSseLarge = () => JSON.stringify({ output: "y".repeat(sized(MAX_BODY) - 65536) });
/** A content `{"output":[unit,unit,…]}` whose answer body (the completion around it, the content escaped) is about `total` bytes. */
function answerArray(unit: string, total: number): string {
  // Inside the answer the content is a JSON string: each unit takes its escaped length.
  const escaped = JSON.stringify(unit).length - 2;
  const n = Math.max(1, Math.floor((total - 300) / (escaped + 1)));
  return '{"output":[' + new Array(n).fill(unit).join(",") + "]}";
}

/** An answer {"output":[1000000,1000001,…]} of about `total` bytes of distinct integers, then `last` (when given). */
function distinctIntegers(total: number, last = ""): string {
  const n = Math.floor(total / 8);
  return '{"output":[' + Array.from({ length: n }, (_, i) => String(1000000 + i)).join(",") + last + "]}";
}

const UNIQUE_ITEMS = { type: "object", properties: { output: { type: "array", uniqueItems: true } } };

const SHAPES: Shape[] = [
  {
    name: "small-values",
    what: '10 MiB completion: "extra":[0,0,…] beside choices; small answer',
    upstream: upstreamSmallValues,
    answer: () => '{"output":"hi"}',
  },
  {
    name: "small-values-chunked",
    what: "same, chunked upstream (no content-length)",
    upstream: upstreamSmallValues,
    answer: () => '{"output":"hi"}',
    chunked: true,
  },
  {
    name: "small-values-openai",
    what: "same, output: openai (the completion is rewritten)",
    config: { output: "openai" },
    upstream: upstreamSmallValues,
    answer: () => '{"output":"hi"}',
  },
  {
    name: "small-values-openai-chunked",
    what: "same, output: openai, chunked upstream",
    config: { output: "openai" },
    upstream: upstreamSmallValues,
    answer: () => '{"output":"hi"}',
    chunked: true,
  },
  {
    name: "one-string",
    what: '10 MiB completion whose content is one string; the answer echoes it ({"output": content})',
    upstream: upstreamOneString,
    answer: answerOneString,
  },
  {
    name: "one-string-chunked",
    what: "same, chunked upstream",
    upstream: upstreamOneString,
    answer: answerOneString,
    chunked: true,
  },
  {
    name: "one-string-chunked-1m",
    what: "same, chunked upstream in 1 MiB chunks",
    upstream: upstreamOneString,
    answer: answerOneString,
    chunked: true,
    chunk: 1 << 20,
  },
  {
    name: "one-string-openai",
    what: "same, output: openai",
    config: { output: "openai" },
    upstream: upstreamOneString,
    answer: answerOneString,
  },
  {
    name: "schema-items",
    what: '8 MiB answer {"output":[0,0,…]} under a schema with items: {type: integer}',
    config: { jsonSchema: INTEGER_ITEMS },
    upstream: () => completion('"list some zeros"'),
    answer: () => answerArray("0", sized(8 * MiB)),
    schema: true,
  },
  {
    name: "schema-items-objects",
    what: '8 MiB answer {"output":[{"a":1,"b":"x"},…]} under a schema with items',
    config: {
      jsonSchema: {
        type: "object",
        properties: {
          output: {
            type: "array",
            items: { type: "object", required: ["a"], properties: { a: { type: "integer" }, b: { type: "string" } } },
          },
        },
      },
    },
    upstream: () => completion('"list some objects"'),
    answer: () => answerArray('{"a":1,"b":"x"}', sized(8 * MiB)),
    schema: true,
  },
  {
    name: "schema-any-of",
    what: "8 MiB answer [0,0,…] under items: {anyOf: [string, object, array, {integer, minimum 1}, number]}",
    config: {
      jsonSchema: {
        type: "object",
        properties: {
          output: {
            type: "array",
            items: {
              anyOf: [
                { type: "string" },
                { type: "object" },
                { type: "array" },
                { type: "integer", minimum: 1 },
                { type: "number" },
              ],
            },
          },
        },
      },
    },
    upstream: () => completion('"list"'),
    answer: () => answerArray("0", sized(8 * MiB)),
    schema: true,
  },
  {
    name: "schema-enum",
    what: "8 MiB answer [17,17,…] under items: {enum: 1,000 numbers} (hashed and compared)",
    config: {
      jsonSchema: {
        type: "object",
        properties: {
          output: { type: "array", items: { enum: Array.from({ length: 1000 }, (_, i) => i * 17) } },
        },
      },
    },
    upstream: () => completion('"list"'),
    answer: () => answerArray("17", sized(8 * MiB)),
    schema: true,
  },
  {
    name: "schema-enum-large",
    what: "8 MiB answer [139993,…] under items: {enum: 20,000 numbers} (each item equal to the last of them)",
    config: {
      jsonSchema: {
        type: "object",
        properties: {
          output: { type: "array", items: { enum: Array.from({ length: 20000 }, (_, i) => i * 7) } },
        },
      },
    },
    upstream: () => completion('"list"'),
    answer: () => answerArray(String(19999 * 7), sized(8 * MiB)),
    schema: true,
  },
  {
    name: "schema-strings",
    what: '8 MiB answer {"output":["xxxx…",…]} (4 KiB strings) under items: {type: string, minLength: 1, maxLength: 5000}',
    config: {
      jsonSchema: {
        type: "object",
        properties: { output: { type: "array", items: { type: "string", minLength: 1, maxLength: 5000 } } },
      },
    },
    upstream: () => completion('"list"'),
    answer: () => answerArray(JSON.stringify("x".repeat(4096)), sized(8 * MiB)),
    schema: true,
  },
  {
    name: "answer-empty-arrays",
    what: '8 MiB answer {"output":[[],[],…]} (no schema)',
    upstream: () => completion('"list some arrays"'),
    answer: () => answerArray("[]", sized(8 * MiB)),
  },
  {
    name: "unique-deep",
    what: "uniqueItems over 2,000 distinct items nested 33 deep (141 KB answer)",
    config: { jsonSchema: UNIQUE_ITEMS },
    upstream: () => completion('"unique"'),
    answer: () => '{"output":' + nestedDistinct(Math.max(2, Math.round(2000 * scale)), 33) + "}",
    schema: true,
  },
  {
    name: "unique-deep-large",
    what: "uniqueItems over 20,000 distinct items nested 33 deep (1.4 MB answer)",
    config: { jsonSchema: UNIQUE_ITEMS },
    upstream: () => completion('"unique"'),
    answer: () => '{"output":' + nestedDistinct(Math.max(2, Math.round(20000 * scale)), 33) + "}",
    schema: true,
  },
  {
    name: "unique-flat",
    what: "uniqueItems over 1 MiB of distinct integers",
    config: { jsonSchema: UNIQUE_ITEMS },
    upstream: () => completion('"unique"'),
    answer: () => distinctIntegers(sized(MiB)),
    schema: true,
  },
  {
    name: "unique-equal-late",
    what: "uniqueItems over 8 MiB: distinct integers, the last one equal to the first spelled 1.0e6",
    config: { jsonSchema: UNIQUE_ITEMS },
    upstream: () => completion('"unique"'),
    answer: () => distinctIntegers(sized(8 * MiB), ",1.0e6"),
    schema: true,
  },
  {
    name: "sse-small-events",
    what: "10 MiB SSE stream of small delta events",
    sse: true,
    upstream: upstreamSse,
    answer: () => '{"output":"ab"}',
  },
  {
    name: "sse-large-deltas",
    what: "10 MiB SSE stream of 64 KiB deltas (the content as large as the stream); the answer echoes it",
    sse: true,
    upstream: upstreamSseLarge,
    answer: answerSseLarge,
  },
  {
    name: "sse-large-deltas-chunked-1m",
    what: "same, chunked in 1 MiB chunks",
    sse: true,
    chunked: true,
    chunk: 1 << 20,
    upstream: upstreamSseLarge,
    answer: answerSseLarge,
  },
  {
    name: "sse-small-events-chunked",
    what: "same, chunked (no content-length)",
    sse: true,
    chunked: true,
    upstream: upstreamSse,
    answer: () => '{"output":"ab"}',
  },
];

interface Phase {
  ms: number;
  bytes: number;
  pluginMs?: number;
}

interface Row {
  name: string;
  what: string;
  sizeMiB: number;
  peakMiB: number;
  boundMiB: number;
  ratio: number;
  body: Phase;
  answer: Phase;
  outcome: string;
  sse: boolean;
  schema: boolean;
}

/** Wraps the module's exports so that the time spent inside these calls is added to `phase`. */
function timeExports(host: ProxyWasmHost, names: string[], onCall: (name: string, ms: number) => void): void {
  const original = host.exports;
  const wrapped: WebAssembly.Exports = { ...original };
  for (const name of names) {
    const f = original[name];
    if (typeof f !== "function") continue;
    wrapped[name] = (...a: number[]) => {
      const t = performance.now();
      try {
        return (f as (...x: number[]) => unknown)(...a);
      } finally {
        onCall(name, performance.now() - t);
      }
    };
  }
  host.exports = wrapped;
}

interface Inputs {
  upstream: Buffer;
  answer: Buffer;
}

function inputs(shape: Shape): Inputs {
  const upstream = Buffer.from(shape.upstream());
  const answer = Buffer.from(completion(JSON.stringify(shape.answer())));
  return { upstream, answer };
}

/**
 * One response of `shape` on a fresh instance. With `warm`, the same
 * response runs once before on that instance, so that the one measured runs
 * compiled code (V8 compiles a module's functions when they are first
 * called); its memory is then not the peak of one response. `profiler`
 * (when given) samples the VM calls.
 */
async function run(
  shape: Shape,
  wasm: Uint8Array,
  input: Inputs,
  warm: boolean,
  profiler: Session | null,
): Promise<Row> {
  const host = await loadHost(wasm, { pluginName: "ai-json-mode", logLevel: 2 });
  if (!host.configure({ ...CONFIG, ...(shape.config ?? {}) })) throw new Error(`${shape.name}: config rejected`);
  if (warm) respondOnce(host, shape, input);
  const { upstream, answer } = input;
  const size = Math.max(upstream.length, answer.length);
  const body: Phase = { ms: 0, bytes: upstream.length };
  const reply: Phase = { ms: 0, bytes: answer.length };
  timeExports(host, ["proxy_on_response_body", "proxy_on_http_call_response"], (name, ms) => {
    if (name === "proxy_on_response_body") body.ms += ms;
    else reply.ms += ms;
  });
  const s = host.stream({ routeName: "r" });
  s.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, true);
  const headers: Record<string, string> = {
    ":status": "200",
    "content-type": shape.sse ? "text/event-stream" : "application/json",
  };
  if (!shape.chunked) headers["content-length"] = String(upstream.length);
  s.responseHeaders(headers);
  const mem = () => `${(host.memoryPages() / 16).toFixed(1)} MiB`;
  if (trace) console.log(`  ${shape.name}: ${mem()} at start`);
  const samples = new Map<string, number>();
  if (profiler) await profiler.post("Profiler.start");
  if (shape.chunked) {
    const chunks: Buffer[] = [];
    const size = shape.chunk ?? 16384;
    for (let at = 0; at < upstream.length; at += size) chunks.push(upstream.subarray(at, at + size));
    s.responseFrames(chunks, "http1");
  } else {
    s.responseBody(upstream, true);
  }
  if (profiler) {
    body.pluginMs = wasmSelfMs((await profiler.post("Profiler.stop")).profile);
    samples.set("body", body.pluginMs);
  }
  if (trace) console.log(`  ${shape.name}: ${mem()} after the body`);
  const call = host.pendingCalls()[0];
  if (call) {
    if (profiler) await profiler.post("Profiler.start");
    host.answer(call, 200, { "content-type": "application/json" }, answer);
    if (profiler) reply.pluginMs = wasmSelfMs((await profiler.post("Profiler.stop")).profile);
  }
  if (trace) console.log(`  ${shape.name}: ${mem()} after the answer`);
  const peak = host.memoryPages() * 65536;
  let outcome: string;
  if (host.failed) outcome = `TRAP: ${host.failure?.message}`;
  else if (s.header("mode") === "json") outcome = "converted";
  else {
    const warn = s.logs.find((l) => l.levelName === "warn");
    outcome = warn ? warn.message.replace(/^\[ai-json-mode\] stream \d+: /, "").slice(0, 110) : "passthrough";
  }
  host.close();
  const sizeMiB = size / MiB;
  return {
    name: shape.name,
    what: shape.what,
    sizeMiB,
    peakMiB: peak / MiB,
    boundMiB: 4 * sizeMiB + 2,
    ratio: peak / MiB / (4 * sizeMiB + 2),
    body,
    answer: reply,
    outcome,
    sse: shape.sse === true,
    schema: shape.schema === true,
  };
}

/** The response once, unmeasured (warming the module's code up). */
function respondOnce(host: ProxyWasmHost, shape: Shape, input: Inputs): void {
  const s = host.stream({ routeName: "r" });
  s.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, true);
  s.responseHeaders({
    ":status": "200",
    "content-type": shape.sse ? "text/event-stream" : "application/json",
    "content-length": String(input.upstream.length),
  });
  s.responseBody(input.upstream, true);
  const call = host.pendingCalls()[0];
  if (call) host.answer(call, 200, { "content-type": "application/json" }, input.answer);
  s.done();
}

interface CpuProfile {
  nodes: { id: number; callFrame: { url: string } }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time of the module's (wasm) frames in a V8 CPU profile, in ms. */
function wasmSelfMs(p: CpuProfile): number {
  const wasmNodes = new Set(p.nodes.filter((n) => n.callFrame.url.startsWith("wasm://")).map((n) => n.id));
  let us = 0;
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) if (wasmNodes.has(samples[i])) us += deltas[i] ?? 0;
  return us / 1000;
}

/** Configure time and memory: `rules` rules inheriting a global schema whose enum has `values` values. */
async function configureRun(wasm: Uint8Array, rules: number, values: number): Promise<string> {
  const host = await loadHost(wasm, { pluginName: "ai-json-mode", logLevel: 2 });
  const config = {
    ...CONFIG,
    jsonSchema: { type: "object", properties: { tag: { enum: Array.from({ length: values }, (_, i) => `v${i}`) } } },
    _rules_: Array.from({ length: rules }, (_, i) => ({ _match_route_: [`r${i}`], timeout: 1000 + i })),
  };
  const t = performance.now();
  const ok = host.configure(config);
  const ms = performance.now() - t;
  const mib = host.memoryPages() / 16;
  host.close();
  return `configure ${rules} rules inheriting an enum of ${values}: ${ok ? "accepted" : "REJECTED"} in ${ms.toFixed(0)} ms, memory ${mib.toFixed(1)} MiB`;
}

const perMB = (ms: number, bytes: number) => (bytes > 0 ? ms / (bytes / 1e6) : 0);
/** The wasm frames' share of a sampled phase's time inside the VM calls. */
const share = (p: Phase) => (p.ms > 0 && p.pluginMs !== undefined ? Math.min(1, p.pluginMs / p.ms) : 0);
const fmt = (n: number | undefined, digits = 1) => (n === undefined ? "-" : n.toFixed(digits));

const wasm = new Uint8Array(readFileSync(wasmPath));
const load = loadavg()[0];
if (!asJson) {
  console.log(
    `bench:bounds  ${new Date().toISOString().slice(0, 10)}  ${cpus().length} x ${cpus()[0]?.model ?? "?"}  load ${load.toFixed(2)}  node ${process.version}  ${wasmPath}`,
  );
  console.log(await configureRun(wasm, Math.max(1, Math.round(300 * scale)), Math.max(1, Math.round(20000 * scale))));
}
let session: Session | null = null;
if (profile) {
  session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
}
const rows: Row[] = [];
for (const shape of SHAPES) {
  if (only && !only.includes(shape.name)) continue;
  const input = inputs(shape);
  // Memory: one response on a fresh instance. Time: a response on a warm instance (and sampled, when profiling).
  const row = await run(shape, wasm, input, false, null);
  const timed = await run(shape, wasm, input, true, null);
  row.body.ms = timed.body.ms;
  row.answer.ms = timed.answer.ms;
  if (session) {
    // The module's share of the VM calls' time, sampled (profiling slows everything down a little),
    // applied to the time measured without the profiler.
    const sampled = await run(shape, wasm, input, true, session);
    row.body.pluginMs = row.body.ms * share(sampled.body);
    row.answer.pluginMs = row.answer.ms * share(sampled.answer);
  }
  rows.push(row);
  if (!asJson) {
    const b = row.body;
    const a = row.answer;
    console.log(
      `${row.name.padEnd(28)} size ${row.sizeMiB.toFixed(2).padStart(6)} MiB  peak ${row.peakMiB.toFixed(1).padStart(5)} MiB` +
        ` (bound ${row.boundMiB.toFixed(1)}: ${(row.ratio * 100).toFixed(0)}%)` +
        `  body ${fmt(b.ms, 0)} ms ${fmt(perMB(b.ms, b.bytes))}/MB (plugin ${fmt(b.pluginMs === undefined ? undefined : perMB(b.pluginMs, b.bytes))})` +
        `  answer ${fmt(a.ms, 0)} ms ${fmt(perMB(a.ms, a.bytes))}/MB (plugin ${fmt(a.pluginMs === undefined ? undefined : perMB(a.pluginMs, a.bytes))})` +
        `  ${row.outcome}`,
    );
  }
}
session?.disconnect();

const worstSchema = rows
  .filter((r) => r.schema)
  .sort((x, y) => perMB(y.answer.ms, y.answer.bytes) - perMB(x.answer.ms, x.answer.bytes))[0];
const sseRows = rows.filter((r) => r.sse);
const over = rows.filter((r) => r.ratio > 1 || r.outcome.startsWith("TRAP"));
const slowSchema = rows.filter((r) => r.schema && perMB(r.answer.pluginMs ?? r.answer.ms, r.answer.bytes) > 50);
const slowSse = sseRows.filter((r) => perMB(r.body.pluginMs ?? r.body.ms, r.body.bytes) > 20);
if (asJson) {
  console.log(JSON.stringify({ wasm: wasmPath, scale, load, rows }, null, 1));
} else {
  if (worstSchema)
    console.log(
      `worst answer check: ${worstSchema.name}, ${fmt(perMB(worstSchema.answer.ms, worstSchema.answer.bytes))} ms/MB in the VM call, plugin ${fmt(worstSchema.answer.pluginMs === undefined ? undefined : perMB(worstSchema.answer.pluginMs, worstSchema.answer.bytes))} ms/MB (bound 50)`,
    );
  for (const r of sseRows)
    console.log(
      `SSE collection ${r.name}: ${fmt(perMB(r.body.ms, r.body.bytes))} ms/MB in the VM calls, plugin ${fmt(r.body.pluginMs === undefined ? undefined : perMB(r.body.pluginMs, r.body.bytes))} ms/MB (bound 20)`,
    );
  for (const r of over) console.log(`OVER: ${r.name} (${r.outcome.startsWith("TRAP") ? r.outcome : "memory"})`);
  for (const r of slowSchema) console.log(`SLOW: ${r.name} answer check`);
  for (const r of slowSse) console.log(`SLOW: ${r.name} collection`);
}
process.exit(over.length + slowSchema.length + slowSse.length > 0 ? 1 : 0);
