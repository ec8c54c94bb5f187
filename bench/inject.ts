// npm run bench:inject [-- --requests N] [--concurrency C] [--latency MS] [--json]
//
// One call instead of two: strategy rewrite against strategy inject, in the
// same run, through the local gateway with real sockets on 127.0.0.1. Both
// mocks take --latency ms (300 by default) per completion, as a model would.
// Three setups share the mocks and run in turns (a batch each, round after
// round, so drift hits all alike):
//   rewrite                the lesson's flow: the chat model answers prose,
//                          the JSON-mode model rewrites it (two calls);
//   inject                 the chat request asks for JSON and the chat model
//                          complies: its answer is the output (one call);
//   inject, disobeying     the chat model answers prose anyway (x-mock-json:
//                          disobey): the JSON-mode model repairs it.
//
// Reports p50/p90/max latency, chat and JSON-mode calls per request, and
// errors (a request that is not 200 + mode: json + the expected object).
// Targets: 0 errors; with a complying chat model, inject's p50 at most 55% of
// rewrite's and no JSON-mode call. Exits 1 when one is missed.
import http from "node:http";
import { cpus, loadavg } from "node:os";
import { statSync } from "node:fs";
import { flag, intArg, percentile, pluginWasm } from "./cli.ts";
import type { Gateway, LogEntry, MockServer } from "../host/index.ts";

const PATH = "/api/openai/v1/chat/completions";
const TARGET_RATIO = 0.55;

interface Setup {
  name: string;
  gateway: Gateway;
  headers: Record<string, string>;
  latencies: number[];
  errors: number;
  errorSamples: string[];
  chatCalls: number;
  jsonModeCalls: number;
}

/** One request; its latency goes to the setup, a wrong answer counts as an error. */
function one(setup: Setup, agent: http.Agent, i: number): Promise<void> {
  const message = `request ${i}: what is the weather in Hangzhou?`;
  const payload = JSON.stringify({ model: "qwen-plus", messages: [{ role: "user", content: message }] });
  const expected = JSON.stringify({ output: `Mock reply to: ${message}` });
  const fail = (why: string) => {
    setup.errors++;
    if (setup.errorSamples.length < 5) setup.errorSamples.push(`${setup.name}, request ${i}: ${why}`);
  };
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      `${setup.gateway.url}${PATH}`,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(payload)),
          ...setup.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          setup.latencies.push(performance.now() - t0);
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) fail(`status ${res.statusCode}: ${text.slice(0, 120)}`);
          else if (res.headers.mode !== "json") fail(`not converted: ${text.slice(0, 120)}`);
          else if (text !== expected) fail(`unexpected body: ${text.slice(0, 120)}`);
          resolve();
        });
        res.on("error", (e) => {
          fail(e.message);
          resolve();
        });
      },
    );
    req.on("error", (e) => {
      fail(e.message);
      resolve();
    });
    req.end(payload);
  });
}

/** `n` requests at `concurrency`; counts the calls the mocks received meanwhile. */
async function batch(
  setup: Setup,
  n: number,
  concurrency: number,
  first: number,
  chat: MockServer,
  ds: MockServer,
): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const chatBefore = chat.requests.length;
  const dsBefore = ds.requests.length;
  let next = 0;
  const worker = async () => {
    while (next < n) await one(setup, agent, first + next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  agent.destroy();
  setup.chatCalls += chat.requests.length - chatBefore;
  setup.jsonModeCalls += ds.requests.length - dsBefore;
}

const WASM = pluginWasm("inject");
const { startChatMock, startGateway, startJsonModeMock } = await import("../host/index.ts");
const requests = intArg("requests", 60);
const concurrency = intArg("concurrency", 4);
const latency = intArg("latency", 300);
const rounds = intArg("rounds", 3);
const asJson = flag("json");

const chat = await startChatMock({ behavior: { latencyMs: latency } });
const ds = await startJsonModeMock({ behavior: { latencyMs: latency } });
const warnings: string[] = [];
const gatewayFor = (strategy: string) =>
  startGateway({
    config: {
      listen: { host: "127.0.0.1", port: 0 },
      plugin: {
        wasm: WASM,
        name: "ai-json-mode",
        logLevel: "warn" as const,
        config: {
          url: "/v1/chat/completions",
          model: "deepseek-chat",
          apiKey: "sk-inject-bench",
          serviceFQDN: "deepseek.dns",
          serviceHost: "api.deepseek.com",
          timeout: 10000,
          strategy,
        },
      },
      routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: chat.url }],
      clusters: { "outbound|443||deepseek.dns": ds.url },
    } as any,
    port: 0,
    onLog: (e: LogEntry) => e.level >= 3 && warnings.length < 20 && warnings.push(e.message),
  });
const rewriteGw = await gatewayFor("rewrite");
const injectGw = await gatewayFor("inject");
const setup = (name: string, gateway: Gateway, headers: Record<string, string> = {}): Setup => ({
  name,
  gateway,
  headers,
  latencies: [],
  errors: 0,
  errorSamples: [],
  chatCalls: 0,
  jsonModeCalls: 0,
});
const setups = [
  setup("rewrite", rewriteGw),
  setup("inject", injectGw),
  setup("inject, chat model disobeys", injectGw, { "x-mock-json": "disobey" }),
];

// Warm-up (JIT, connections): not measured.
for (const s of setups) {
  const scratch = { ...s, latencies: [], errors: 0, errorSamples: [], chatCalls: 0, jsonModeCalls: 0 };
  await batch(scratch, concurrency, concurrency, 0, chat, ds);
  if (scratch.errors > 0) s.errorSamples.push(...scratch.errorSamples);
  s.errors += scratch.errors;
}
const started = Date.now();
const load = loadavg()[0];
let first = 1000;
for (let r = 0; r < rounds; r++) {
  const n = Math.floor(requests / rounds) + (r < requests % rounds ? 1 : 0);
  for (const s of setups) {
    await batch(s, n, concurrency, first, chat, ds);
    first += n;
  }
}
const seconds = (Date.now() - started) / 1000;
const contexts = [rewriteGw, injectGw].map((g) => g.host!.liveContexts());
await rewriteGw.close();
await injectGw.close();
await chat.close();
await ds.close();

const summary = setups.map((s) => {
  const lat = [...s.latencies].sort((a, b) => a - b);
  return {
    setup: s.name,
    requests: lat.length,
    p50: percentile(lat, 0.5),
    p90: percentile(lat, 0.9),
    max: lat[lat.length - 1],
    chatCallsPerRequest: s.chatCalls / lat.length,
    jsonModeCallsPerRequest: s.jsonModeCalls / lat.length,
    errors: s.errors,
    errorSamples: s.errorSamples,
  };
});
const [rewrite, inject] = summary;
const ratio = inject.p50 / rewrite.p50;
const met = {
  ratio: ratio <= TARGET_RATIO,
  noJsonModeCall: inject.jsonModeCallsPerRequest === 0,
  noErrors: summary.every((s) => s.errors === 0) && contexts.every((c) => c === 0),
};
const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? "?",
  loadAverage: load,
  wasmBytes: statSync(WASM).size,
  latencyMs: latency,
  requestsPerSetup: requests,
  concurrency,
  rounds,
  seconds,
  summary,
  injectOverRewriteP50: ratio,
  targets: met,
  liveContexts: contexts,
  warnings,
};

if (asJson) console.log(JSON.stringify(report, null, 2));
else {
  const f = (x: number) => x.toFixed(1);
  console.log(
    `[inject] ${requests} requests per setup at concurrency ${concurrency}, mocks at ${latency} ms per completion, ${rounds} rounds; node ${process.version}, ${report.cpus} CPU(s) ${report.cpu}, load average ${load.toFixed(2)}`,
  );
  console.log(
    "| setup | requests | p50 ms | p90 ms | max ms | chat calls / request | JSON-mode calls / request | errors |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const s of summary) {
    console.log(
      `| ${s.setup} | ${s.requests} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.max)} | ${s.chatCallsPerRequest.toFixed(2)} | ${s.jsonModeCallsPerRequest.toFixed(2)} | ${s.errors} |`,
    );
  }
  console.log(
    `[inject] inject p50 / rewrite p50 = ${ratio.toFixed(3)} (target <= ${TARGET_RATIO}: ${met.ratio ? "met" : "NOT met"}); JSON-mode calls per request with inject: ${inject.jsonModeCallsPerRequest.toFixed(2)} (target 0: ${met.noJsonModeCall ? "met" : "NOT met"}); live contexts ${contexts.join(", ")}`,
  );
  for (const s of summary) for (const e of s.errorSamples) console.log(`[inject] error: ${e}`);
  for (const w of warnings) console.log(`[inject] warning: ${w}`);
}
process.exit(met.ratio && met.noJsonModeCall && met.noErrors ? 0 : 1);
