// The configuration tables in the docs list exactly the schema's fields, with the
// schema's types, ranges, enums, required fields and defaults, so docs and schema
// cannot drift apart. Tables are found by their header:
//   | field | type | required | default | description |      (English)
//   | 字段 | 类型 | 必填 | 默认值 | 说明 |                      (Chinese)
// Checked: docs/config-table.md and README.zh-CN.md (one table each), and README.md
// when it has such a table.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSchema, root } from "./schema-util.ts";

const HEADERS = [
  ["field", "type", "required", "default", "description"],
  ["字段", "类型", "必填", "默认值", "说明"],
];
const YES = /^(yes\b|是)/i;
const NO = /^(no\b|否)/i;

/** Splits a Markdown table row on unescaped pipes. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The config tables of a Markdown file: rows of [field, type, required, default, description]. */
function configTables(markdown: string): string[][][] {
  const tables: string[][][] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    const header = cells(lines[i]).map((c) => c.toLowerCase());
    if (!lines[i].trim().startsWith("|")) continue;
    if (!HEADERS.some((h) => h.length === header.length && h.every((name, k) => name === header[k]))) continue;
    const rows: string[][] = [];
    for (let j = i + 2; j < lines.length && lines[j].trim().startsWith("|"); j++) rows.push(cells(lines[j]));
    tables.push(rows);
  }
  return tables;
}

function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\\\|/g, "|"));
}

const schema = loadSchema();
const FIELDS: string[] = Object.keys(schema.properties);
const REQUIRED = new Set<string>(schema.else.required);

function checkTable(file: string, rows: string[][]) {
  const byField = new Map<string, string[]>();
  for (const row of rows) {
    assert.equal(row.length, 5, `${file}: a row with ${row.length} cells: | ${row.join(" | ")} |`);
    const field = codeSpans(row[0])[0] ?? row[0];
    assert.ok(!byField.has(field), `${file}: ${field} is listed twice`);
    byField.set(field, row);
  }
  assert.deepEqual([...byField.keys()].sort(), [...FIELDS].sort(), `${file}: the table's fields are the schema's`);

  for (const field of FIELDS) {
    const [, type, required, dflt] = byField.get(field)!;
    const prop = schema.properties[field];
    const where = `${file}, ${field}`;

    assert.equal(type.split(/[\s:]/)[0].toLowerCase(), prop.type, `${where}: type "${type}" vs schema ${prop.type}`);
    for (const bound of ["minimum", "maximum"]) {
      if (bound in prop) {
        const numbers: string[] = type.replace(/[–—-]/g, " ").match(/\d+(\.\d+)?/g) ?? [];
        assert.ok(
          numbers.includes(String(prop[bound])),
          `${where}: the type cell "${type}" states the ${bound} ${prop[bound]}`,
        );
      }
    }
    if (prop.enum) {
      assert.deepEqual(
        codeSpans(type).sort(),
        [...prop.enum].sort(),
        `${where}: the type cell lists the values ${prop.enum.join(", ")}`,
      );
    }

    if (REQUIRED.has(field)) assert.match(required, YES, `${where}: required`);
    else assert.match(required, NO, `${where}: optional`);

    assert.ok(dflt.length > 0, `${where}: empty default cell`);
    if ("default" in prop) {
      const shown = codeSpans(dflt)[0] ?? dflt.split(/\s/)[0];
      assert.equal(
        shown,
        String(prop.default),
        `${where}: default "${dflt}" vs schema ${JSON.stringify(prop.default)}`,
      );
    } else {
      // No fixed default in the schema: the cell explains (—, or a rule in words), it does not state a value.
      assert.ok(
        !/^`[^`]*`$/.test(dflt) && !/^-?\d+(\.\d+)?$/.test(dflt),
        `${where}: the table gives the default ${dflt}, the schema none`,
      );
    }
  }
}

describe("configuration tables match plugin-config.schema.json", () => {
  for (const file of ["docs/config-table.md", "README.zh-CN.md"]) {
    it(file, () => {
      const tables = configTables(readFileSync(join(root, file), "utf8"));
      assert.equal(tables.length, 1, `${file}: expected exactly one configuration table, found ${tables.length}`);
      checkTable(file, tables[0]);
    });
  }

  it("README.md (when it has a configuration table)", () => {
    const path = join(root, "README.md");
    const tables = existsSync(path) ? configTables(readFileSync(path, "utf8")) : [];
    for (const table of tables) checkTable("README.md", table);
  });
});
