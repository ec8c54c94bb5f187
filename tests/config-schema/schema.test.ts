// plugin-config.schema.json: compiles with ajv in strict mode, documents every field in
// English and Chinese, and accepts and rejects the rows of the configuration table.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CORE_CASES, LIMIT_CASES, RELIABILITY_CASES, STRATEGY_CASES, type ConfigCase } from "./config-cases.ts";
import { loadSchema, schemaCheck, strictAjv } from "./schema-util.ts";

const schema = loadSchema();
const FIELDS = Object.keys(schema.properties ?? {});
const MATCHERS = ["_match_route_", "_match_domain_", "_match_service_", "_match_route_prefix_"];
const HAN = /\p{Script=Han}/u;

/** Follows a local "#/..." reference inside the schema. */
function deref(node: any): any {
  while (node && typeof node.$ref === "string") {
    node = node.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((at: any, key: string) => at?.[key], schema);
  }
  return node;
}

describe("plugin-config.schema.json", () => {
  it("is JSON Schema draft-07 and compiles with ajv in strict mode", () => {
    assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
    assert.doesNotThrow(() => strictAjv().compile(loadSchema()));
  });

  it("lists the configuration fields of the plugin", () => {
    assert.deepEqual([...FIELDS].sort(), [
      "_rules_",
      "apiKey",
      "jsonSchema",
      "maxBodyBytes",
      "maxRetries",
      "maxTokens",
      "model",
      "onFailure",
      "output",
      "responseFormat",
      "serviceFQDN",
      "serviceHost",
      "servicePort",
      "strategy",
      "streaming",
      "systemPrompt",
      "temperature",
      "timeout",
      "totalTimeout",
      "url",
    ]);
  });

  it("requires url, model, apiKey and serviceFQDN when there are no rules", () => {
    assert.deepEqual([...schema.else.required].sort(), ["apiKey", "model", "serviceFQDN", "url"]);
  });

  it("gives every field a type and descriptions in English and Chinese", () => {
    for (const field of FIELDS) {
      const prop = schema.properties[field];
      assert.ok(typeof prop.type === "string", `${field}: type`);
      assert.ok(typeof prop.description === "string" && prop.description.length > 10, `${field}: description`);
      assert.ok(!HAN.test(prop.description), `${field}: description is English`);
      assert.ok(HAN.test(prop["x-description-zh"] ?? ""), `${field}: x-description-zh is Chinese`);
    }
    assert.ok(HAN.test(schema["x-description-zh"]), "the schema itself has x-description-zh");
  });

  it("documents each rule matcher, and lets a rule set every field", () => {
    const rule = deref(schema.properties._rules_.items);
    for (const matcher of MATCHERS) {
      const def = deref(rule.properties[matcher]);
      assert.ok(def.description && HAN.test(def["x-description-zh"] ?? ""), `${matcher}: descriptions`);
    }
    for (const field of FIELDS.filter((f) => f !== "_rules_")) {
      assert.equal(deref(rule.properties[field]), schema.properties[field], `a rule can set ${field}`);
    }
    assert.equal(rule.oneOf.length, MATCHERS.length, "a rule carries exactly one matcher");
  });

  it("has defaults that satisfy their own field", () => {
    const ajv = strictAjv();
    for (const field of FIELDS) {
      const prop = schema.properties[field];
      if (!("default" in prop)) continue;
      assert.ok(ajv.validate(prop, prop.default), `${field}: default ${JSON.stringify(prop.default)}`);
    }
    const defaults = Object.fromEntries(
      FIELDS.filter((f) => "default" in schema.properties[f]).map((f) => [f, schema.properties[f].default]),
    );
    assert.deepEqual(defaults, {
      timeout: 50000,
      totalTimeout: 120000,
      maxBodyBytes: 10485760,
      maxRetries: 2,
      responseFormat: "json_object",
      output: "body",
      onFailure: "passthrough",
      streaming: "convert",
      strategy: "rewrite",
    });
  });

  it("says that unknown fields are allowed", () => {
    assert.notEqual(schema.additionalProperties, false);
    assert.match(schema.description, /unknown fields are allowed/i);
  });
});

function checkRows(cases: ConfigCase[]) {
  const check = schemaCheck();
  for (const c of cases) {
    it(`${c.valid ? "accepts" : "rejects"}: ${c.name}`, () => {
      const { valid, errors } = check(c.config);
      assert.equal(valid, c.valid, c.valid ? `rejected: ${errors}` : `accepted ${JSON.stringify(c.config)}`);
    });
  }
}

describe("schema against the configuration table: core fields", () => checkRows(CORE_CASES));
describe("schema against the configuration table: JSON-reliability fields", () => checkRows(RELIABILITY_CASES));
describe("schema against the configuration table: limits", () => checkRows(LIMIT_CASES));
describe("schema against the configuration table: strategy", () => checkRows(STRATEGY_CASES));
