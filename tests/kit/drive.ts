// Requests driven through the host API with DeepSeek answered in-process
// (no sockets, so it is fast): a realistic mix of outcomes (conversions,
// retries, failed calls, timeouts, resets, SSE, passthroughs, clients going
// away). Used by tests/faults/memory.test.ts and `npm run bench:memory`;
// the completion and answer bodies also by `npm run bench`.
import { readFileSync } from "node:fs";
import { loadHost, type HostOptions, type ProxyWasmHost } from "../../host/index.ts";
import { WASM } from "./wasm.ts";

export { WASM };

/** Small deterministic PRNG (mulberry32): numbers in [0, 1) from a seed. */
export function rng(seed: number): () => number {
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
  let out =
    'data: {"choices":[{"delta":{"content":"","role":"assistant"},"index":0}],"object":"chat.completion.chunk","model":"qwen-max","id":"x"}\n\n';
  for (let i = 0; i < content.length; i += 64)
    out += `data: ${JSON.stringify({ choices: [{ delta: { content: content.slice(i, i + 64) }, index: 0 }], object: "chat.completion.chunk" })}\n\n`;
  return out + "data: [DONE]\n\n";
}

export const CONFIG = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: "sk-memory-bench",
  serviceFQDN: "deepseek.dns",
  maxRetries: 2,
};

export async function newHost(wasm: string = WASM, opts: HostOptions = {}): Promise<ProxyWasmHost> {
  const host = await loadHost(readFileSync(wasm), {
    pluginName: "ai-json-mode",
    logLevel: 3 /* warn: keep the host's log array small */,
    ...opts,
  });
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

/** Outcomes of the requests driven; they add up to the number of requests. */
export interface DriveStats {
  /** Converted to JSON (mode: json). */
  converted: number;
  /** The client got the upstream's body as it was. */
  original: number;
  /** Completed otherwise (neither converted nor the original status and bytes: Envoy's 500, say). */
  other: number;
  /** The client went away while the response waited for the JSON-mode call (no outcome to check). */
  aborted: number;
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
  const stats: DriveStats = { converted: 0, original: 0, other: 0, aborted: 0 };
  for (let i = 1; i <= n; i++) {
    const r = o.mix === false ? 0 : rand();
    const kind =
      r < 0.7
        ? "ok"
        : r < 0.76
          ? "retry"
          : r < 0.82
            ? "status500"
            : r < 0.86
              ? "timeout"
              : r < 0.89
                ? "reset"
                : r < 0.93
                  ? "sse"
                  : r < 0.96
                    ? "notjson"
                    : r < 0.98
                      ? "abort"
                      : "upstream500";
    const s = host.stream({ routeName: "json-route" });
    s.requestHeaders(
      { ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw", "accept-encoding": "gzip" },
      false,
    );
    s.requestBody('{"model":"qwen-max","messages":[{"role":"user","content":"hi"}]}', true);
    const body = kind === "sse" ? bodies.sse : kind === "notjson" ? bodies.notJson : bodies.completion;
    s.responseHeaders({
      ":status": kind === "upstream500" ? "500" : "200",
      "content-type": kind === "sse" ? "text/event-stream" : "application/json",
      "content-length": String(body.length),
    });
    for (let off = 0; off < body.length; off += chunk)
      s.responseBody(body.subarray(off, off + chunk), off + chunk >= body.length);
    if (kind === "abort") s.done();
    let guard = 0;
    for (let call = host.pendingCalls()[0]; call; call = host.pendingCalls()[0]) {
      if (++guard > 10) throw new Error("retry loop");
      if (kind === "status500")
        host.answer(call, 500, { "content-type": "application/json" }, '{"error":{"type":"server_error"}}');
      else if (kind === "timeout") host.timeout(call);
      else if (kind === "reset") host.reset(call);
      else if (kind === "retry" && guard === 1)
        host.answer(call, 200, { "content-type": "application/json" }, bodies.empty);
      else host.answer(call, 200, { "content-type": "application/json" }, bodies.answer);
    }
    if (host.failed) throw new Error(`request ${i} (${kind}): the VM trapped: ${host.failure?.message}`);
    if (kind === "abort") stats.aborted++;
    else {
      if (!s.complete) throw new Error(`request ${i} (${kind}): the response did not complete`);
      if (s.header("mode") === "json") stats.converted++;
      else if (s.status === (kind === "upstream500" ? 500 : 200) && Buffer.from(s.body).equals(body)) stats.original++;
      else stats.other++;
      s.done();
    }
    if (host.liveContexts() !== 0) throw new Error(`request ${i}: ${host.liveContexts()} contexts alive`);
    host.logs.length = 0;
    o.onRequest?.(i, host);
  }
  return stats;
}
