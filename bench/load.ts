// npm run bench:load [-- --requests N] [--concurrency C] [--warmup W] [--json]
//
// Load through the local gateway with real sockets on 127.0.0.1: the chat
// mock as the route's upstream, the JSON-mode mock as DeepSeek. The same
// gateway code runs twice in this process: with the plugin (build/plugin.wasm)
// and with `plugin.enabled: false`, measured in the same run (off, on, off,
// on: each half of N requests, so drift hits both alike). The load client
// and the mocks run in child processes so the gateway has this process's
// event loop to itself.
//
// Reports throughput, latency (p50, p90, p99, max), the latency the plugin
// adds (on - off; it includes the JSON-mode call's round trip), errors (any
// failed request, wrong status or body not as expected: must be 0), and the
// VM's memory pages before and after. Exits 1 on any error.
//
// The plugin is built first when missing or stale. No child outlives the
// run: the parent kills its children when it exits (or is interrupted), and
// a child exits as soon as its IPC channel to the parent closes.
import { fork, type ChildProcess } from "node:child_process";
import http from "node:http";
import { cpus } from "node:os";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PLUGIN_WASM as WASM } from "../host/build.ts";
import { arg, flag, intArg, percentile, pluginWasm } from "./cli.ts";
import type { LogEntry } from "../host/index.ts";

const SELF = fileURLToPath(import.meta.url);
const PATH = "/api/openai/v1/chat/completions";

const role = arg("role") ?? "main";

// ---------------------------------------------------------------------------
// Child: the mocks

// A child goes when its parent goes (the IPC channel closes, even on SIGKILL).
if (role !== "main") process.on("disconnect", () => process.exit(0));

if (role === "mocks") {
  const { startChatMock, startJsonModeMock } = await import("../host/index.ts");
  const chat = await startChatMock();
  const deepseek = await startJsonModeMock();
  process.send!({ chat: chat.url, deepseek: deepseek.url });
  process.on("message", async (m: { type: string }) => {
    if (m.type === "count") process.send!({ chat: chat.requests.length, deepseek: deepseek.requests.length });
    if (m.type === "close") {
      await chat.close();
      await deepseek.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------
// Child: the load client

interface LoadJob {
  type: "run";
  url: string;
  requests: number;
  concurrency: number;
  expect: "on" | "off";
}

interface LoadResult {
  latencies: number[];
  errors: number;
  errorSamples: string[];
  ms: number;
}

function runLoad(job: LoadJob): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let next = 0;
  const fail = (why: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(why);
  };
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const payload = JSON.stringify({
        model: "qwen-max",
        messages: [{ role: "user", content: `request ${i}: what is the weather in Hangzhou?` }],
      });
      const t0 = performance.now();
      const req = http.request(
        `${job.url}${PATH}`,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            latencies.push(performance.now() - t0);
            const text = Buffer.concat(chunks).toString();
            try {
              if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
              const v = JSON.parse(text);
              if (job.expect === "on") {
                if (res.headers.mode !== "json" || typeof v.output !== "string" || !v.output.includes(`request ${i}:`))
                  throw new Error("not converted");
              } else if (res.headers.mode !== undefined || !v.choices?.[0]?.message?.content?.includes(`request ${i}:`))
                throw new Error("not the chat completion");
            } catch (e) {
              fail(`request ${i}: ${(e as Error).message}: ${text.slice(0, 120)}`);
            }
            resolve();
          });
          res.on("error", (e) => {
            fail(`request ${i}: ${e.message}`);
            resolve();
          });
        },
      );
      req.on("error", (e) => {
        fail(`request ${i}: ${e.message}`);
        resolve();
      });
      req.end(payload);
    });
  const worker = async () => {
    while (next < job.requests) await one(next++);
  };
  const t0 = performance.now();
  return Promise.all(Array.from({ length: job.concurrency }, worker)).then(() => {
    agent.destroy();
    return { latencies, errors, errorSamples, ms: performance.now() - t0 };
  });
}

if (role === "client") {
  process.on("message", async (m: LoadJob | { type: "close" }) => {
    if (m.type === "close") process.exit(0);
    else process.send!(await runLoad(m as LoadJob));
  });
  process.send!({ ready: true });
}

// ---------------------------------------------------------------------------
// Main: the gateways, the phases, the report

const children = new Set<ChildProcess>();

/** Kills every child still running (on exit, on a signal, after an error). */
function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  children.clear();
}

function child(r: string): Promise<{ proc: ChildProcess; first: any }> {
  const proc = fork(SELF, ["--role", r], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return new Promise((resolve, reject) => {
    proc.once("message", (first) => resolve({ proc, first }));
    proc.once("exit", (code) => reject(new Error(`${r} process exited with ${code}`)));
  });
}

function ask<T>(proc: ChildProcess, msg: object): Promise<T> {
  return new Promise((resolve) => {
    proc.once("message", (m) => resolve(m as T));
    proc.send(msg);
  });
}

if (role === "main") {
  process.on("exit", killChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killChildren();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
  pluginWasm("load");
  const { startGateway } = await import("../host/index.ts");
  const requests = intArg("requests", 10000, 0);
  const concurrency = intArg("concurrency", 100, 0);
  const warmup = intArg("warmup", 1000, 0);
  const asJson = flag("json");

  const mocks = await child("mocks");
  const client = await child("client");
  const { chat, deepseek } = mocks.first as { chat: string; deepseek: string };

  const gatewayConfig = (enabled: boolean) => ({
    listen: { host: "127.0.0.1", port: 0 },
    plugin: {
      wasm: WASM,
      enabled,
      name: "ai-json-mode",
      logLevel: "warn" as const,
      config: {
        url: "/v1/chat/completions",
        model: "deepseek-chat",
        apiKey: "sk-load-bench",
        serviceFQDN: "deepseek.dns",
        serviceHost: "api.deepseek.com",
        timeout: 10000,
      },
    },
    routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: chat }],
    clusters: { "outbound|443||deepseek.dns": deepseek },
  });
  const warnings: string[] = [];
  const on = await startGateway({
    config: gatewayConfig(true),
    port: 0,
    onLog: (e: LogEntry) => e.level >= 3 && warnings.length < 20 && warnings.push(e.message),
  });
  const off = await startGateway({ config: gatewayConfig(false), port: 0 });
  const host = on.host!;

  const run = (url: string, n: number, expect: "on" | "off") =>
    ask<LoadResult>(client.proc, { type: "run", url, requests: n, concurrency, expect } satisfies LoadJob);

  // Warm-up (JIT, connections, the VM's heap): not measured.
  const pagesStart = host.memoryPages();
  if (warmup > 0) {
    await run(off.url, warmup, "off");
    await run(on.url, warmup, "on");
  }
  const pagesAfterWarmup = host.memoryPages();
  const results: Record<"on" | "off", LoadResult[]> = { on: [], off: [] };
  const half = Math.ceil(requests / 2);
  for (const [mode, n] of [
    ["off", half],
    ["on", half],
    ["off", requests - half],
    ["on", requests - half],
  ] as const) {
    if (n > 0) results[mode].push(await run(mode === "on" ? on.url : off.url, n, mode));
  }
  const pagesEnd = host.memoryPages();
  const counts = await ask<{ chat: number; deepseek: number }>(mocks.proc, { type: "count" });

  const summarize = (rs: LoadResult[]) => {
    const lat = rs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const ms = rs.reduce((s, r) => s + r.ms, 0);
    return {
      requests: lat.length,
      errors: rs.reduce((s, r) => s + r.errors, 0),
      errorSamples: rs.flatMap((r) => r.errorSamples),
      rps: lat.length / (ms / 1000),
      p50: percentile(lat, 0.5),
      p90: percentile(lat, 0.9),
      p99: percentile(lat, 0.99),
      max: lat[lat.length - 1],
      mean: lat.reduce((s, x) => s + x, 0) / lat.length,
    };
  };
  const sOn = summarize(results.on);
  const sOff = summarize(results.off);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    wasmBytes: statSync(WASM).size,
    requests,
    concurrency,
    warmup,
    on: sOn,
    off: sOff,
    added: { p50: sOn.p50 - sOff.p50, p90: sOn.p90 - sOff.p90, p99: sOn.p99 - sOff.p99, mean: sOn.mean - sOff.mean },
    vm: {
      pagesStart,
      pagesAfterWarmup,
      pagesEnd,
      liveContexts: host.liveContexts(),
      failed: host.failed,
      pendingCalls: host.pendingCalls().length,
    },
    deepseekCalls: counts.deepseek,
    warnings,
  };
  client.proc.send({ type: "close" });
  mocks.proc.send({ type: "close" });
  await on.close();
  await off.close();

  const errors = sOn.errors + sOff.errors + (report.vm.liveContexts !== 0 || report.vm.failed ? 1 : 0);
  if (asJson) console.log(JSON.stringify(report, null, 2));
  else {
    const f = (x: number) => x.toFixed(1);
    console.log(
      `[load] ${requests} requests per mode at concurrency ${concurrency} (after ${warmup} warm-up requests per mode), node ${process.version}, ${report.cpus} CPU(s) ${report.cpu}`,
    );
    console.log("| mode | requests | errors | throughput (req/s) | p50 ms | p90 ms | p99 ms | max ms |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const [name, s] of [
      ["plugin off", sOff],
      ["plugin on", sOn],
    ] as const) {
      console.log(
        `| ${name} | ${s.requests} | ${s.errors} | ${s.rps.toFixed(0)} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.p99)} | ${f(s.max)} |`,
      );
    }
    console.log(
      `| added by the plugin | | | ${(sOn.rps - sOff.rps).toFixed(0)} | +${f(report.added.p50)} | +${f(report.added.p90)} | +${f(report.added.p99)} | |`,
    );
    console.log(
      `[load] DeepSeek calls: ${counts.deepseek} (expected ${requests + warmup}); VM memory: ${pagesStart} pages at start, ${pagesAfterWarmup} after warm-up, ${pagesEnd} at the end (${((pagesEnd * 65536) / 1048576).toFixed(1)} MiB); live contexts ${report.vm.liveContexts}; VM failed: ${report.vm.failed}`,
    );
    for (const e of [...sOff.errorSamples, ...sOn.errorSamples]) console.log(`[load] error: ${e}`);
    if (warnings.length)
      console.log(`[load] plugin warnings (first ${warnings.length}): ${warnings.slice(0, 3).join(" | ")}`);
    console.log(errors ? `[load] FAIL: ${errors} error(s)` : "[load] PASS: 0 errors");
  }
  process.exit(errors ? 1 : 0);
}
