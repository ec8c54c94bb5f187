// One scenario corpus, two hosts: every scenario of tests/conformance/scenarios runs
// on host/ (V8, tests/conformance/ts-runner.ts) and on the real proxy-wasm C++ host
// (build/cpphost, WAMR, an Envoy 1.27 model), and the two normalised transcripts must
// be identical (compare.ts: every call into the VM, every state-changing host call
// with its arguments and result, log lines, what went upstream and to each client,
// the calls and the metrics). On host/ the corpus's promises (the scenarios'
// `expect`) and the invariants must hold too. Then a seeded fuzz batch
// (CONFORMANCE_FUZZ_CASES, default 2000; CONFORMANCE_FUZZ_SEED, default 1) runs on
// both hosts: no trap, identical transcripts case by case.
//
// Without cmake, a C++ compiler, OpenSSL headers or the pinned tarballs the C++ half
// is skipped with the build script's one line saying what is missing; under CI=true
// it is required.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkExpectations, checkInvariants, buildCppHost, loadScenarios } from "./corpus.ts";
import { DOCUMENTED_DIFFERENCES } from "./compare.ts";
import type { Scenario, TEvent, Transcript } from "./corpus.ts";
import { compareRuns, ensurePlugin, formatDifferences, runBoth, summary, traps } from "./conformance.ts";
import { fuzzScenarios } from "./fuzz.ts";

const CI = process.env.CI === "true";
ensurePlugin();
const build = buildCppHost();
const missing = build.status === "ok" ? "" : (build.message.split("\n").pop() ?? build.message);
const skipCpp = build.status === "ok" ? false : `C++ host not available: ${missing}`;

test(
  "the C++ host is available (required under CI=true)",
  { skip: build.status === "missing" && !CI ? skipCpp : false },
  () => {
    assert.equal(build.status, "ok", build.message);
  },
);

/** The scenario's promises as host/ can keep them: events a documented difference leaves out are not expected. */
function onHostTs(s: Scenario, tr: Transcript): Scenario {
  const docs = DOCUMENTED_DIFFERENCES.filter((d) => d.applies(tr));
  if (!docs.length || !s.expect?.events) return s;
  const events = s.expect.events.filter((e) => !docs.some((d) => d.ignore(e as TEvent)));
  return { ...s, expect: { ...s.expect, events } };
}

const scenarios = loadScenarios();
const corpus = await runBoth(scenarios, build);
const results = compareRuns(corpus);

test("the corpus runs on the C++ host: one transcript per scenario", { skip: skipCpp }, () => {
  assert.equal(corpus.cppProblem, "");
});

for (const [i, s] of scenarios.entries()) {
  test(`${s.name}: host/ keeps the corpus's promises`, async (t) => {
    const tr = corpus.ts[i]!;
    assert.equal(tr.name, s.name);
    const affects = s.knownIssueAffects ?? ["outcome"];
    await t.test("invariants", { todo: affects.includes("invariants") ? s.knownIssue : undefined }, () => {
      assert.deepEqual(checkInvariants(s, tr), []);
    });
    await t.test("outcome", { todo: affects.includes("outcome") ? s.knownIssue : undefined }, () => {
      assert.deepEqual(checkExpectations(onHostTs(s, tr), tr), []);
    });
  });
  test(`${s.name}: identical transcripts on both hosts`, { skip: skipCpp }, () => {
    const r = results[i]!;
    assert.ok(r.identical, formatDifferences([r]));
  });
}

test("the corpus on both hosts: N scenarios, N identical", { skip: skipCpp }, () => {
  const line = summary(results, "scenarios");
  assert.ok(
    results.every((r) => r.identical),
    `${line}\n${formatDifferences(results)}`,
  );
});

const fuzzCases = Number(process.env.CONFORMANCE_FUZZ_CASES ?? 2000);
const fuzzSeed = Number(process.env.CONFORMANCE_FUZZ_SEED ?? 1);

test(`fuzz: ${fuzzCases} seeded cases (seed ${fuzzSeed}) on both hosts, no trap, identical transcripts`, async () => {
  const runs = await runBoth(fuzzScenarios(fuzzCases, fuzzSeed), build, false);
  const trapped = [...runs.ts, ...(runs.cpp ?? [])].filter((t) => traps(t).length > 0).map((t) => t.name);
  assert.deepEqual(trapped.slice(0, 10), [], `${trapped.length} transcripts show a trap`);
  assert.equal(runs.ts.length, fuzzCases);
  if (!runs.cpp) return; // the C++ half is skipped (see the first test)
  assert.equal(runs.cppProblem, "");
  const compared = compareRuns(runs);
  assert.ok(
    compared.every((r) => r.identical),
    `${summary(compared, "fuzz cases")}\n${formatDifferences(compared, 5)}`,
  );
});
