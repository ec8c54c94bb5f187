// node --import tsx scripts/bounds.ts [--wasm FILE] [--only NAME[,NAME]] [--scale F] [--json]
//
// Memory and time bounds of one response, measured on the compiled plugin:
// each shape runs on a fresh instance of the module (so the linear memory it
// ends with is the peak that one response reached: linear memory never
// shrinks), through the proxy-wasm host API: the upstream body goes in, the
// JSON-mode call is answered, the client's response comes out.
//
// Reported per shape: the response size (the larger of the upstream body and
// the JSON-mode answer), the peak linear memory and its ratio to the bound
// 4 x size + 2 MiB, the time of the body callback and of the answer callback
// (ms per MB of the larger body), and the outcome (converted, or passthrough
// and why). `--scale 0.1` runs every shape at a tenth of its size.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadHost } from "../host/host.ts";

const MiB = 1024 * 1024;
const WASM_DEFAULT = fileURLToPath(new URL("../build/plugin.wasm", import.meta.url));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const wasmPath = arg("wasm") ?? WASM_DEFAULT;
const scale = Number(arg("scale") ?? "1");
const only = arg("only")?.split(",");
const asJson = process.argv.includes("--json");

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

/** A JSON array text of about `bytes` bytes repeating `unit` (which includes no comma). */
function arrayOf(unit: string, bytes: number): string {
  const n = Math.max(1, Math.floor(bytes / (unit.length + 1)));
  return "[" + new Array(n).fill(unit).join(",") + "]";
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
  upstream: () => string;
  /** The JSON-mode answer's content (JSON text the model replies with); null: the upstream is SSE or passes. */
  answer?: () => string;
  sse?: boolean;
}

const mb = (n: number) => Math.max(1, Math.round(n * scale * MiB));

const SHAPES: Shape[] = [
  {
    name: "small-values",
    what: '10 MiB completion: "extra":[0,0,0,…] beside choices; small answer',
    upstream: () => completion('"hi"', ',"extra":' + arrayOf("0", mb(10))),
    answer: () => '{"output":"hi"}',
  },
  {
    name: "small-values-openai",
    what: "same, output: openai (the completion is rewritten)",
    config: { output: "openai" },
    upstream: () => completion('"hi"', ',"extra":' + arrayOf("0", mb(10))),
    answer: () => '{"output":"hi"}',
  },
  {
    name: "one-string",
    what: '10 MiB completion whose content is one string; the answer echoes it ({"output": content})',
    upstream: () => completion(JSON.stringify("x".repeat(mb(10)))),
    answer: () => JSON.stringify({ output: "x".repeat(mb(10)) }),
  },
  {
    name: "one-string-openai",
    what: "same, output: openai",
    config: { output: "openai" },
    upstream: () => completion(JSON.stringify("x".repeat(mb(10)))),
    answer: () => JSON.stringify({ output: "x".repeat(mb(10)) }),
  },
  {
    name: "schema-items",
    what: '8 MiB answer {"output":[0,0,…]} under a schema with items: {type: integer}',
    config: { jsonSchema: INTEGER_ITEMS },
    upstream: () => completion('"list some zeros"'),
    answer: () => '{"output":' + arrayOf("0", mb(8)) + "}",
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
    answer: () => '{"output":' + arrayOf('{"a":1,"b":"x"}', mb(8)) + "}",
  },
  {
    name: "answer-empty-arrays",
    what: '8 MiB answer {"output":[[],[],…]} (no schema)',
    upstream: () => completion('"list some arrays"'),
    answer: () => '{"output":' + arrayOf("[]", mb(8)) + "}",
  },
  {
    name: "unique-deep",
    what: "uniqueItems over 2,000 distinct items nested 33 deep (141 KB answer)",
    config: { jsonSchema: { type: "object", properties: { output: { type: "array", uniqueItems: true } } } },
    upstream: () => completion('"unique"'),
    answer: () => '{"output":' + nestedDistinct(Math.max(2, Math.round(2000 * scale)), 33) + "}",
  },
  {
    name: "unique-flat",
    what: "uniqueItems over 1 MiB of distinct integers",
    config: { jsonSchema: { type: "object", properties: { output: { type: "array", uniqueItems: true } } } },
    upstream: () => completion('"unique"'),
    answer: () => {
      const n = Math.floor(mb(1) / 8);
      return '{"output":[' + Array.from({ length: n }, (_, i) => String(1000000 + i)).join(",") + "]}";
    },
  },
  {
    name: "sse-small-events",
    what: "10 MiB SSE stream of small delta events",
    sse: true,
    upstream: () => {
      const ev = 'data: {"choices":[{"index":0,"delta":{"content":"ab"}}]}\n\n';
      const n = Math.floor(mb(10) / ev.length);
      return ev.repeat(n) + "data: [DONE]\n\n";
    },
    answer: () => '{"output":"ab"}',
  },
];

function answerBody(content: string): string {
  return completion(JSON.stringify(content));
}

interface Row {
  name: string;
  sizeMiB: number;
  peakMiB: number;
  boundMiB: number;
  ratio: number;
  bodyMs: number;
  answerMs: number;
  bodyMsPerMB: number;
  answerMsPerMB: number;
  outcome: string;
}

async function run(shape: Shape, wasm: Uint8Array): Promise<Row> {
  const host = await loadHost(wasm, { pluginName: "ai-json-mode", logLevel: 2 });
  if (!host.configure({ ...CONFIG, ...(shape.config ?? {}) })) throw new Error(`${shape.name}: config rejected`);
  const upstream = Buffer.from(shape.upstream());
  const answer = shape.answer ? Buffer.from(answerBody(shape.answer())) : Buffer.alloc(0);
  const size = Math.max(upstream.length, answer.length);
  const s = host.stream({ routeName: "r" });
  s.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, true);
  s.responseHeaders({
    ":status": "200",
    "content-type": shape.sse ? "text/event-stream" : "application/json",
    "content-length": String(upstream.length),
  });
  const trace = process.argv.includes("--trace");
  if (trace) console.log(`  ${shape.name}: ${(host.memoryPages() / 16).toFixed(1)} MiB at start`);
  let t = performance.now();
  s.responseBody(upstream, true);
  const bodyMs = performance.now() - t;
  if (trace) console.log(`  ${shape.name}: ${(host.memoryPages() / 16).toFixed(1)} MiB after the body`);
  let answerMs = 0;
  const call = host.pendingCalls()[0];
  if (call) {
    t = performance.now();
    host.answer(call, 200, { "content-type": "application/json" }, answer);
    answerMs = performance.now() - t;
  }
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
    sizeMiB,
    peakMiB: peak / MiB,
    boundMiB: 4 * sizeMiB + 2,
    ratio: peak / MiB / (4 * sizeMiB + 2),
    bodyMs,
    answerMs,
    bodyMsPerMB: bodyMs / (upstream.length / 1e6),
    answerMsPerMB: answer.length > 0 ? answerMs / (answer.length / 1e6) : 0,
    outcome,
  };
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
  return `configure ${rules} rules, enum of ${values}: ${ok ? "accepted" : "REJECTED"} in ${ms.toFixed(0)} ms, memory ${mib.toFixed(1)} MiB`;
}

const wasm = new Uint8Array(readFileSync(wasmPath));
if (!only || only.includes("configure")) {
  const line = await configureRun(wasm, Math.max(1, Math.round(300 * scale)), Math.max(1, Math.round(20000 * scale)));
  if (!asJson) console.log(line);
}
const rows: Row[] = [];
for (const shape of SHAPES) {
  if (only && !only.includes(shape.name)) continue;
  const row = await run(shape, wasm);
  rows.push(row);
  if (!asJson) {
    console.log(
      `${row.name.padEnd(22)} size ${row.sizeMiB.toFixed(2).padStart(6)} MiB  peak ${row.peakMiB.toFixed(1).padStart(7)} MiB` +
        ` (bound ${row.boundMiB.toFixed(1)}: ${(row.ratio * 100).toFixed(0)}%)  body ${row.bodyMs.toFixed(0)} ms` +
        ` (${row.bodyMsPerMB.toFixed(1)}/MB)  answer ${row.answerMs.toFixed(0)} ms (${row.answerMsPerMB.toFixed(1)}/MB)  ${row.outcome}`,
    );
  }
}
if (asJson) console.log(JSON.stringify({ wasm: wasmPath, scale, rows }, null, 1));
const over = rows.filter((r) => r.ratio > 1 || r.outcome.startsWith("TRAP"));
process.exit(over.length > 0 ? 1 : 0);
