// A table of plugin configurations and whether they are valid. The schema test checks
// every row against plugin-config.schema.json; the agreement test checks that the
// compiled plugin's proxy_on_configure accepts and rejects the same rows.

export interface ConfigCase {
  name: string;
  config: unknown;
  valid: boolean;
}

const BASE = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: "sk-test",
  serviceFQDN: "deepseek.dns",
};
type Field = keyof typeof BASE;
const REQUIRED: Field[] = ["url", "model", "apiKey", "serviceFQDN"];

function without(field: Field): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...BASE };
  delete copy[field];
  return copy;
}

const ok = (name: string, config: unknown): ConfigCase => ({ name, config, valid: true });
const bad = (name: string, config: unknown): ConfigCase => ({ name, config, valid: false });
const route = (...names: string[]) => ({ _match_route_: names });

/** Rows about the core fields and rules (url ... systemPrompt, _rules_). */
export const CORE_CASES: ConfigCase[] = [
  ok("the four required fields", BASE),
  ok("every core field", {
    ...BASE,
    servicePort: 443,
    serviceHost: "api.deepseek.com",
    timeout: 50000,
    systemPrompt: 'Reply with one JSON object such as {"output": "..."}.',
  }),
  ok("url as a path", { ...BASE, url: "/v1/chat/completions" }),
  ok("url with an upper-case scheme, a port and a query", {
    ...BASE,
    url: "HTTPS://api.deepseek.com:443/v1/chat/completions?beta=1",
  }),
  ok("http:// url without servicePort", {
    ...BASE,
    url: "http://llm.internal/v1/chat/completions",
    serviceFQDN: "llm.static",
  }),
  ok("servicePort 1", { ...BASE, servicePort: 1 }),
  ok("servicePort 65535", { ...BASE, servicePort: 65535 }),
  ok("timeout 1", { ...BASE, timeout: 1 }),
  ok("timeout 600000", { ...BASE, timeout: 600000 }),
  ok("systemPrompt with quotes, newlines and Chinese", {
    ...BASE,
    systemPrompt: '请只输出 JSON。\n示例："{\\"output\\": \\"你好\\"}"',
  }),
  ok("an empty serviceHost (the default applies)", { ...BASE, serviceHost: "" }),
  ok("an unknown field (the plugin warns)", { ...BASE, colour: "blue" }),
  ok("an empty _rules_ list beside a complete global part", { ...BASE, _rules_: [] }),
  ok("only _rules_, with one complete rule", { _rules_: [{ ...route("default/chat"), ...BASE }] }),
  ok("a global part completed by every rule", {
    url: BASE.url,
    model: BASE.model,
    apiKey: BASE.apiKey,
    _rules_: [
      { ...route("default/a"), serviceFQDN: "a.dns" },
      { _match_domain_: ["*.example.com"], serviceFQDN: "b.dns", servicePort: 8443 },
    ],
  }),
  ok("one rule of each matcher kind over a complete global part", {
    ...BASE,
    _rules_: [
      { ...route("higress-system/qwen"), systemPrompt: "JSON only." },
      { _match_domain_: ["*.example.com", "api.example.org", "example.*"], timeout: 30000 },
      { _match_service_: ["qwen.dns", "llm.default.svc.cluster.local:8080"], model: "deepseek-reasoner" },
      { _match_route_prefix_: ["ai-"], servicePort: 8443 },
    ],
  }),
  ok("a rule with a matcher only", { ...BASE, _rules_: [route("default/plain")] }),

  bad("an empty object", {}),
  bad("an array instead of an object", []),
  ...REQUIRED.map((f) => bad(`${f} missing`, without(f))),
  ...REQUIRED.map((f) => bad(`${f} empty`, { ...BASE, [f]: "" })),
  ...REQUIRED.map((f) => bad(`${f} blank`, { ...BASE, [f]: " \t " })),
  bad("url not a string", { ...BASE, url: 123 }),
  bad("url without a scheme or a leading slash", { ...BASE, url: "api.deepseek.com/v1/chat/completions" }),
  bad("url with a scheme other than http(s)", { ...BASE, url: "ftp://api.deepseek.com/v1/chat/completions" }),
  bad("url with an empty host", { ...BASE, url: "https:///v1/chat/completions" }),
  bad("url starting with //", { ...BASE, url: "//api.deepseek.com/v1/chat/completions" }),
  bad("url with a space", { ...BASE, url: "https://api.deepseek.com/v1/chat completions" }),
  bad("model not a string", { ...BASE, model: ["deepseek-chat"] }),
  bad("apiKey not a string", { ...BASE, apiKey: true }),
  bad("serviceFQDN null", { ...BASE, serviceFQDN: null }),
  bad("servicePort as a string", { ...BASE, servicePort: "443" }),
  bad("servicePort not an integer", { ...BASE, servicePort: 443.5 }),
  bad("servicePort 0", { ...BASE, servicePort: 0 }),
  bad("servicePort 65536", { ...BASE, servicePort: 65536 }),
  bad("servicePort negative", { ...BASE, servicePort: -1 }),
  bad("serviceHost not a string", { ...BASE, serviceHost: 42 }),
  bad("timeout 0", { ...BASE, timeout: 0 }),
  bad("timeout 600001", { ...BASE, timeout: 600001 }),
  bad("timeout as a string", { ...BASE, timeout: "50000" }),
  bad("timeout not an integer", { ...BASE, timeout: 1.5 }),
  bad("systemPrompt not a string", { ...BASE, systemPrompt: { text: "JSON" } }),
  bad("systemPrompt empty", { ...BASE, systemPrompt: "" }),
  bad("systemPrompt blank", { ...BASE, systemPrompt: " \n " }),
  bad("an empty _rules_ list and no global part", { _rules_: [] }),
  bad("_rules_ not an array", { ...BASE, _rules_: { _match_route_: ["a"] } }),
  bad("a rule that is not an object", { ...BASE, _rules_: ["default/a"] }),
  bad("a rule with no matcher", { ...BASE, _rules_: [{ model: "deepseek-chat" }] }),
  bad("a rule with two matchers", { ...BASE, _rules_: [{ ...route("default/a"), _match_domain_: ["a.example.com"] }] }),
  bad("a matcher that is a string, not a list", { ...BASE, _rules_: [{ _match_route_: "default/a" }] }),
  bad("a matcher list holding a number", { ...BASE, _rules_: [{ _match_route_: [42] }] }),
  bad("an empty matcher list", { ...BASE, _rules_: [{ _match_route_: [] }] }),
  bad("a matcher list holding an empty string", { ...BASE, _rules_: [{ _match_domain_: [""] }] }),
  bad("a global part that a rule leaves incomplete", {
    url: BASE.url,
    model: BASE.model,
    apiKey: BASE.apiKey,
    _rules_: [{ ...route("default/a"), serviceFQDN: "a.dns" }, route("default/b")],
  }),
  bad("only _rules_, with a rule missing apiKey", { _rules_: [{ ...route("default/a"), ...without("apiKey") }] }),
  bad("a global servicePort out of range, though every rule sets its own", {
    ...BASE,
    servicePort: 0,
    _rules_: [{ ...route("default/a"), servicePort: 443 }],
  }),
  bad("a rule overriding servicePort with 0", { ...BASE, _rules_: [{ ...route("default/a"), servicePort: 0 }] }),
  bad("a rule overriding model with an empty string", { ...BASE, _rules_: [{ ...route("default/a"), model: "" }] }),
  bad("a rule overriding timeout with a string", { ...BASE, _rules_: [{ ...route("default/a"), timeout: "fast" }] }),
];

/**
 * Rows about the fields of the JSON-reliability options (jsonSchema, maxRetries,
 * responseFormat, maxTokens, temperature, output, onFailure, streaming).
 */
export const RELIABILITY_CASES: ConfigCase[] = [
  ok("jsonSchema", {
    ...BASE,
    jsonSchema: {
      type: "object",
      properties: { output: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
      required: ["output"],
      additionalProperties: false,
    },
  }),
  ok("maxRetries 0", { ...BASE, maxRetries: 0 }),
  ok("maxRetries 5", { ...BASE, maxRetries: 5 }),
  ok("responseFormat text", { ...BASE, responseFormat: "text" }),
  ok("responseFormat json_object", { ...BASE, responseFormat: "json_object" }),
  ok("maxTokens 1", { ...BASE, maxTokens: 1 }),
  ok("temperature 0", { ...BASE, temperature: 0 }),
  ok("temperature 2", { ...BASE, temperature: 2 }),
  ok("temperature 0.7", { ...BASE, temperature: 0.7 }),
  ok("output openai", { ...BASE, output: "openai" }),
  ok("output body", { ...BASE, output: "body" }),
  ok("onFailure error", { ...BASE, onFailure: "error" }),
  ok("onFailure passthrough", { ...BASE, onFailure: "passthrough" }),
  ok("streaming passthrough", { ...BASE, streaming: "passthrough" }),
  ok("streaming convert", { ...BASE, streaming: "convert" }),
  ok("JSON-reliability fields in a rule", {
    ...BASE,
    _rules_: [{ ...route("default/a"), maxRetries: 1, output: "openai", onFailure: "error", temperature: 0.2 }],
  }),

  bad("jsonSchema not an object", { ...BASE, jsonSchema: '{"type": "object"}' }),
  bad("jsonSchema an array", { ...BASE, jsonSchema: [] }),
  bad("maxRetries 6", { ...BASE, maxRetries: 6 }),
  bad("maxRetries negative", { ...BASE, maxRetries: -1 }),
  bad("maxRetries not an integer", { ...BASE, maxRetries: 1.5 }),
  bad("maxRetries as a string", { ...BASE, maxRetries: "2" }),
  bad("responseFormat unknown", { ...BASE, responseFormat: "xml" }),
  bad("maxTokens 0", { ...BASE, maxTokens: 0 }),
  bad("maxTokens not an integer", { ...BASE, maxTokens: 10.5 }),
  bad("temperature above 2", { ...BASE, temperature: 2.1 }),
  bad("temperature negative", { ...BASE, temperature: -0.1 }),
  bad("temperature as a string", { ...BASE, temperature: "0.5" }),
  bad("output unknown", { ...BASE, output: "html" }),
  bad("onFailure unknown", { ...BASE, onFailure: "ignore" }),
  bad("streaming unknown", { ...BASE, streaming: "buffer" }),
  bad("an invalid JSON-reliability field in a rule", { ...BASE, _rules_: [{ ...route("default/a"), maxRetries: 9 }] }),
];

/** Rows about strategy (rewrite, or inject: the chat request asks for JSON). */
export const STRATEGY_CASES: ConfigCase[] = [
  ok("strategy rewrite", { ...BASE, strategy: "rewrite" }),
  ok("strategy inject", { ...BASE, strategy: "inject" }),
  ok("strategy inject with a schema, text responseFormat and openai output", {
    ...BASE,
    strategy: "inject",
    jsonSchema: { type: "object", required: ["output"] },
    responseFormat: "text",
    output: "openai",
  }),
  ok("strategy in a rule", { ...BASE, _rules_: [{ ...route("default/a"), strategy: "inject" }] }),
  ok("a global inject, a rule back to rewrite", {
    ...BASE,
    strategy: "inject",
    _rules_: [{ ...route("default/a"), strategy: "rewrite" }],
  }),
  bad("strategy unknown", { ...BASE, strategy: "both" }),
  bad("strategy in upper case", { ...BASE, strategy: "INJECT" }),
  bad("strategy as a boolean", { ...BASE, strategy: true }),
  bad("strategy empty", { ...BASE, strategy: "" }),
  bad("an invalid strategy in a rule", { ...BASE, _rules_: [{ ...route("default/a"), strategy: "direct" }] }),
];

/** Rows about Higress's limits (maxBodyBytes, totalTimeout). */
export const LIMIT_CASES: ConfigCase[] = [
  ok("maxBodyBytes 1 KiB", { ...BASE, maxBodyBytes: 1024 }),
  ok("maxBodyBytes 64 MiB", { ...BASE, maxBodyBytes: 67108864 }),
  ok("totalTimeout 1000 with a shorter timeout", { ...BASE, totalTimeout: 1000, timeout: 500 }),
  ok("totalTimeout 600000 (accepted with a warning: above Higress's idle timeout)", { ...BASE, totalTimeout: 600000 }),
  ok("timeout above totalTimeout (accepted with a warning: cut to the budget)", {
    ...BASE,
    timeout: 600000,
    totalTimeout: 60000,
  }),
  ok("both fields in a rule", {
    ...BASE,
    _rules_: [{ ...route("default/a"), maxBodyBytes: 2048, totalTimeout: 30000 }],
  }),
  bad("maxBodyBytes below 1 KiB", { ...BASE, maxBodyBytes: 1023 }),
  bad("maxBodyBytes above 64 MiB", { ...BASE, maxBodyBytes: 67108865 }),
  bad("maxBodyBytes not an integer", { ...BASE, maxBodyBytes: 4096.5 }),
  bad("maxBodyBytes as a string", { ...BASE, maxBodyBytes: "10MiB" }),
  bad("totalTimeout below 1000", { ...BASE, totalTimeout: 999 }),
  bad("totalTimeout above 600000", { ...BASE, totalTimeout: 600001 }),
  bad("totalTimeout as a string", { ...BASE, totalTimeout: "120s" }),
  bad("an invalid limit in a rule", { ...BASE, _rules_: [{ ...route("default/a"), maxBodyBytes: 0 }] }),
];
