// `npm run conformance`: the scenario corpus (tests/conformance/scenarios) and a seeded
// fuzz batch on both hosts -- the real proxy-wasm C++ host (build/cpphost, WAMR, an
// Envoy 1.27 model) and host/ (V8) -- with their normalised transcripts compared
// scenario by scenario. Prints "N scenarios, N identical" (and the first differing
// events of each scenario that differs); exits 1 on any difference.
//
//   npm run conformance                       corpus + 2000 fuzz cases (seed 1)
//   npm run conformance -- --fuzz 0           corpus only
//   npm run conformance -- --fuzz 5000 --seed 7
//   npm run conformance -- --bench [--responses N]   CPU per converted response, both hosts
//
// Without the C++ toolchain or the pinned sources the C++ half is skipped with one
// line saying what is missing (exit 0); with CI=true it is required (exit 1).

import {
  benchCpp,
  benchTs,
  conformance,
  ensurePlugin,
  formatDifferences,
  summary,
  traps,
} from "../tests/conformance/conformance.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(name + "="))?.split("=")[1];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`conformance: ${name} expects a whole number, got ${raw}`);
    process.exit(2);
  }
  return n;
}

if (process.argv.includes("--bench")) {
  // The lesson flow (a chat completion in 16 KiB frames, one call, the body replaced), one
  // converted response per fresh VM, on both hosts: CPU per response (ms).
  ensurePlugin();
  const sizes = [1024, 65536, 1048576];
  const n = option("--responses", 0);
  const lines = [...benchCpp(sizes, n), ...(await benchTs(sizes, n))];
  console.log("| response body | host | CPU per converted response | VM start-up + configuration | responses |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const size of sizes) {
    for (const l of lines.filter((x) => x.size === size)) {
      const label = size >= 1048576 ? `${size / 1048576} MiB` : `${size / 1024} KiB`;
      console.log(
        `| ${label} | ${l.host} | ${l.cpuMsPerResponse.toFixed(2)} ms | ${l.setupCpuMs.toFixed(2)} ms | ${l.converted}/${l.responses} converted |`,
      );
    }
  }
  process.exit(lines.every((l) => l.converted === l.responses) ? 0 : 1);
}

const fuzz = option("--fuzz", 2000);
const seed = option("--seed", 1);
const CI = process.env.CI === "true";
const started = Date.now();
const r = await conformance({ fuzz, seed });
let failed = false;

if (r.build.status !== "ok") {
  const line = r.build.message.split("\n").pop() ?? r.build.message;
  console.log(`C++ host skipped: ${line}`);
  if (r.build.status === "failed") console.log(r.build.message);
  if (CI || r.build.status === "failed") failed = true;
}
if (r.corpus.cppProblem) {
  console.log(r.corpus.cppProblem);
  failed = true;
}
const tsTraps = r.corpus.ts.flatMap((t, i) =>
  r.corpus.scenarios[i]!.expect?.trap ? [] : traps(t).map((x) => `${t.name}: ${x}`),
);
if (tsTraps.length) {
  console.log(`host/: unexpected traps:\n  ${tsTraps.join("\n  ")}`);
  failed = true;
}
if (r.corpus.cpp) {
  const diff = formatDifferences(r.corpusResults);
  if (diff) console.log(diff);
  console.log(summary(r.corpusResults, "scenarios"));
  if (r.corpusResults.some((c) => !c.identical)) failed = true;
} else {
  console.log(`${r.corpus.scenarios.length} scenarios run on host/ only`);
}
if (r.fuzz) {
  if (r.fuzz.cppProblem) {
    console.log(r.fuzz.cppProblem);
    failed = true;
  }
  const trapped = [...r.fuzz.ts, ...(r.fuzz.cpp ?? [])].filter((t) => traps(t).length > 0);
  if (trapped.length) {
    console.log(
      `fuzz: ${trapped.length} transcripts show a trap: ${trapped
        .slice(0, 5)
        .map((t) => t.name)
        .join(", ")}`,
    );
    failed = true;
  }
  if (r.fuzz.cpp) {
    const diff = formatDifferences(r.fuzzResults, 5);
    if (diff) console.log(diff);
    console.log(
      `${summary(r.fuzzResults, `fuzz cases (seed ${seed})`)}; ` +
        `C++ ${(r.fuzz.ms.cpp / 1000).toFixed(1)} s, host/ ${(r.fuzz.ms.ts / 1000).toFixed(1)} s`,
    );
    if (r.fuzzResults.some((c) => !c.identical)) failed = true;
  } else {
    console.log(`${r.fuzz.scenarios.length} fuzz cases run on host/ only`);
  }
}
console.log(`conformance: ${failed ? "FAILED" : "ok"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
