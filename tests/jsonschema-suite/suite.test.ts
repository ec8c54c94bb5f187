// Runs the official JSON Schema Test Suite (draft-07) against the jsonSchema
// validator compiled to Wasm (assembly/jsonschema/).
//
// For every group of every file: if compileSchema() rejects the schema, the
// rejection must name a keyword this validator rejects and that keyword must
// occur in the group's schema; the group then counts as unsupported. Otherwise
// every test's valid/invalid verdict must match the suite's. The per-file table
// is printed and must equal the one in docs/schema-support.md; refresh it with
//   UPDATE_SCHEMA_DOCS=1 node --import tsx --test tests/jsonschema-suite/suite.test.ts
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadValidator, root } from "./build.mjs";

const suiteDir = join(root, "tests", "json-schema-test-suite", "draft7");
const docsPath = join(root, "docs", "schema-support.md");

// Keywords compileSchema() implements or accepts as annotations. Any other
// keyword is rejected; "$id" and "$schema" are rejected outside the root.
const ACCEPTED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "additionalItems",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "uniqueItems",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "$ref",
  "minProperties",
  "maxProperties",
  "multipleOf",
  "contains",
  "propertyNames",
  "dependencies",
  "if",
  "then",
  "else",
  "title",
  "description",
  "default",
  "examples",
  "$comment",
  "$schema",
  "$id",
  "readOnly",
  "writeOnly",
  "contentMediaType",
  "contentEncoding",
  "definitions",
  "$defs",
]);

type Validator = Awaited<ReturnType<typeof loadValidator>>;
interface Row {
  file: string;
  passed: number;
  total: number;
  unsupported: number;
  groups: number;
}

let validator: Validator;
const rows: Row[] = [];

before(async () => {
  validator = await loadValidator();
});

/** Every object key anywhere in `v`, and every string value of a "$ref" key. */
function collect(v: unknown, keys: Set<string>, refs: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collect(x, keys, refs);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      keys.add(k);
      if (k === "$ref" && typeof x === "string") refs.add(x);
      collect(x, keys, refs);
    }
  }
}

/** Why a rejection is acceptable, or null when it is not. */
function justify(message: string, schema: unknown): string | null {
  const keys = new Set<string>();
  const refs = new Set<string>();
  collect(schema, keys, refs);
  let m = /^unsupported keyword "([^"]+)"/.exec(message);
  if (m) {
    const k = m[1];
    if (!keys.has(k)) return null;
    if (!ACCEPTED.has(k)) return `keyword "${k}"`;
    if (k === "$id" || k === "$schema") return `"${k}" outside the root`;
    if (message.includes(`beside "$ref"`)) return `"${k}" beside "$ref"`;
    return null;
  }
  m = /^unsupported \$ref "([^"]*)"/.exec(message);
  if (m) {
    const ref = m[1];
    if (!refs.has(ref) || ref.startsWith("#/") || ref === "#") return null;
    return `non-local $ref "${ref}"`;
  }
  m = /^unsupported "\$schema" "([^"]*)"/.exec(message);
  if (m && keys.has("$schema")) return `"$schema" ${m[1]}`;
  return null;
}

const files = readdirSync(suiteDir)
  .filter((f) => f.endsWith(".json"))
  .sort();

for (const file of files) {
  test(`draft7/${file}`, () => {
    const groups = JSON.parse(readFileSync(join(suiteDir, file), "utf8"));
    const row: Row = { file, passed: 0, total: 0, unsupported: 0, groups: groups.length };
    const mismatches: string[] = [];
    for (const group of groups) {
      row.total += group.tests.length;
      const compiled = validator.compile(JSON.stringify(group.schema));
      assert.notEqual(compiled.status, -1, `${group.description}: schema text did not parse: ${compiled.message}`);
      if (compiled.status === 0) {
        const why = justify(compiled.message, group.schema);
        assert.ok(
          why,
          `${file} / ${group.description}: rejected without naming a rejected keyword: ${compiled.message}`,
        );
        row.unsupported++;
        continue;
      }
      for (const t of group.tests) {
        const data = JSON.stringify(t.data);
        const r = validator.validate(data, 10);
        assert.ok(
          r.status === 0 || r.status === 1,
          `${group.description} / ${t.description}: status ${r.status}: ${r.message}`,
        );
        const one = validator.validate(data, 1);
        assert.equal(one.status, r.status, `${group.description} / ${t.description}: maxErrors 1 and 10 disagree`);
        if (r.status === 1) assert.equal(r.message, "", "a valid instance reports no errors");
        else assert.ok(r.message.startsWith("$"), `errors start with a JSON path: ${r.message}`);
        if ((r.status === 1) === t.valid) row.passed++;
        else
          mismatches.push(
            `${group.description} / ${t.description}: expected ${t.valid ? "valid" : "invalid"}, got ${r.message || "valid"}`,
          );
      }
    }
    rows.push(row);
    assert.deepEqual(mismatches, [], `${file}: ${mismatches.length} mismatch(es)`);
  });
}

function table(): string {
  const sorted = [...rows].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const lines = ["| file | passed / total | groups rejected as unsupported |", "|---|---|---|"];
  let p = 0,
    t = 0,
    u = 0,
    g = 0;
  for (const r of sorted) {
    lines.push(`| ${r.file} | ${r.passed} / ${r.total} | ${r.unsupported} of ${r.groups} |`);
    p += r.passed;
    t += r.total;
    u += r.unsupported;
    g += r.groups;
  }
  lines.push(`| **all** | **${p} / ${t}** | **${u} of ${g}** |`);
  return lines.join("\n");
}

test("the validator module imports nothing but env.abort", () => {
  assert.deepEqual(
    validator.imports.map((i) => `${i.module}.${i.name}`),
    ["env.abort"],
  );
});

test("docs/schema-support.md holds the current pass table", () => {
  assert.equal(rows.length, files.length, "every suite file ran");
  const current = table();
  console.log(current);
  const BEGIN = "<!-- suite-table:begin -->";
  const END = "<!-- suite-table:end -->";
  const doc = readFileSync(docsPath, "utf8");
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  assert.ok(a >= 0 && b > a, "docs/schema-support.md has the table markers");
  const recorded = doc.slice(a + BEGIN.length, b).trim();
  if (process.env.UPDATE_SCHEMA_DOCS) {
    writeFileSync(docsPath, doc.slice(0, a + BEGIN.length) + "\n" + current + "\n" + doc.slice(b));
    return;
  }
  assert.equal(recorded, current, "table out of date: rerun with UPDATE_SCHEMA_DOCS=1");
});
