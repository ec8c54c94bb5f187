// One scenario corpus, two hosts: runs the corpus (and a seeded fuzz batch) on the
// C++ embedder (proxy-wasm-cpp-host on WAMR, Envoy 1.27 model) and on host/ (V8),
// and compares the normalised transcripts scenario by scenario (compare.ts). Used by
// `npm run conformance` (scripts/conformance.ts) and conformance.test.ts.

import { spawnSync } from "node:child_process";
import { compareTranscripts, type Comparison } from "./compare.ts";
import {
  CPPHOST,
  ROOT,
  WASM,
  buildCppHost,
  compileTrapModule,
  ensurePlugin,
  loadScenarios,
  runCppHost,
  type BuildResult,
  type Scenario,
  type Transcript,
} from "./corpus.ts";
import { fuzzScenarios } from "./fuzz.ts";
import { runTsHost } from "./ts-runner.ts";

export { WASM, ensurePlugin };

export interface HostRuns {
  scenarios: Scenario[];
  ts: Transcript[];
  /** null when the C++ host could not be built (see build). */
  cpp: Transcript[] | null;
  /** What went wrong running the C++ host (exit status, stderr), if anything. */
  cppProblem: string;
  ms: { ts: number; cpp: number };
}

/** Runs scenarios on both hosts (the C++ one only when `build` is ok). */
export async function runBoth(scenarios: Scenario[], build: BuildResult, withTrap = true): Promise<HostRuns> {
  const modules: Record<string, string> = withTrap ? { trap: await compileTrapModule() } : {};
  let started = Date.now();
  const ts = await runTsHost(WASM, scenarios, modules);
  const tsMs = Date.now() - started;
  let cpp: Transcript[] | null = null;
  let cppProblem = "";
  let cppMs = 0;
  if (build.status === "ok") {
    started = Date.now();
    const run = runCppHost(WASM, scenarios, modules);
    cppMs = Date.now() - started;
    if (run.status !== 0 || run.signal !== null)
      cppProblem = `the C++ runner exited ${run.status ?? run.signal}: ${run.stderr.slice(-2000)}`;
    if (run.transcripts.length !== scenarios.length)
      cppProblem ||= `${run.transcripts.length} C++ transcripts for ${scenarios.length} scenarios`;
    cpp = run.transcripts;
  }
  return { scenarios, ts, cpp, cppProblem, ms: { ts: tsMs, cpp: cppMs } };
}

/** Compares the two hosts' transcripts, scenario by scenario. */
export function compareRuns(runs: HostRuns): Comparison[] {
  if (!runs.cpp) return [];
  return runs.scenarios.map((s, i) => {
    const a = runs.cpp![i];
    const b = runs.ts[i];
    if (!a || !b || a.name !== s.name || b.name !== s.name) {
      return {
        name: s.name,
        identical: false,
        documented: [],
        parts: ["errors"],
        diff: [`no transcript for ${s.name} on ${!a || a.name !== s.name ? "the C++ host" : "host/"}`],
      } satisfies Comparison;
    }
    return compareTranscripts(a, b);
  });
}

/** The corpus and `fuzz` seeded random cases, on both hosts. */
export async function conformance(opts: { fuzz: number; seed: number }): Promise<{
  build: BuildResult;
  corpus: HostRuns;
  corpusResults: Comparison[];
  fuzz: HostRuns | null;
  fuzzResults: Comparison[];
}> {
  ensurePlugin();
  const build = buildCppHost();
  const corpus = await runBoth(loadScenarios(), build);
  const corpusResults = compareRuns(corpus);
  let fuzz: HostRuns | null = null;
  let fuzzResults: Comparison[] = [];
  if (opts.fuzz > 0) {
    fuzz = await runBoth(fuzzScenarios(opts.fuzz, opts.seed), build, false);
    fuzzResults = compareRuns(fuzz);
  }
  return { build, corpus, corpusResults, fuzz, fuzzResults };
}

/** Traps in a transcript (the plugin never traps; the trap scenarios say `expect.trap`). */
export function traps(t: Transcript): string[] {
  return t.events.filter((e) => e.ev === "vm_failed").map((e) => `${String(e.vm)} in ${String(e.fn)}`);
}

/** A readable report of the differences: the first differing events per scenario. */
export function formatDifferences(results: Comparison[], max = 10): string {
  const lines: string[] = [];
  for (const r of results.filter((r) => !r.identical).slice(0, max)) {
    lines.push(`✗ ${r.name} (${r.parts.join(", ")})`);
    for (const l of r.diff) lines.push(`    ${l}`);
  }
  const more = results.filter((r) => !r.identical).length - max;
  if (more > 0) lines.push(`  … and ${more} more`);
  return lines.join("\n");
}

/** "N scenarios, N identical" (plus how many needed a documented difference left out). */
export function summary(results: Comparison[], noun: string): string {
  const same = results.filter((r) => r.identical);
  const documented = same.filter((r) => r.documented.length > 0).length;
  return (
    `${results.length} ${noun}, ${same.length} identical` +
    (documented ? ` (${documented} with a documented difference left out, docs/host.md)` : "")
  );
}

// ---- bench: CPU per converted response on both hosts ------------------------------

/** An OpenAI chat completion of exactly `size` bytes (as the C++ `bench` builds it). */
function completionOfSize(size: number): string {
  const prefix =
    '{"id":"chatcmpl-bench","object":"chat.completion","model":"qwen-max","choices":[{"index":0,' +
    '"message":{"role":"assistant","content":"';
  const suffix = '"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}';
  const words = "Alice is 30 years old and lives in Hangzhou. ";
  const middle = Math.max(0, size - prefix.length - suffix.length);
  return prefix + words.repeat(Math.ceil(middle / words.length)).slice(0, middle) + suffix;
}

/** The C++ `bench` scenario: `responses` lesson flows of one size, in frames of `chunk` bytes. */
export function benchScenario(size: number, responses: number, chunk: number): Scenario {
  const body = completionOfSize(size);
  const answer = JSON.stringify({
    id: "x",
    object: "chat.completion",
    choices: [
      { index: 0, message: { role: "assistant", content: '{"name":"Alice","age":30}' }, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
  });
  const steps: Scenario["steps"] = [];
  for (let i = 0; i < responses; i++) {
    const stream = `s${i}`;
    steps.push(
      {
        stream,
        requestHeaders: [
          [":method", "POST"],
          [":path", "/v1/chat/completions"],
          [":authority", "gw"],
          [":scheme", "http"],
        ],
        endStream: true,
      },
      {
        stream,
        responseHeaders: [
          [":status", "200"],
          ["content-type", "application/json"],
          ["content-length", String(body.length)],
        ],
      },
      { stream, responseBody: body, chunkSize: chunk, endStream: true },
      { answer: i + 1, status: 200, headers: { "content-type": "application/json" }, body: answer },
    );
  }
  return {
    name: `bench-${size}`,
    bufferLimit: 256 * 1024 * 1024,
    clusters: { "outbound|443||deepseek.dns": "healthy" },
    config: {
      url: "https://api.deepseek.com/v1/chat/completions",
      model: "deepseek-chat",
      apiKey: "sk-bench",
      serviceFQDN: "deepseek.dns",
      servicePort: 443,
    },
    steps,
  };
}

export interface BenchLine {
  host: "WAMR (C++ host)" | "V8 (host/)";
  size: number;
  responses: number;
  converted: number;
  cpuMsPerResponse: number;
  setupCpuMs: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * host/: CPU time (ms) of the scenario's steps -- one response from its request
 * headers to the converted body, the runner's own bookkeeping included -- in a VM that
 * just started and took its configuration (the C++ `bench` gets the same figure by
 * subtracting a run without the response). `setupCpuMs`: start-up and configuration.
 */
export async function benchTs(sizes: number[], n: number, chunk = 16384): Promise<BenchLine[]> {
  const out: BenchLine[] = [];
  await runTsHost(WASM, [benchScenario(1024, 1, chunk)], {}, { quiet: true }); // warm-up
  for (const size of sizes) {
    const count = n > 0 ? n : size >= 1024 * 1024 ? 5 : size >= 65536 ? 20 : 100;
    let steps = 0;
    let total = 0;
    let converted = 0;
    const one = [benchScenario(size, 1, chunk)];
    for (let i = 0; i < count; i++) {
      let ms = 0;
      const c0 = cpuMs();
      const [t] = await runTsHost(WASM, one, {}, { quiet: true, stepsCpu: (x) => (ms = x) });
      total += cpuMs() - c0;
      steps += ms;
      if (t && t.clients.s0?.headers.some(([k, v]) => k === "mode" && v === "json")) converted++;
    }
    out.push({
      host: "V8 (host/)",
      size,
      responses: count,
      converted,
      cpuMsPerResponse: Number((steps / count).toFixed(3)),
      setupCpuMs: Number(((total - steps) / count).toFixed(3)),
    });
  }
  return out;
}

/** `ai-json-mode-cpphost bench` (WAMR fast interpreter). */
export function benchCpp(sizes: number[], n: number, chunk = 16384): BenchLine[] {
  const args = ["bench", WASM, "--sizes", sizes.join(","), "--chunk", String(chunk)];
  if (n > 0) args.push("--responses", String(n));
  const r = spawnSync(CPPHOST, args, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ai-json-mode-cpphost bench failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split("\n")
    .map(
      (l) =>
        JSON.parse(l) as {
          size: number;
          responses: number;
          converted: number;
          cpuMsPerResponse: number;
          setupCpuMs: number;
        },
    )
    .map((l) => ({
      host: "WAMR (C++ host)",
      size: l.size,
      responses: l.responses,
      converted: l.converted,
      cpuMsPerResponse: l.cpuMsPerResponse,
      setupCpuMs: l.setupCpuMs,
    }));
}
