// Every YAML example under examples/ parses, and every plugin configuration in it is
// valid against plugin-config.schema.json: `plugin.config` in the local host's files;
// for the ai-json-mode WasmPlugin, the configuration Higress hands the plugin
// (defaultConfig with matchRules as _rules_) and each matchRule's effective configuration.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { exampleFiles, parseExample, root, schemaCheck } from "./schema-util.ts";

const files = exampleFiles();

describe("YAML examples", () => {
  it("include the Higress WasmPlugin and McpBridge", () => {
    assert.ok(files.includes("examples/higress/wasmplugin.yaml"), `examples found: ${files.join(", ")}`);
    assert.ok(files.includes("examples/higress/mcpbridge.yaml"), `examples found: ${files.join(", ")}`);
  });

  it("hold ai-json-mode configurations to check", () => {
    const higress = parseExample("examples/higress/wasmplugin.yaml");
    assert.ok(higress.configs.length >= 3, "defaultConfig plus an ingress rule and a domain rule");
  });

  for (const file of files) {
    describe(file, () => {
      const parsed = parseExample(file);
      it("parses", () => {
        assert.deepEqual(parsed.errors, []);
      });
      for (const { where, config } of parsed.configs) {
        it(`valid plugin config: ${where.slice(file.length + 2)}`, () => {
          const { valid, errors } = schemaCheck()(config);
          assert.ok(valid, `${where}: ${errors}`);
        });
      }
    });
  }
});

describe("examples/higress", () => {
  it("the WasmPlugin runs after ai-proxy in the response path and fails open", () => {
    const [plugin] = parseDocs("examples/higress/wasmplugin.yaml").filter((d) => d.kind === "WasmPlugin");
    assert.equal(plugin.apiVersion, "extensions.higress.io/v1alpha1");
    assert.match(plugin.spec.url, /^oci:\/\//);
    // ai-proxy: default phase (UNSPECIFIED_PHASE), priority 100. STATS comes before the
    // default phase in the chain, so after it in the response path.
    assert.equal(plugin.spec.phase, "STATS");
    assert.equal(typeof plugin.spec.priority, "number");
    assert.equal(plugin.spec.failStrategy, "FAIL_OPEN");
    const kinds = plugin.spec.matchRules.map((r: any) => Object.keys(r).filter((k) => k !== "config"));
    assert.deepEqual(kinds, [["ingress"], ["domain"]]);
  });

  it("the McpBridge registers DeepSeek and DashScope as HTTPS DNS services", () => {
    const [bridge] = parseDocs("examples/higress/mcpbridge.yaml").filter((d) => d.kind === "McpBridge");
    assert.equal(bridge.apiVersion, "networking.higress.io/v1");
    assert.equal(bridge.metadata.name, "default");
    const byDomain = Object.fromEntries(bridge.spec.registries.map((r: any) => [r.domain, r]));
    for (const domain of ["api.deepseek.com", "dashscope.aliyuncs.com"]) {
      const r = byDomain[domain];
      assert.ok(r, `a registry for ${domain}`);
      assert.equal(r.type, "dns");
      assert.equal(r.port, 443);
      assert.equal(String(r.protocol).toLowerCase(), "https");
      assert.equal(r.sni, domain);
    }
    // The WasmPlugin's serviceFQDN must name the DeepSeek registry: <name>.dns.
    const [plugin] = parseDocs("examples/higress/wasmplugin.yaml").filter((d) => d.kind === "WasmPlugin");
    assert.equal(plugin.spec.defaultConfig.serviceFQDN, `${byDomain["api.deepseek.com"].name}.dns`);
    assert.equal(plugin.spec.defaultConfig.servicePort, byDomain["api.deepseek.com"].port);
  });
});

function parseDocs(file: string): any[] {
  return parseAllDocuments(readFileSync(join(root, file), "utf8")).map((d) => d.toJS());
}
