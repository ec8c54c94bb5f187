// The failure codes the docs name are the plugin's: the set is read from the
// compiled code (a small module built from assembly/jsonmode/failure.ts that
// returns FAILURE_CODES), and must equal the lists in README.md and
// README.zh-CN.md (the onFailure: error paragraph and the failed.<code> metric
// row). The codes named in plugin-config.schema.json are among them, every
// FailureCode constant is in FAILURE_CODES, and the plugin spells no code as a
// bare string outside failure.ts.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { root } from "./schema-util.ts";

const FAILURE_TS = join(root, "assembly", "jsonmode", "failure.ts");

/** Compiles a module exporting FAILURE_CODES (joined by newlines) and returns the list. */
function compiledFailureCodes(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "failure-codes-"));
  try {
    const entry = join(dir, "entry.ts");
    const from = relative(dir, FAILURE_TS).replace(/\\/g, "/").replace(/\.ts$/, "");
    writeFileSync(
      entry,
      `import { FAILURE_CODES } from "${from}";\n` +
        `export function failureCodes(): string { return FAILURE_CODES.join("\\n"); }\n`,
    );
    const out = join(dir, "entry.wasm");
    const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
    const r = spawnSync(process.execPath, [asc, entry, "-o", out, "--runtime", "stub", "-O1"], {
      cwd: dir,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`asc failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(out)), {
      env: {
        abort: () => {
          throw new Error("abort");
        },
      },
    });
    const ptr = (exports.failureCodes as () => number)();
    const mem = (exports.memory as WebAssembly.Memory).buffer;
    // An AssemblyScript string: UTF-16, its byte length stored 4 bytes before the data.
    const len = new Uint32Array(mem, ptr - 4, 1)[0];
    return Buffer.from(mem, ptr, len).toString("utf16le").split("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The backticked words of `text`. */
function codesIn(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** The part of `text` from `start` up to the first `end` after it. */
function between(text: string, start: string, end: string, where: string): string {
  const i = text.indexOf(start);
  assert.ok(i >= 0, `${where}: "${start}" not found`);
  const j = text.indexOf(end, i + start.length);
  assert.ok(j >= 0, `${where}: "${end}" not found after "${start}"`);
  return text.slice(i + start.length, j);
}

function sameSet(listed: string[], codes: string[], where: string): void {
  assert.equal(new Set(listed).size, listed.length, `${where} repeats a code: ${listed.join(", ")}`);
  assert.deepEqual([...listed].sort(), [...codes].sort(), `${where} lists ${listed.join(", ")}`);
}

let codes: string[] = [];

before(() => {
  codes = compiledFailureCodes();
});

describe("failure codes", () => {
  it("the compiled set is non-empty, without blanks or repeats", () => {
    assert.ok(codes.length > 0);
    for (const c of codes) assert.match(c, /^[a-z][a-z_]*$/);
    assert.equal(new Set(codes).size, codes.length);
  });

  it("every FailureCode constant is in FAILURE_CODES", () => {
    const source = readFileSync(FAILURE_TS, "utf8");
    const block = between(source, "export namespace FailureCode {", "\n}", "failure.ts");
    const constants = [...block.matchAll(/export const \w+ = "([^"]*)"/g)].map((m) => m[1]);
    sameSet(constants, codes, "namespace FailureCode");
  });

  for (const [file, paragraph, row] of [
    ["README.md", ["`code` names the cause (", "):"], ["| `ai_json_mode.failed.<code>`", "\n"]],
    ["README.zh-CN.md", ["`code` 指明原因（", "）"], ["| `ai_json_mode.failed.<code>`", "\n"]],
  ] as const) {
    it(`${file} lists the same codes (onFailure: error, and the failed.<code> counter)`, () => {
      const text = readFileSync(join(root, file), "utf8");
      sameSet(codesIn(between(text, paragraph[0], paragraph[1], file)), codes, `${file} (onFailure: error)`);
      const metric = between(text, row[0], row[1], file);
      sameSet(codesIn(metric), codes, `${file} (ai_json_mode.failed.<code>)`);
    });
  }

  it("the codes plugin-config.schema.json names for onFailure are failure codes", () => {
    const schema = JSON.parse(readFileSync(join(root, "plugin-config.schema.json"), "utf8"));
    const onFailure = schema.properties.onFailure;
    for (const [key, start, end] of [
      ["description", "code names the cause (", ")"],
      ["x-description-zh", "code 指明原因（", "）"],
    ]) {
      const named = codesIn(between(String(onFailure[key]), start, end, `onFailure.${key}`));
      assert.ok(named.length > 0, `onFailure.${key} names no code`);
      for (const c of named) assert.ok(codes.includes(c), `onFailure.${key} names "${c}", not a failure code`);
    }
  });

  it("the plugin spells failure codes only in failure.ts", () => {
    const dir = join(root, "assembly", "jsonmode");
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "failure.ts")) {
      const source = readFileSync(join(dir, name), "utf8");
      for (const c of codes) assert.ok(!source.includes(`"${c}"`), `assembly/jsonmode/${name} spells "${c}"`);
    }
  });
});
