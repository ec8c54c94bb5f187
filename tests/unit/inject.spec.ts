// strategy inject: the JSON instruction added to a chat request, and the
// chat model's own answer taken as the output when it is usable JSON.
import { parseJsonString, jsonString } from "../../assembly/json";
import { parseJsonModeConfig, JsonModeConfig, Strategy } from "../../assembly/jsonmode/config";
import {
  injectJsonInstruction,
  readDirectAnswer,
  INSTRUCTION_SEPARATOR,
  mediaType,
} from "../../assembly/jsonmode/request";

const BASE = '"url":"/v1/chat/completions","model":"deepseek-chat","apiKey":"k","serviceFQDN":"deepseek.dns"';

function config(extra: string = ""): JsonModeConfig {
  const r = parseJsonModeConfig(parseJsonString("{" + BASE + (extra.length > 0 ? "," + extra : "") + "}").value!);
  return r.config!;
}
function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
function text(b: Uint8Array): string {
  return String.UTF8.decode(b.buffer);
}
/** The body after injection, as text ("" when untouched). */
function injected(c: JsonModeConfig, body: string): string {
  const r = injectJsonInstruction(c, bytes(body));
  return r.body === null ? "" : text(r.body!);
}
/** The config's prompt as a JSON string token. */
function quoted(s: string): string {
  return jsonString(s).rawText();
}

describe("strategy", () => {
  it("defaults to rewrite; inject and rewrite are accepted; anything else names the field", () => {
    expect(config().strategy).toBe(Strategy.Rewrite);
    expect(config('"strategy":"inject"').strategy).toBe(Strategy.Inject);
    expect(config('"strategy":"rewrite"').strategy).toBe(Strategy.Rewrite);
    const bad = parseJsonModeConfig(parseJsonString("{" + BASE + ',"strategy":"both"}').value!);
    expect(bad.ok).toBe(false);
    expect(bad.error).toBe('strategy: expected "rewrite" or "inject"; got "both"');
    expect(parseJsonModeConfig(parseJsonString("{" + BASE + ',"strategy":true}').value!).error).toBe(
      'strategy: expected "rewrite" or "inject"; got boolean',
    );
  });
  it("is a known field", () => {
    expect(parseJsonModeConfig(parseJsonString("{" + BASE + ',"strategy":"inject"}').value!).warnings.length).toBe(0);
  });
});

describe("the JSON instruction in the chat request", () => {
  it("a request without a system message gets one first, and response_format json_object", () => {
    const c = config();
    expect(injected(c, '{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}],"temperature":0.5}')).toBe(
      '{"model":"qwen-plus","messages":[{"role":"system","content":' +
        quoted(c.prompt) +
        '},{"role":"user","content":"hi"}],"temperature":0.5,"response_format":{"type":"json_object"}}',
    );
  });
  it("a leading system message keeps its text; the instruction follows a blank line", () => {
    const c = config();
    expect(
      injected(c, '{"messages":[{"role":"system","content":"Be brief.","name":"s"},{"role":"user","content":"hi"}]}'),
    ).toBe(
      '{"messages":[{"role":"system","content":' +
        quoted("Be brief." + INSTRUCTION_SEPARATOR + c.prompt) +
        ',"name":"s"},{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}',
    );
  });
  it("the system text's escapes are copied as they were (a lone surrogate too)", () => {
    const c = config();
    const out = injected(c, '{"messages":[{"role":"system","content":"a\\ud800\\n\\"b\\""}]}');
    expect(out.startsWith('{"messages":[{"role":"system","content":"a\\ud800\\n\\"b\\"\\n\\nPlease output')).toBe(true);
  });
  it("a leading developer message is joined the same way", () => {
    const c = config();
    expect(injected(c, '{"messages":[{"role":"developer","content":"Be brief."}]}')).toBe(
      '{"messages":[{"role":"developer","content":' +
        quoted("Be brief." + INSTRUCTION_SEPARATOR + c.prompt) +
        '}],"response_format":{"type":"json_object"}}',
    );
  });
  it("a system message made of parts gets a text part appended", () => {
    const c = config();
    expect(
      injected(c, '{"messages":[{"role":"system","content":[{"type":"text","text":"Be brief."}]},{"role":"user"}]}'),
    ).toBe(
      '{"messages":[{"role":"system","content":[{"type":"text","text":"Be brief."},{"type":"text","text":' +
        quoted(c.prompt) +
        '}]},{"role":"user"}],"response_format":{"type":"json_object"}}',
    );
  });
  it("a system message with null, blank or no content gets the instruction as its content", () => {
    const c = config('"responseFormat":"text"');
    const want = '{"messages":[{"role":"system","content":' + quoted(c.prompt) + "}]}";
    expect(injected(c, '{"messages":[{"role":"system","content":null}]}')).toBe(want);
    expect(injected(c, '{"messages":[{"role":"system","content":" \\n"}]}')).toBe(want);
    expect(injected(c, '{"messages":[{"role":"system"}]}')).toBe(want);
  });
  it("a system message that is not the first one stays; a new one goes first", () => {
    const c = config('"responseFormat":"text"');
    expect(injected(c, '{"messages":[{"role":"user","content":"a"},{"role":"system","content":"b"}]}')).toBe(
      '{"messages":[{"role":"system","content":' +
        quoted(c.prompt) +
        '},{"role":"user","content":"a"},{"role":"system","content":"b"}]}',
    );
  });
  it("a request's own response_format is kept, whatever its type; null counts as none", () => {
    const c = config();
    expect(injected(c, '{"messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}')).toBe(
      '{"messages":[{"role":"system","content":' +
        quoted(c.prompt) +
        '}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}',
    );
    expect(injected(c, '{"response_format":{"type":"text"},"messages":[]}')).toBe(
      '{"response_format":{"type":"text"},"messages":[{"role":"system","content":' + quoted(c.prompt) + "}]}",
    );
    expect(injected(c, '{"response_format":null,"messages":[]}')).toBe(
      '{"response_format":{"type":"json_object"},"messages":[{"role":"system","content":' + quoted(c.prompt) + "}]}",
    );
  });
  it("responseFormat text adds no response_format", () => {
    const c = config('"responseFormat":"text"');
    expect(injected(c, '{"messages":[]}')).toBe('{"messages":[{"role":"system","content":' + quoted(c.prompt) + "}]}");
  });
  it("the schema prompt goes in when jsonSchema is set", () => {
    const c = config('"jsonSchema":{"type":"object","required":["name"]}');
    const out = injected(c, '{"messages":[]}');
    expect(out.includes("The JSON must be valid against this JSON Schema:")).toBe(true);
    expect(out.includes('{\\"type\\":\\"object\\",\\"required\\":[\\"name\\"]}')).toBe(true);
  });
  it("other members keep their source text: numbers, escapes, nesting, stream", () => {
    const c = config('"responseFormat":"text"');
    expect(
      injected(
        c,
        '{ "stream" : true, "n": 1e400, "seed": 12345678901234567890, "x": {"a": ["\\u00e9", -0.0]}, "messages": [] }',
      ),
    ).toBe(
      '{"stream":true,"n":1e400,"seed":12345678901234567890,"x":{"a":["\\u00e9",-0.0]},"messages":[{"role":"system","content":' +
        quoted(c.prompt) +
        "}]}",
    );
  });
  it("repeated member names: each once, with its last value", () => {
    const c = config('"responseFormat":"text"');
    expect(injected(c, '{"model":"a","messages":[],"model":"b"}')).toBe(
      '{"model":"b","messages":[{"role":"system","content":' + quoted(c.prompt) + "}]}",
    );
  });
  it("no chat request: untouched, with the reason", () => {
    const c = config();
    const cases: string[][] = [
      ["", "not_json"],
      ["{", "not_json"],
      ["[1]", "not_chat"],
      ['{"input":"embed me"}', "not_chat"],
      ['{"messages":{}}', "not_chat"],
      ['{"messages":[{"role":"system","content":42}]}', "system_content"],
      ['{"messages":[{"role":"system","content":{"text":"x"}}]}', "system_content"],
    ];
    for (let i = 0; i < cases.length; i++) {
      const r = injectJsonInstruction(c, bytes(cases[i][0]));
      expect(r.body).toBeNull(cases[i][0]);
      expect(r.code).toBe(cases[i][1], cases[i][0]);
      expect(r.text.length > 0).toBe(true);
    }
  });
});

describe("the chat model's answer taken as it is", () => {
  it("JSON as a whole, or in a fence: compact", () => {
    const c = config();
    expect(text(readDirectAnswer(c, jsonString('  {"output": "x"}\n')).json!)).toBe('{"output":"x"}');
    expect(text(readDirectAnswer(c, jsonString("```json\n[1, 2]\n```")).json!)).toBe("[1,2]");
    expect(text(readDirectAnswer(c, jsonString('Here it is:\n```\n{"a": 1}\n```\nDone.')).json!)).toBe('{"a":1}');
  });
  it("prose, a scalar, JSON inside prose: not usable as it is", () => {
    const c = config();
    const texts = ["Mock reply to: hello", '"just a string"', "42", 'The answer is {"a": 1}, I think.', "{bad"];
    for (let i = 0; i < texts.length; i++) {
      const r = readDirectAnswer(c, jsonString(texts[i]));
      expect(r.ok).toBe(false, texts[i]);
      expect(r.reason.startsWith("the answer is not JSON: ")).toBe(true, r.reason);
    }
  });
  it("checked against jsonSchema", () => {
    const c = config('"jsonSchema":{"type":"object","required":["name"]}');
    expect(readDirectAnswer(c, jsonString('{"name":"x"}')).ok).toBe(true);
    const r = readDirectAnswer(c, jsonString('{"output":"x"}'));
    expect(r.ok).toBe(false);
    expect(r.reason.startsWith("the answer does not match jsonSchema: ")).toBe(true, r.reason);
  });
});

describe("mediaType", () => {
  it("lower-case, without parameters", () => {
    expect(mediaType(" Application/JSON ; charset=utf-8")).toBe("application/json");
  });
});
