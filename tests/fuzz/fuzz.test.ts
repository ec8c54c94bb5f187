// Fuzzing the compiled plugin through the proxy-wasm host with a fixed seed
// (see tests/fuzz/engine.ts for what each case does and checks). Longer runs:
//   npm run fuzz -- --seed N --cases M
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { DEFAULT_WASM, formatFailure, runFuzz } from "./engine.ts";

const SEED = 20251126;
const CASES = 5000;

test(
  `fuzz: ${CASES} cases, seed ${SEED}: no trap, one resume per pause, original bytes or a valid conversion, no key logged, no context left`,
  { timeout: 300_000 },
  async (t) => {
    assert.ok(existsSync(DEFAULT_WASM), "build/plugin.wasm is missing: run npm run build");
    const summary = await runFuzz({ seed: SEED, cases: CASES, bigEvery: 1000, maxFailures: 25 });
    const outcomes = Object.entries(summary.stats)
      .filter(([k]) => k.startsWith("outcome."))
      .map(([k, v]) => `${k.slice(8)} ${v}`)
      .join(", ");
    t.diagnostic(
      `${summary.cases} cases, ${summary.streams} streams, ${summary.calls} calls in ${(summary.ms / 1000).toFixed(1)} s; ${outcomes}; max ${summary.maxPages} pages`,
    );
    assert.equal(
      summary.failures.length,
      0,
      `${summary.failures.length} failing case(s)${summary.cases < CASES ? ` (stopped after ${summary.cases} cases)` : ""}:\n\n` +
        summary.failures
          .slice(0, 5)
          .map((f) => formatFailure(f, true))
          .join("\n\n"),
    );
    assert.equal(summary.cases, CASES);
    // Enough of each outcome for the run to mean something.
    assert.ok((summary.stats["outcome.converted"] ?? 0) > CASES / 10, "too few conversions");
    assert.ok((summary.stats["outcome.original"] ?? 0) > CASES / 10, "too few passthroughs");
    assert.ok((summary.stats["outcome.error"] ?? 0) > 0, "no onFailure: error outcome");
    assert.ok(
      (summary.stats["big.content"] ?? 0) + (summary.stats["big.sse"] ?? 0) + (summary.stats["big.answer"] ?? 0) >= 3,
      "the 8 MB cases did not run",
    );
  },
);
