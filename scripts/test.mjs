#!/usr/bin/env node
// `npm test`: builds the plugin, runs the as-pect unit specs and the node:test
// suites (end-to-end, host, image, schema...), then prints one closing line
//   N passed, N failed
// covering both. Exits non-zero on any failure or compile error.
//
//   npm test                         everything
//   npm test -- tests/e2e/x.test.ts  only the named node:test files (and no specs)
//   npm test -- --unit               only the as-pect specs
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const named = args.filter((a) => !a.startsWith("--"));

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

function run(cmd, argv, { echo = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, FORCE_COLOR: "0" } });
    let out = "";
    const take = (chunk) => {
      const s = chunk.toString();
      out += s;
      if (echo) process.stdout.write(s);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => resolve({ code: code ?? 1, out: strip(out) }));
  });
}

function findTests(dir, suffix, found = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, suffix, found);
    else if (name.endsWith(suffix)) found.push(relative(root, p));
  }
  return found.sort();
}

let passed = 0;
let failed = 0;

const build = await run(process.execPath, ["scripts/build.mjs"]);
if (build.code !== 0) {
  console.log("\nbuild failed");
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}

if (named.length === 0) {
  await run(process.execPath, ["scripts/gen-fixtures.mjs"]);
  // as-pect: "[Tests]: P / T" per run; a compile error reports nothing and exits 1.
  const asp = await run(process.execPath, ["node_modules/@as-pect/cli/bin/asp.js", "--config", "as-pect.config.mjs", "--summary"]);
  const m = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(asp.out);
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]) - Number(m[1]);
  }
  if (asp.code !== 0 && (!m || Number(m[1]) === Number(m[2]))) failed += 1; // compile error or crash
  console.log(`as-pect: ${m ? `${m[1]} of ${m[2]} passed` : "no result (compile error?)"}`);
}

if (!unitOnly) {
  const files = named.length ? named : findTests(join(root, "tests"), ".test.ts");
  if (files.length) {
    const r = await run(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files]);
    const p = /^\s*ℹ pass (\d+)/m.exec(r.out);
    const f = /^\s*ℹ fail (\d+)/m.exec(r.out);
    const c = /^\s*ℹ cancelled (\d+)/m.exec(r.out);
    if (p) passed += Number(p[1]);
    if (f) failed += Number(f[1]);
    if (c) failed += Number(c[1]);
    if (r.code !== 0 && (!f || Number(f[1]) === 0) && (!c || Number(c[1]) === 0)) failed += 1;
  }
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
