// npm run bench [-- --iterations-scale F] [--sizes 1k,64k,1m] [--content mixed,ascii] [--wasm PATH]
//
// Plugin CPU time per response, measured around the VM calls with DeepSeek
// answered in-process:
//   phase 1: the last (here: the only) response body chunk -> the call is
//            dispatched (proxy_on_response_body returns),
//   phase 2: the call's answer -> the response is resumed
//            (proxy_on_http_call_response returns),
// for 1 KB, 64 KB and 1 MB completions, in µs (median, p90) and MB/s of
// completion, side by side with tests/kit/reference.ts: the same transform in
// plain TypeScript with V8's JSON.parse / JSON.stringify / TextDecoder /
// TextEncoder. The plugin figures include the host's share (copying the
// body into the VM, reading the call and the new body out), as in Envoy.
// Target: within 2x of the V8 figure at 64 KB and 1 MB. Also prints the
// size of the release build/plugin.wasm (target: at most 64 KB), which is
// built first when missing or stale (not with --wasm). The host runs its
// default model, Higress's Envoy 1.27 with its 32 KiB stream buffer limit
// (which the plugin raises for the responses it holds).
import { readFileSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { loadHost } from "../host/index.ts";
import { completion } from "../tests/kit/drive.ts";
import * as ref from "../tests/kit/reference.ts";
import { arg, percentile, pluginWasm } from "./cli.ts";

const WASM = pluginWasm("bench", true);
const CONFIG = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: "sk-speed-bench",
  serviceFQDN: "deepseek.dns",
};

/** Completion content of about `size` bytes: English prose with quotes and newlines, plus Chinese unless `ascii`. */
function contentOfSize(size: number, ascii: boolean): string {
  const unit = ascii
    ? 'The forecast for Hangzhou: sunny, 25 C, light wind from the "east".\nTomorrow: cloudy, 22 C, showers in the evening. Details: humidity 40%, UV index 6.\n'
    : 'The forecast for Hangzhou: sunny, 25°C, light wind from the "east".\n杭州今天天气晴朗，最高气温二十五度，东风二级。 Details: humidity 40%, UV index 6.\n';
  let s = unit.repeat(Math.ceil(size / Buffer.byteLength(unit)));
  // Trim so the whole completion body is close to `size` bytes.
  while (Buffer.byteLength(completion(s)) > size && s.length > 1)
    s = s.slice(0, Math.max(1, s.length - Math.ceil((Buffer.byteLength(completion(s)) - size) / 3)));
  return s;
}

/** DeepSeek's answer: the JSON object (pretty-printed, as the model writes it) as the content. */
function answer(content: string): string {
  return JSON.stringify({
    id: "3c9f1e52-7d0a-4b6e-9a1f-5e2d8c4b7a90",
    object: "chat.completion",
    created: 1764142514,
    model: "deepseek-chat",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: JSON.stringify({ output: content }, null, 2) },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: {
      prompt_tokens: 71,
      completion_tokens: 45,
      total_tokens: 116,
      prompt_tokens_details: { cached_tokens: 64 },
    },
    system_fingerprint: "fp_ffc7281d48_prod0820_fp8_kvcache",
  });
}

function stats(samples: number[]): { median: number; p90: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: percentile(s, 0.5), p90: percentile(s, 0.9), min: s[0] };
}

interface Row {
  label: string;
  kind: string;
  bytes: number;
  answerBytes: number;
  iterations: number;
  plugin: { p1: ReturnType<typeof stats>; p2: ReturnType<typeof stats>; total: ReturnType<typeof stats> };
  v8: { p1: ReturnType<typeof stats>; p2: ReturnType<typeof stats>; total: ReturnType<typeof stats> };
}

const SIZES: Record<string, [number, number]> = {
  "1k": [1024, 4000],
  "64k": [64 * 1024, 600],
  "1m": [1024 * 1024, 60],
};

const scale = Number(arg("iterations-scale") ?? 1);
const sizes = (arg("sizes") ?? "1k,64k,1m").split(",");
const kinds = (arg("content") ?? "mixed,ascii").split(",");
const host = await loadHost(readFileSync(WASM), { pluginName: "ai-json-mode", logLevel: 3 });
if (!host.configure(CONFIG)) throw new Error("config rejected");
const encoder = new TextEncoder();

const rows: Row[] = [];
for (const kind of kinds)
  for (const label of sizes) {
    const [size, baseIterations] = SIZES[label] ?? [Number(label), 200];
    const iterations = Math.max(5, Math.round(baseIterations * scale));
    const warmup = Math.max(3, Math.round(iterations / 5));
    const content = contentOfSize(size, kind === "ascii");
    const body = encoder.encode(completion(content));
    const ans = encoder.encode(answer(content));
    const expected = JSON.stringify({ output: content });
    const p1: number[] = [];
    const p2: number[] = [];
    const tot: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const s = host.stream({ routeName: "r" });
      s.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, true);
      s.responseHeaders({
        ":status": "200",
        "content-type": "application/json",
        "content-length": String(body.length),
      });
      const t0 = performance.now();
      s.responseBody(body, true);
      const t1 = performance.now();
      const [call] = host.pendingCalls();
      if (!call) throw new Error(`${label}: no call dispatched (${host.logs.map((l) => l.message).join("; ")})`);
      const t2 = performance.now();
      host.answer(call, 200, { "content-type": "application/json" }, ans);
      const t3 = performance.now();
      if (s.resumed !== 1 || s.header("mode") !== "json")
        throw new Error(`${label}: not converted: ${host.logs.map((l) => l.message).join("; ")}`);
      if (i === 0 && s.bodyText !== expected) throw new Error(`${label}: wrong output`);
      s.done();
      if (i >= warmup) {
        p1.push((t1 - t0) * 1000);
        p2.push((t3 - t2) * 1000);
        tot.push((t1 - t0 + t3 - t2) * 1000);
      }
    }
    const r1: number[] = [];
    const r2: number[] = [];
    const rt: number[] = [];
    const opts = { model: CONFIG.model };
    for (let i = 0; i < warmup + iterations; i++) {
      const t0 = performance.now();
      const request = ref.phase1(body, opts);
      const t1 = performance.now();
      const out = ref.phase2(ans);
      const t2 = performance.now();
      if (!request || !out) throw new Error("reference failed");
      if (i >= warmup) {
        r1.push((t1 - t0) * 1000);
        r2.push((t2 - t1) * 1000);
        rt.push((t2 - t0) * 1000);
      }
    }
    rows.push({
      label,
      kind,
      bytes: body.length,
      answerBytes: ans.length,
      iterations,
      plugin: { p1: stats(p1), p2: stats(p2), total: stats(tot) },
      v8: { p1: stats(r1), p2: stats(r2), total: stats(rt) },
    });
  }

const wasmSize = statSync(WASM).size;
const mbps = (bytes: number, us: number) => (bytes / 1048576 / (us / 1e6)).toFixed(1);
const f = (us: number) => (us >= 100 ? us.toFixed(0) : us.toFixed(1));
console.log(
  `[bench] ${WASM} (${wasmSize} bytes; target <= 65536: ${wasmSize <= 65536 ? "met" : `over by ${wasmSize - 65536}`})`,
);
console.log(
  `[bench] node ${process.version}, ${cpus().length} CPU(s): ${cpus()[0]?.model ?? "?"}; median of N iterations (p90 in parentheses), µs per response\n`,
);
console.log(
  "| content | completion | answer | N | plugin phase 1 | plugin phase 2 | plugin total | plugin MB/s | V8 phase 1 | V8 phase 2 | V8 total | V8 MB/s | plugin / V8 |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const ratio = r.plugin.total.median / r.v8.total.median;
  console.log(
    `| ${r.kind === "ascii" ? "ASCII" : "EN+ZH"} | ${r.label} (${r.bytes} B) | ${r.answerBytes} B | ${r.iterations} | ${f(r.plugin.p1.median)} (${f(r.plugin.p1.p90)}) | ${f(r.plugin.p2.median)} (${f(r.plugin.p2.p90)}) | ${f(r.plugin.total.median)} | ${mbps(r.bytes, r.plugin.total.median)} | ${f(r.v8.p1.median)} (${f(r.v8.p1.p90)}) | ${f(r.v8.p2.median)} (${f(r.v8.p2.p90)}) | ${f(r.v8.total.median)} | ${mbps(r.bytes, r.v8.total.median)} | ${ratio.toFixed(2)}x${r.label !== "1k" ? (ratio <= 2 ? " (target met)" : " (target: <= 2x)") : ""} |`,
  );
}
host.close();
