#!/usr/bin/env node
// `npm test`: builds the plugin, then runs every suite and prints one short line
// each: the as-pect unit specs, each node:test file, the type check (tsc) and the
// format check (prettier). A failing suite's whole output follows the list; the
// last line counts the tests of all suites:
//   N passed, N failed, N skipped
// The type check and the format check count as one test each. Exits non-zero on
// any failure (a build or compile error counts as one).
//
//   npm test                         everything
//   npm test -- --verbose            everything, with every suite's whole output
//   npm test -- tests/e2e/x.test.ts  only the named node:test files
//   npm test -- --unit               only the as-pect specs
//
// Colours: child processes run with FORCE_COLOR=0 and whatever colour codes they
// print anyway (as-pect always does) are removed; this script colours its own
// marks only on a terminal.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const OPTIONS = new Set(["--unit", "--verbose"]);
const args = process.argv.slice(2);
const wrong = args.filter((a) => a.startsWith("-") && !OPTIONS.has(a));
if (wrong.length) {
  console.error(`npm test: unknown option ${wrong.join(" ")} (known: ${[...OPTIONS].join(", ")}, or test files)`);
  process.exit(2);
}
const unitOnly = args.includes("--unit");
const verbose = args.includes("--verbose");
const named = args.filter((a) => !a.startsWith("-"));

const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code, s) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const strip = (s) => s.replace(ANSI, "");

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = []; // [title, output]

/**
 * Runs a command; resolves with its exit code and its output, stdout and stderr in the
 * order they came (colour codes removed). With `onStdout`, stdout goes there instead.
 */
function run(cmd, argv, { onStdout } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, FORCE_COLOR: "0" } });
    let out = "";
    child.stdout.on("data", (chunk) => {
      const s = chunk.toString();
      if (onStdout) onStdout(s);
      else out += s;
    });
    child.stderr.on("data", (chunk) => (out += chunk.toString()));
    child.on("error", (e) => (out += `${cmd}: ${e.message}\n`));
    child.on("close", (code, signal) => {
      if (signal) out += `(killed by ${signal})\n`;
      resolve({ code: code ?? 1, out: strip(out) });
    });
  });
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const NAME_WIDTH = 38;

function counts({ passed, failed, skipped }) {
  const parts = passed || !(failed || skipped) ? [`${passed} passed`] : [];
  if (failed) parts.push(`${failed} failed`);
  if (skipped) parts.push(`${skipped} skipped`);
  return parts.join(", ");
}

/** One line per suite; adds its counts to the totals and keeps a failure's output for the end. */
function report(name, result, { ms, output = "", note = "", reasons = {} } = {}) {
  totals.passed += result.passed;
  totals.failed += result.failed;
  totals.skipped += result.skipped;
  const mark = result.failed ? paint("31", "✖") : paint("32", "✔");
  const time = ms === undefined ? "" : `  (${seconds(ms)})`;
  console.log(`${mark} ${name.padEnd(NAME_WIDTH)} ${counts(result)}${note ? `: ${note}` : ""}${time}`);
  for (const [reason, n] of Object.entries(reasons)) console.log(`    ${paint("33", `skipped ${n}`)}: ${reason}`);
  const text = output.replace(/\s+$/, "");
  if (verbose && text) console.log(`${text}\n`);
  else if (result.failed && text) failures.push([name, text]);
}

function finish() {
  if (failures.length) {
    for (const [name, text] of failures) {
      console.log(`\n${paint("31", `── ${name} ${"─".repeat(Math.max(3, 72 - name.length))}`)}`);
      console.log(text);
    }
  }
  console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(totals.failed > 0 ? 1 : 0);
}

function findTests(dir, suffix, found = []) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "json-schema-test-suite") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, suffix, found);
    else if (name.endsWith(suffix)) found.push(relative(root, p));
  }
  return found.sort();
}

const node = process.execPath;
let t = Date.now();

// --- build ---------------------------------------------------------------------
{
  const r = await run(node, ["scripts/build.mjs"]);
  if (r.code !== 0) {
    report("build", { passed: 0, failed: 1, skipped: 0 }, { ms: Date.now() - t, output: r.out });
    finish();
  }
  const size = /build\/plugin\.wasm: (\d+) bytes/.exec(r.out);
  const mark = paint("32", "✔");
  console.log(
    `${mark} ${"build".padEnd(NAME_WIDTH)} ${size ? `plugin.wasm ${size[1]} bytes` : "done"}  (${seconds(Date.now() - t)})`,
  );
  if (verbose) console.log(`${r.out.replace(/\s+$/, "")}\n`);
}

// --- as-pect -------------------------------------------------------------------
if (named.length === 0) {
  t = Date.now();
  const gen = await run(node, ["scripts/gen-fixtures.mjs"]);
  const r =
    gen.code === 0
      ? await run(node, ["node_modules/@as-pect/cli/bin/asp.js", "--config", "as-pect.config.mjs", "--summary"])
      : gen;
  // Drop the logo: everything before the "AS-pect ... Test suite runner" line.
  const lines = r.out.split("\n");
  const start = lines.findIndex((l) => /AS-pect.*Test suite runner/.test(l));
  const output = (start > 0 ? lines.slice(start) : lines).join("\n");
  // Per spec file: "✔ tests/unit/x.spec.ts Pass: 17 / 17 Todo: 0 Time: ..."; xit/xtest/todo count as Todo.
  const perFile = [...output.matchAll(/ (\S+\.spec\.ts) Pass: (\d+) \/ (\d+) Todo: (\d+)/g)];
  const total = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(output);
  const result = { passed: 0, failed: 0, skipped: 0 };
  for (const m of perFile) result.skipped += Number(m[4]);
  if (total) {
    result.passed = Number(total[1]);
    result.failed = Number(total[2]) - Number(total[1]);
  } else {
    for (const m of perFile) {
      result.passed += Number(m[2]);
      result.failed += Number(m[3]) - Number(m[2]);
    }
  }
  // A compile error or a crash stops as-pect before its summary, with no failed test to show for it.
  let note = plural(perFile.length, "spec file");
  if (r.code !== 0 && result.failed === 0) {
    result.failed += 1;
    note = gen.code !== 0 ? "scripts/gen-fixtures.mjs failed" : "stopped before its summary (compile error?)";
  }
  report("as-pect", result, {
    ms: Date.now() - t,
    output,
    note,
    reasons: result.skipped ? { "todo, xit or xtest": result.skipped } : {},
  });
}

// --- node:test -----------------------------------------------------------------
if (!unitOnly) {
  const files = named.length ? named : findTests(join(root, "tests"), ".test.ts");
  if (files.length) {
    const reporter = pathToFileURL(join(root, "scripts", "test-reporter.mjs")).href;
    let pending = "";
    let other = "";
    let fileFailures = 0;
    const seen = new Set();
    const take = (s) => {
      pending += s;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let f = null;
        try {
          f = JSON.parse(line);
        } catch {
          // not a line of the reporter's
        }
        if (typeof f?.file !== "string") {
          other += line + "\n";
          continue;
        }
        seen.add(f.file);
        fileFailures += f.failed;
        report(f.file, f, { ms: f.ms, output: strip(f.text), reasons: f.reasons });
      }
    };
    const r = await run(
      node,
      ["--import", "tsx", "--test", `--test-reporter=${reporter}`, "--test-reporter-destination=stdout", ...files],
      {
        onStdout: take,
      },
    );
    take("\n");
    // node --test itself failed (a file it could not find, a reporter error...) with no failed test to show for it.
    const unreported = files.filter((f) => !seen.has(relative(root, resolve(root, f))));
    if ((r.code !== 0 && fileFailures === 0) || unreported.length) {
      const note = unreported.length ? `no result for ${unreported.join(", ")}` : `exited with code ${r.code}`;
      report("node --test", { passed: 0, failed: 1, skipped: 0 }, { output: (other + r.out).trim(), note });
    }
  }
}

// --- typecheck and format ------------------------------------------------------
if (named.length === 0 && !unitOnly) {
  t = Date.now();
  const tsc = await run(node, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--pretty", "false"]);
  const errors = [...tsc.out.matchAll(/^(.+?)\(\d+,\d+\): error TS\d+/gm)];
  const errorFiles = new Set(errors.map((m) => m[1]));
  report(
    "typecheck",
    { passed: tsc.code === 0 ? 1 : 0, failed: tsc.code === 0 ? 0 : 1, skipped: 0 },
    {
      ms: Date.now() - t,
      output: tsc.out,
      note:
        tsc.code === 0
          ? "tsc -p tsconfig.json"
          : errors.length
            ? `${plural(errors.length, "error")} in ${plural(errorFiles.size, "file")}`
            : `tsc exited with code ${tsc.code}`,
    },
  );

  t = Date.now();
  const fmt = await run(node, ["node_modules/prettier/bin/prettier.cjs", "--check", "."]);
  const unformatted = [...fmt.out.matchAll(/^\[warn\] (?!Code style issues)(.+)$/gm)].map((m) => m[1]);
  let note = "prettier --check .";
  if (fmt.code !== 0) {
    note = unformatted.length
      ? `${plural(unformatted.length, "file")} not formatted (npm run format writes them)`
      : "prettier could not check the tree";
  }
  report(
    "format",
    { passed: fmt.code === 0 ? 1 : 0, failed: fmt.code === 0 ? 0 : 1, skipped: 0 },
    {
      ms: Date.now() - t,
      output: fmt.out,
      note,
    },
  );
}

finish();
