// npm run fuzz -- [--seed N] [--cases M] [--from I] [--case I] [options]
//
// Fuzzes the compiled plugin (build/plugin.wasm) through the proxy-wasm host:
// generated and mutated upstream bodies, SSE streams, DeepSeek answers,
// headers, chunk splits and configs. Prints progress and a summary; exits 1
// on any failing case, printing its reproducer (seed + case index).
//
//   --seed N          PRNG seed (default 1)
//   --cases M         number of cases (default 10000)
//   --from I          first case index (default 0)
//   --case I          run only case I (same as --from I --cases 1), with its full context
//   --reload-every K  fresh host every K cases (default 2000)
//   --big-every K     one 8 MB case every K cases (default 1000; 0 = none)
//   --max-failures F  stop after F failing cases (default 20)
//   --wasm PATH       module to fuzz (default build/plugin.wasm)
//   --stats           print every counter in the summary
import { existsSync } from "node:fs";
import { DEFAULT_WASM, formatFailure, runFuzz } from "../tests/fuzz/engine.ts";

function parseArgs(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

const KNOWN = ["seed", "cases", "from", "case", "reload-every", "big-every", "max-failures", "wasm", "stats", "help"];

function int(v: string | boolean | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < 0) {
    console.error(`--${name}: expected a non-negative integer, got ${String(v)}`);
    process.exit(2);
  }
  return n;
}

let args: Record<string, string | boolean>;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
if (args.help) {
  console.log(
    "usage: npm run fuzz -- [--seed N] [--cases M] [--from I] [--case I] [--reload-every K] [--big-every K] [--max-failures F] [--wasm PATH] [--stats]",
  );
  process.exit(0);
}
for (const k of Object.keys(args)) {
  if (!KNOWN.includes(k)) {
    console.error(`unknown option --${k} (known: ${KNOWN.map((x) => "--" + x).join(" ")})`);
    process.exit(2);
  }
}

const seed = int(args.seed, "seed", 1);
const single = args.case !== undefined ? int(args.case, "case", 0) : undefined;
const from = single ?? int(args.from, "from", 0);
const cases = single !== undefined ? 1 : int(args.cases, "cases", 10000);
const wasm = typeof args.wasm === "string" ? args.wasm : DEFAULT_WASM;
if (!existsSync(wasm)) {
  console.error(`${wasm}: not found; run npm run build first`);
  process.exit(2);
}

const maxFailures = int(args["max-failures"], "max-failures", 20) || 20;
console.log(`[fuzz] ${wasm}, seed ${seed}, cases ${from}..${from + cases - 1}`);
let lastPrint = performance.now();
const summary = await runFuzz({
  seed,
  from,
  cases,
  wasm,
  reloadEvery: int(args["reload-every"], "reload-every", 2000) || 2000,
  bigEvery: int(args["big-every"], "big-every", 1000),
  maxFailures,
  progress(done, s) {
    const now = performance.now();
    if (now - lastPrint < 2000 && done !== cases) return;
    lastPrint = now;
    const rate = Math.round(done / (s.ms / 1000));
    console.log(
      `[fuzz] ${done}/${cases} cases  ${s.streams} streams  ${s.calls} calls  ${s.failures.length} failing  ${rate} cases/s  ${s.maxPages} pages max`,
    );
  },
});

const st = summary.stats;
const pick = (prefix: string) =>
  Object.entries(st)
    .filter(([k]) => k.startsWith(prefix))
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.slice(prefix.length)} ${v}`)
    .join(", ");
console.log("");
console.log(
  `[fuzz] seed ${seed}: ${summary.cases} cases, ${summary.streams} streams, ${summary.calls} JSON-mode calls in ${(summary.ms / 1000).toFixed(1)} s`,
);
console.log(`[fuzz] outcomes: ${pick("outcome.")}`);
console.log(
  `[fuzz] configs: ${pick("config.") || "-"}; 8 MB cases: ${pick("big.") || "none"}; hosts loaded: ${summary.hosts}; max memory ${summary.maxPages} pages`,
);
if (args.stats) {
  for (const [k, v] of Object.entries(st).sort()) console.log(`  ${k}: ${v}`);
}
if (summary.failures.length) {
  // Group by kind of problem: one example (with its context) per kind.
  const signature = (p: string) =>
    p
      .replace(/^stream \d+ \([^)]*\): /, "")
      .replace(/^neither the original nor a valid (conversion|error): /, "invalid $1: ")
      .replace(/sk-[\w-]+/g, "<key>")
      .replace(
        / (got|expected|for|in a \w+ log line:|differs from|fails|body|output|lacks|headers changed:) .*$/,
        " $1 ...",
      )
      .replace(/\d+/g, "N")
      .slice(0, 140);
  const kinds = new Map<string, { count: number; first: (typeof summary.failures)[number] }>();
  for (const f of summary.failures) {
    for (const p of f.problems) {
      const k = signature(p);
      const e = kinds.get(k);
      if (e) e.count++;
      else kinds.set(k, { count: 1, first: f });
    }
  }
  const stopped =
    summary.failures.length >= maxFailures ? ` (stopped after ${maxFailures}; --max-failures to go on)` : "";
  console.log(
    `\n[fuzz] FAIL: ${summary.failures.length} failing case(s) of ${summary.cases}${stopped}; ${kinds.size} kind(s) of problem:`,
  );
  for (const [k, e] of kinds) console.log(`  ${String(e.count).padStart(6)}  ${k}   (first: case ${e.first.index})`);
  console.log("");
  const shown = new Set<number>();
  for (const { first } of kinds.values()) {
    if (shown.has(first.index) || shown.size >= 10) continue;
    shown.add(first.index);
    console.log(formatFailure(first, true) + "\n");
  }
  process.exit(1);
}
console.log(
  `[fuzz] PASS: no trap, every paused response resumed once, every outcome valid, no key logged, no context left`,
);
