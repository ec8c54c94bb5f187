// npm run bench:memory [-- --requests N] [--big-requests N] [--json]
//
// Does the VM's linear memory stay flat? Drives the compiled plugin
// (build/plugin.wasm) through the proxy-wasm host API with DeepSeek answered
// in-process (no sockets, so it is fast) and records the memory size in
// 64 KiB pages at checkpoints:
//   - 100,000 requests with ~2 KB completions, a realistic mix of outcomes
//     (conversions, retries, failed calls, timeouts, SSE, passthroughs,
//     clients going away): pages after 100,000 <= pages after the first 1,000;
//   - 2,000 requests with 1 MB completions (and 1 MB answers):
//     pages after 2,000 <= pages after the first 1,000 (pages after 200 are
//     reported too: the heap settles later with 1 MB bodies).
// Also exported: driveRequests(), used by tests/faults/memory.test.ts.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadHost, type ProxyWasmHost } from "../host/index.ts";

export const WASM = fileURLToPath(new URL("../build/plugin.wasm", import.meta.url));

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Completion content of about `size` bytes of UTF-8 (ASCII and CJK, some escapes). */
export function contentOfSize(size: number, salt = 0): string {
  const unit = `The weather in Hangzhou is sunny, 25°C. 杭州今天天气晴朗。 "quoted" line\n#${salt} `;
  const n = Math.max(1, Math.ceil(size / Buffer.byteLength(unit)));
  return unit.repeat(n).slice(0, Math.max(1, Math.floor(size * 0.85)));
}

export function completion(content: string): string {
  return JSON.stringify({
    choices: [{ message: { role: "assistant", content }, finish_reason: "stop", index: 0, logprobs: null }],
    object: "chat.completion",
    usage: { prompt_tokens: 9, completion_tokens: 38, total_tokens: 47, prompt_tokens_details: { cached_tokens: 0 } },
    created: 1764142512,
    system_fingerprint: null,
    model: "qwen-max",
    id: "chatcmpl-6f0c2b7e-3a51-9d4e-8c1b-2f5e7a9d0c11",
  });
}

export function answer(json: string): string {
  return JSON.stringify({
    id: "3c9f1e52-7d0a-4b6e-9a1f-5e2d8c4b7a90",
    object: "chat.completion",
    created: 1764142514,
    model: "deepseek-chat",
    choices: [{ index: 0, message: { role: "assistant", content: json }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 71, completion_tokens: 45, total_tokens: 116 },
  });
}

function sse(content: string): string {
  let out = 'data: {"choices":[{"delta":{"content":"","role":"assistant"},"index":0}],"object":"chat.completion.chunk","model":"qwen-max","id":"x"}\n\n';
  for (let i = 0; i < content.length; i += 64) out += `data: ${JSON.stringify({ choices: [{ delta: { content: content.slice(i, i + 64) }, index: 0 }], object: "chat.completion.chunk" })}\n\n`;
  return out + "data: [DONE]\n\n";
}

export const CONFIG = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: "sk-memory-bench",
  serviceFQDN: "deepseek.dns",
  maxRetries: 2,
};

export async function newHost(): Promise<ProxyWasmHost> {
  const host = await loadHost(readFileSync(WASM), { pluginName: "ai-json-mode", logLevel: 3 /* warn: keep the host's log array small */ });
  if (!host.configure(CONFIG)) throw new Error("config rejected");
  return host;
}

export interface DriveOptions {
  /** Completion size in bytes. */
  bodySize: number;
  /** Chunk size the upstream body is delivered in (default 16 KiB). */
  chunkSize?: number;
  /** The realistic mix of outcomes (default) or conversions only. */
  mix?: boolean;
  seed?: number;
  /** Called after request i (1-based) completes. */
  onRequest?: (i: number, host: ProxyWasmHost) => void;
}

export interface DriveStats {
  converted: number;
  original: number;
  other: number;
}

/**
 * Runs `n` requests through `host`. Throws on a trap, a stream left
 * unresumed or a context left alive (so a bench run is also a check).
 */
export function driveRequests(host: ProxyWasmHost, n: number, o: DriveOptions): DriveStats {
  const rand = rng(o.seed ?? 1);
  const chunk = o.chunkSize ?? 16384;
  const content = contentOfSize(o.bodySize);
  const bodies = {
    completion: Buffer.from(completion(content)),
    sse: Buffer.from(sse(content)),
    answer: Buffer.from(answer(JSON.stringify({ output: content }))),
    empty: Buffer.from(answer("")),
    notJson: Buffer.from("<html>upstream error</html>"),
  };
  const stats: DriveStats = { converted: 0, original: 0, other: 0 };
  for (let i = 1; i <= n; i++) {
    const r = o.mix === false ? 0 : rand();
    const kind =
      r < 0.7 ? "ok" : r < 0.76 ? "retry" : r < 0.82 ? "status500" : r < 0.86 ? "timeout" : r < 0.89 ? "reset" : r < 0.93 ? "sse" : r < 0.96 ? "notjson" : r < 0.98 ? "abort" : "upstream500";
    const s = host.stream({ routeName: "json-route" });
    s.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw", "accept-encoding": "gzip" }, false);
    s.requestBody('{"model":"qwen-max","messages":[{"role":"user","content":"hi"}]}', true);
    const body = kind === "sse" ? bodies.sse : kind === "notjson" ? bodies.notJson : bodies.completion;
    s.responseHeaders({
      ":status": kind === "upstream500" ? "500" : "200",
      "content-type": kind === "sse" ? "text/event-stream" : "application/json",
      "content-length": String(body.length),
    });
    for (let off = 0; off < body.length; off += chunk) s.responseBody(body.subarray(off, off + chunk), off + chunk >= body.length);
    if (kind === "abort") s.done();
    let guard = 0;
    for (let call = host.pendingCalls()[0]; call; call = host.pendingCalls()[0]) {
      if (++guard > 10) throw new Error("retry loop");
      if (kind === "status500") host.answer(call, 500, { "content-type": "application/json" }, '{"error":{"type":"server_error"}}');
      else if (kind === "timeout") host.timeout(call);
      else if (kind === "reset") host.reset(call);
      else if (kind === "retry" && guard === 1) host.answer(call, 200, { "content-type": "application/json" }, bodies.empty);
      else host.answer(call, 200, { "content-type": "application/json" }, bodies.answer);
    }
    if (host.failed) throw new Error(`request ${i} (${kind}): the VM trapped: ${host.failure?.message}`);
    if (kind !== "abort") {
      if (!s.complete) throw new Error(`request ${i} (${kind}): the response did not complete`);
      if (s.header("mode") === "json") stats.converted++;
      else if (s.body.length === body.length) stats.original++;
      else stats.other++;
      s.done();
    }
    if (host.liveContexts() !== 0) throw new Error(`request ${i}: ${host.liveContexts()} contexts alive`);
    host.logs.length = 0;
    o.onRequest?.(i, host);
  }
  return stats;
}

export interface MemoryRun {
  requests: number;
  bodySize: number;
  /** Pages after request N. */
  pages: Record<number, number>;
  stats: DriveStats;
  ms: number;
}

export async function measure(requests: number, bodySize: number, checkpoints: number[]): Promise<MemoryRun> {
  const host = await newHost();
  const pages: Record<number, number> = { 0: host.memoryPages() };
  const started = performance.now();
  const stats = driveRequests(host, requests, {
    bodySize,
    onRequest: (i, h) => {
      if (checkpoints.includes(i)) pages[i] = h.memoryPages();
    },
  });
  const ms = performance.now() - started;
  host.close();
  return { requests, bodySize, pages, stats, ms };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`--${name}: expected a positive integer`);
    process.exit(2);
  }
  return v;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const requests = arg("requests", 100000);
  const bigRequests = arg("big-requests", 2000);
  const json = process.argv.includes("--json");
  const small = await measure(requests, 2048, [1, 100, 1000, 10000, 50000, requests].filter((c) => c <= requests));
  const bigBase = Math.max(1, Math.min(1000, Math.floor(bigRequests / 2)));
  const big = await measure(bigRequests, 1024 * 1024, [1, 10, 100, 200, 500, 700, bigBase, bigRequests].filter((c) => c <= bigRequests));
  const okSmall = small.pages[requests] <= small.pages[Math.min(1000, requests)];
  const okBig = big.pages[bigRequests] <= big.pages[bigBase];
  if (json) {
    console.log(JSON.stringify({ small, big, okSmall, okBig }));
  } else {
    const row = (r: MemoryRun) =>
      Object.entries(r.pages)
        .map(([k, v]) => `after ${k}: ${v} pages (${((v * 65536) / 1048576).toFixed(1)} MiB)`)
        .join("\n    ");
    console.log(`[memory] ${WASM}`);
    console.log(`[memory] ${requests} requests, ~2 KB completions, mixed outcomes (${small.stats.converted} converted, ${small.stats.original} original) in ${(small.ms / 1000).toFixed(1)} s:\n    ${row(small)}`);
    console.log(`  -> ${okSmall ? "PASS" : "FAIL"}: pages after ${requests} (${small.pages[requests]}) ${okSmall ? "<=" : ">"} pages after ${Math.min(1000, requests)} (${small.pages[Math.min(1000, requests)]})`);
    console.log(`[memory] ${bigRequests} requests, 1 MB completions and answers (${big.stats.converted} converted, ${big.stats.original} original) in ${(big.ms / 1000).toFixed(1)} s:\n    ${row(big)}`);
    console.log(`  -> ${okBig ? "PASS" : "FAIL"}: pages after ${bigRequests} (${big.pages[bigRequests]}) ${okBig ? "<=" : ">"} pages after ${bigBase} (${big.pages[bigBase]})`);
  }
  process.exit(okSmall && okBig ? 0 : 1);
}
