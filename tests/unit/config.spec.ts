import { parseJsonString, JsonValue } from "../../assembly/json";
import {
  parseJsonModeConfig,
  DEFAULT_SYSTEM_PROMPT,
  SCHEMA_SYSTEM_PROMPT,
  JsonModeConfig,
} from "../../assembly/jsonmode/config";
import { ParseResult } from "../../assembly/higress";

function parse(text: string): ParseResult<JsonModeConfig> {
  const p = parseJsonString(text);
  expect(p.ok).toBe(true, "test input must be JSON: " + text);
  return parseJsonModeConfig(p.value!);
}

const BASE =
  '"url":"https://api.deepseek.com/v1/chat/completions","model":"deepseek-chat","apiKey":"sk-secret","serviceFQDN":"deepseek.dns"';

function error(text: string): string {
  const r = parse(text);
  expect(r.ok).toBe(false, "expected a rejection: " + text);
  return r.error;
}

describe("config: a complete config", () => {
  it("reads every field and derives defaults", () => {
    const r = parse("{" + BASE + "}");
    expect(r.ok).toBe(true);
    const c = r.config!;
    expect(c.url).toBe("https://api.deepseek.com/v1/chat/completions");
    expect(c.model).toBe("deepseek-chat");
    expect(c.apiKey).toBe("sk-secret");
    expect(c.serviceFQDN).toBe("deepseek.dns");
    expect(c.servicePort).toBe(443);
    expect(c.timeout).toBe(50000);
    expect(c.systemPrompt).toBe(DEFAULT_SYSTEM_PROMPT);
    expect(c.authority).toBe("api.deepseek.com");
    expect(c.client.cluster.clusterName()).toBe("outbound|443||deepseek.dns");
    expect(r.warnings.length).toBe(0);
  });
  it("default system prompt asks for JSON with an output key", () => {
    expect(DEFAULT_SYSTEM_PROMPT.includes("JSON")).toBe(true);
    expect(DEFAULT_SYSTEM_PROMPT.includes('{"output":')).toBe(true);
  });
  it("port defaults to 80 for http:// urls", () => {
    const r = parse(
      '{"url":"http://llm.local/v1/chat/completions","model":"m","apiKey":"k","serviceFQDN":"llm.static"}',
    );
    expect(r.config!.servicePort).toBe(80);
    expect(r.config!.client.cluster.clusterName()).toBe("outbound|80||llm.static");
  });
  it("a path url: authority is serviceFQDN unless serviceHost is set", () => {
    const r = parse('{"url":"/v1/chat/completions","model":"m","apiKey":"k","serviceFQDN":"deepseek.dns"}');
    expect(r.config!.servicePort).toBe(443);
    expect(r.config!.authority).toBe("deepseek.dns");
    const r2 = parse(
      '{"url":"/v1/chat/completions","model":"m","apiKey":"k","serviceFQDN":"deepseek.dns","serviceHost":"api.deepseek.com"}',
    );
    expect(r2.config!.authority).toBe("api.deepseek.com");
  });
  it("serviceHost wins over the url's host", () => {
    const r = parse(
      "{" +
        BASE +
        ',"serviceHost":"proxy.example.com","servicePort":8443,"timeout":1000,"systemPrompt":"Answer in JSON"}',
    );
    expect(r.config!.authority).toBe("proxy.example.com");
    expect(r.config!.servicePort).toBe(8443);
    expect(r.config!.timeout).toBe(1000);
    expect(r.config!.systemPrompt).toBe("Answer in JSON");
    expect(r.config!.client.cluster.clusterName()).toBe("outbound|8443||deepseek.dns");
  });
  it("accepts the range limits and integral floats", () => {
    expect(parse("{" + BASE + ',"servicePort":1,"timeout":1}').ok).toBe(true);
    expect(parse("{" + BASE + ',"servicePort":65535,"timeout":600000}').ok).toBe(true);
    expect(parse("{" + BASE + ',"servicePort":443.0}').config!.servicePort).toBe(443);
  });
  it("a jsonSchema goes into the prompt; without a systemPrompt the schema prompt replaces the output example", () => {
    const r = parse("{" + BASE + ',"jsonSchema":{"type":"object","required":["a"]}}');
    expect(r.ok).toBe(true);
    expect(r.config!.prompt).toBe(
      SCHEMA_SYSTEM_PROMPT + '\n\nThe JSON must be valid against this JSON Schema:\n{"type":"object","required":["a"]}',
    );
    const r2 = parse("{" + BASE + ',"systemPrompt":"Be JSON.","jsonSchema":{"type":"array"}}');
    expect(r2.config!.prompt).toBe('Be JSON.\n\nThe JSON must be valid against this JSON Schema:\n{"type":"array"}');
    expect(parse("{" + BASE + "}").config!.prompt).toBe(DEFAULT_SYSTEM_PROMPT);
  });
  it("JSON-reliability options", () => {
    const r = parse(
      "{" +
        BASE +
        ',"maxRetries":0,"responseFormat":"text","maxTokens":100,"temperature":0.5,"output":"openai","onFailure":"error","streaming":"passthrough"}',
    );
    expect(r.ok).toBe(true);
    const c = r.config!;
    expect(c.maxRetries).toBe(0);
    expect(c.jsonObjectFormat).toBe(false);
    expect(c.maxTokens).toBe(100);
    expect(c.temperature).toBe(0.5);
    const d = parse("{" + BASE + "}").config!;
    expect(d.maxRetries).toBe(2);
    expect(d.jsonObjectFormat).toBe(true);
    expect(d.maxTokens).toBe(0);
    expect(isNaN(d.temperature)).toBe(true);
  });
  it("JSON-reliability option errors name the field", () => {
    expect(error("{" + BASE + ',"maxRetries":6}')).toBe("maxRetries: expected an integer from 0 to 5; got 6");
    expect(error("{" + BASE + ',"responseFormat":"xml"}')).toBe(
      'responseFormat: expected "json_object" or "text"; got "xml"',
    );
    expect(error("{" + BASE + ',"output":1}')).toBe('output: expected "body" or "openai"; got 1');
    expect(error("{" + BASE + ',"onFailure":"retry"}')).toBe(
      'onFailure: expected "passthrough" or "error"; got "retry"',
    );
    expect(error("{" + BASE + ',"streaming":"on"}')).toBe('streaming: expected "convert" or "passthrough"; got "on"');
    expect(error("{" + BASE + ',"temperature":2.5}')).toBe("temperature: expected a number from 0 to 2; got 2.5");
    expect(error("{" + BASE + ',"maxTokens":0}')).toBe(
      "maxTokens: expected an integer number of tokens from 1 to 1000000; got 0",
    );
    expect(error("{" + BASE + ',"jsonSchema":"object"}')).toBe(
      'jsonSchema: expected a JSON Schema object, e.g. {"type": "object", "required": ["output"]}; got "object"',
    );
    expect(error("{" + BASE + ',"jsonSchema":{"type":"string","pattern":"^a"}}')).toBe(
      'jsonSchema: unsupported keyword "pattern" at #',
    );
  });
  it("unknown fields are warnings, not errors", () => {
    const r = parse("{" + BASE + ',"colour":"blue"}');
    expect(r.ok).toBe(true);
    expect(r.warnings.length).toBe(1);
    expect(r.warnings[0]).toBe('unknown field "colour" ignored');
  });
});

describe("config: every error names the field", () => {
  it("missing required fields", () => {
    expect(error('{"model":"m","apiKey":"k","serviceFQDN":"d"}')).toBe(
      'url: required string, e.g. "https://api.deepseek.com/v1/chat/completions" or "/v1/chat/completions"',
    );
    expect(error('{"url":"/x","apiKey":"k","serviceFQDN":"d"}')).toBe('model: required string, e.g. "deepseek-chat"');
    expect(error('{"url":"/x","model":"m","serviceFQDN":"d"}')).toBe('apiKey: required string, e.g. "sk-..."');
    expect(error('{"url":"/x","model":"m","apiKey":"k"}')).toBe('serviceFQDN: required string, e.g. "deepseek.dns"');
  });
  it("empty and wrong-typed required fields", () => {
    expect(error('{"url":"/x","model":"","apiKey":"k","serviceFQDN":"d"}')).toBe(
      'model: required string, e.g. "deepseek-chat"; got an empty string',
    );
    expect(error('{"url":"/x","model":"m","apiKey":"  ","serviceFQDN":"d"}')).toBe(
      'apiKey: required string, e.g. "sk-..."; got an empty string',
    );
    expect(error('{"url":"/x","model":"m","apiKey":"k","serviceFQDN":5}')).toBe(
      'serviceFQDN: required string, e.g. "deepseek.dns"; got number',
    );
    expect(error('{"url":["/x"],"model":"m","apiKey":"k","serviceFQDN":"d"}').startsWith("url: required string")).toBe(
      true,
    );
  });
  it("an unusable url", () => {
    expect(error('{"url":"ftp://x/y","model":"m","apiKey":"k","serviceFQDN":"d"}')).toBe(
      'url: expected an absolute http(s) URL or a path starting with "/", e.g. "https://api.deepseek.com/v1/chat/completions"; got "ftp://x/y"',
    );
    expect(error('{"url":"v1/chat","model":"m","apiKey":"k","serviceFQDN":"d"}').startsWith("url: expected")).toBe(
      true,
    );
  });
  it("ports out of range or not integers", () => {
    expect(error("{" + BASE + ',"servicePort":0}')).toBe(
      "servicePort: expected an integer port from 1 to 65535; got 0",
    );
    expect(error("{" + BASE + ',"servicePort":65536}')).toBe(
      "servicePort: expected an integer port from 1 to 65535; got 65536",
    );
    expect(error("{" + BASE + ',"servicePort":44.5}')).toBe(
      "servicePort: expected an integer port from 1 to 65535; got 44.5",
    );
    expect(error("{" + BASE + ',"servicePort":"443"}')).toBe(
      'servicePort: expected an integer port from 1 to 65535; got "443"',
    );
  });
  it("timeouts out of range", () => {
    expect(error("{" + BASE + ',"timeout":0}')).toBe(
      "timeout: expected an integer number of milliseconds from 1 to 600000; got 0",
    );
    expect(error("{" + BASE + ',"timeout":600001}')).toBe(
      "timeout: expected an integer number of milliseconds from 1 to 600000; got 600001",
    );
    expect(error("{" + BASE + ',"timeout":1e400}')).toBe(
      "timeout: expected an integer number of milliseconds from 1 to 600000; got 1e400",
    );
    expect(error("{" + BASE + ',"timeout":true}')).toBe(
      "timeout: expected an integer number of milliseconds from 1 to 600000; got boolean",
    );
  });
  it("serviceHost and systemPrompt types", () => {
    expect(error("{" + BASE + ',"serviceHost":1}')).toBe(
      'serviceHost: expected a string, e.g. "api.deepseek.com"; got number',
    );
    expect(error("{" + BASE + ',"systemPrompt":""}')).toBe('systemPrompt: expected a non-empty string; got ""');
    expect(error("{" + BASE + ',"systemPrompt":{}}')).toBe("systemPrompt: expected a non-empty string; got object");
  });
  it("null is a wrong type, not a missing value", () => {
    expect(error("{" + BASE + ',"serviceHost":null}')).toBe(
      'serviceHost: expected a string, e.g. "api.deepseek.com"; got null',
    );
    expect(error("{" + BASE + ',"timeout":null}')).toBe(
      "timeout: expected an integer number of milliseconds from 1 to 600000; got null",
    );
    expect(error('{"url":null,"model":"m","apiKey":"k","serviceFQDN":"d"}')).toBe(
      'url: required string, e.g. "https://api.deepseek.com/v1/chat/completions" or "/v1/chat/completions"; got null',
    );
  });
  it("a wrong value is reported before a missing field", () => {
    const r = parse('{"model":"m","timeout":0}');
    expect(r.incomplete).toBe(false);
    expect(r.error).toBe("timeout: expected an integer number of milliseconds from 1 to 600000; got 0");
    const r2 = parse('{"model":"m","timeout":10}');
    expect(r2.incomplete).toBe(true);
  });
  it("never prints the api key", () => {
    const e = error('{"url":"/x","model":"m","apiKey":"sk-secret","serviceFQDN":"d","timeout":-1}');
    expect(e.includes("sk-secret")).toBe(false);
  });
  it("a non-object config", () => {
    expect(error("[]")).toBe("configuration: expected a JSON object");
    expect(error('"x"')).toBe("configuration: expected a JSON object");
  });
});
