// npm run bench:memory [-- --requests N] [--big-requests N] [--json]
//
// Does the VM's linear memory stay flat? Drives the compiled plugin
// (build/plugin.wasm, built first when missing or stale) through the
// proxy-wasm host API with DeepSeek answered in-process (no sockets, so it is
// fast; see tests/kit/drive.ts) and records the memory size in 64 KiB pages
// at checkpoints:
//   - 100,000 requests with ~2 KB completions, a realistic mix of outcomes
//     (conversions, retries, failed calls, timeouts, SSE, passthroughs,
//     clients going away): pages after 100,000 <= pages after the first 10,000
//     (the heap reaches its working size within 1,000 to 1,500 requests);
//   - 2,000 requests with 1 MB completions (and 1 MB answers):
//     pages after 2,000 <= pages after the first 1,000 (pages after 200 are
//     reported too: the heap settles later with 1 MB bodies).
// Every outcome is counted (converted, original, other, client gone); the
// counts add up to the requests sent, and "other" (neither the conversion nor
// the original status and bytes) must stay 0. It runs on the host's default
// model, Higress's Envoy 1.27 with its 32 KiB buffer limit.
import { fileURLToPath } from "node:url";
import { driveRequests, newHost, WASM, type DriveStats } from "../tests/kit/drive.ts";
import { flag, intArg, pluginWasm } from "./cli.ts";

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

/** Every outcome count of a run; they add up to the requests sent. */
function outcomes(s: DriveStats): string {
  return `${s.converted} converted, ${s.original} original, ${s.other} other, ${s.aborted} client gone`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  pluginWasm("memory");
  const requests = intArg("requests", 100000);
  const bigRequests = intArg("big-requests", 2000);
  const json = flag("json");
  const smallBase = Math.max(1, Math.min(10000, Math.floor(requests / 2)));
  const small = await measure(
    requests,
    2048,
    [1, 100, 1000, smallBase, 10000, 50000, requests].filter((c, i, all) => c <= requests && all.indexOf(c) === i),
  );
  const bigBase = Math.max(1, Math.min(1000, Math.floor(bigRequests / 2)));
  const big = await measure(
    bigRequests,
    1024 * 1024,
    [1, 10, 100, 200, 500, 700, bigBase, bigRequests].filter((c) => c <= bigRequests),
  );
  // "other" would be a response that is neither the conversion nor the original (Envoy's 500, say).
  const okSmall = small.pages[requests] <= small.pages[smallBase] && small.stats.other === 0;
  const okBig = big.pages[bigRequests] <= big.pages[bigBase] && big.stats.other === 0;
  if (json) {
    console.log(JSON.stringify({ small, big, okSmall, okBig }));
  } else {
    const row = (r: MemoryRun) =>
      Object.entries(r.pages)
        .map(([k, v]) => `after ${k}: ${v} pages (${((v * 65536) / 1048576).toFixed(1)} MiB)`)
        .join("\n    ");
    console.log(`[memory] ${WASM}`);
    console.log(
      `[memory] ${requests} requests, ~2 KB completions, mixed outcomes (${outcomes(small.stats)}) in ${(small.ms / 1000).toFixed(1)} s:\n    ${row(small)}`,
    );
    console.log(
      `  -> ${okSmall ? "PASS" : "FAIL"}: pages after ${requests} (${small.pages[requests]}) vs after ${smallBase} (${small.pages[smallBase]}), ${small.stats.other} other`,
    );
    console.log(
      `[memory] ${bigRequests} requests, 1 MB completions and answers (${outcomes(big.stats)}) in ${(big.ms / 1000).toFixed(1)} s:\n    ${row(big)}`,
    );
    console.log(
      `  -> ${okBig ? "PASS" : "FAIL"}: pages after ${bigRequests} (${big.pages[bigRequests]}) vs after ${bigBase} (${big.pages[bigBase]}), ${big.stats.other} other`,
    );
  }
  process.exit(okSmall && okBig ? 0 : 1);
}
