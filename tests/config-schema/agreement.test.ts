// The schema and the compiled plugin agree: every row of the configuration table is
// accepted or rejected alike by plugin-config.schema.json and by build/plugin.wasm's
// proxy_on_configure, run in the project's proxy-wasm host. So are the configurations
// in the YAML examples (all accepted).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CORE_CASES, LIMIT_CASES, RELIABILITY_CASES, STRATEGY_CASES, type ConfigCase } from "./config-cases.ts";
import { exampleFiles, parseExample, root, schemaCheck } from "./schema-util.ts";

const WASM = join(root, "build", "plugin.wasm");

type LoadHost = (
  wasm: string | Uint8Array,
  options: Record<string, unknown>,
) => Promise<{ configure(config: unknown): boolean }>;

let loadHost: LoadHost | null = null;
let wasm: Uint8Array = new Uint8Array();
let setupError: unknown = null;

before(async () => {
  try {
    if (!existsSync(WASM))
      throw new Error("build/plugin.wasm is missing: run `npm run build` (npm test builds it first)");
    wasm = readFileSync(WASM);
    const host = await import("../../host/host.ts");
    loadHost = host.loadHost as LoadHost;
  } catch (err) {
    setupError = err;
  }
});

/** A fresh host per configuration, so no state carries over from an earlier one. */
async function configure(config: unknown): Promise<{ accepted: boolean; log: string[] }> {
  if (setupError) throw setupError;
  const log: string[] = [];
  const host = await loadHost!(wasm, {
    pluginName: "ai-json-mode",
    onLog: (entry: { levelName: string; message: string }) => log.push(`  ${entry.levelName}: ${entry.message}`),
  });
  return { accepted: host.configure(config), log };
}

function agree(cases: ConfigCase[]) {
  for (const c of cases) {
    it(`${c.valid ? "both accept" : "both reject"}: ${c.name}`, async () => {
      const schema = schemaCheck()(c.config);
      assert.equal(schema.valid, c.valid, `the schema ${schema.valid ? "accepts" : `rejects (${schema.errors})`}`);
      const { accepted, log } = await configure(c.config);
      assert.equal(
        accepted,
        c.valid,
        `proxy_on_configure ${accepted ? "accepted" : "rejected"} ${JSON.stringify(c.config)}\n${log.join("\n")}`,
      );
    });
  }
}

describe("schema and plugin agree: core fields and rules", () => agree(CORE_CASES));

describe("schema and plugin agree: JSON-reliability fields", () => agree(RELIABILITY_CASES));

describe("schema and plugin agree: limits (maxBodyBytes, totalTimeout)", () => agree(LIMIT_CASES));

describe("schema and plugin agree: strategy", () => agree(STRATEGY_CASES));

describe("the plugin accepts the configurations of the YAML examples", () => {
  for (const file of exampleFiles()) {
    for (const { where, config } of parseExample(file).configs) {
      it(where, async () => {
        const { accepted, log } = await configure(config);
        assert.ok(accepted, `proxy_on_configure rejected it\n${log.join("\n")}`);
      });
    }
  }
});
