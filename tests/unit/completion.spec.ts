import { parseJson, parseJsonString, jsonString, JsonValue } from "../../assembly/json";
import {
  readCompletionContent,
  readJsonModeAnswer,
  buildJsonModeRequest,
  redact,
} from "../../assembly/jsonmode/completion";
import { parseJsonModeConfig, JsonModeConfig } from "../../assembly/jsonmode/config";
import { fixture, FIXTURE_NAMES } from "./generated/fixtures";

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
function text(b: Uint8Array): string {
  return String.UTF8.decode(b.buffer);
}
function config(): JsonModeConfig {
  return parseJsonModeConfig(
    parseJsonString('{"url":"/v1/chat/completions","model":"deepseek-chat","apiKey":"k","serviceFQDN":"deepseek.dns"}')
      .value!,
  ).config!;
}

describe("reading the upstream completion", () => {
  it("every fixture: a reason or the content, never a trap", () => {
    for (let i = 0; i < FIXTURE_NAMES.length; i++) {
      const r = readCompletionContent(fixture(FIXTURE_NAMES[i]));
      expect(r.ok || r.reason.length > 0).toBe(true, FIXTURE_NAMES[i]);
    }
  });
  it("Qwen's completion", () => {
    const r = readCompletionContent(fixture("qwen-chat-completion.json"));
    expect(r.ok).toBe(true);
    expect(r.content!.asString().startsWith("你好！我是通义千问")).toBe(true);
  });
  it("errors and empty content are reasons", () => {
    expect(readCompletionContent(fixture("upstream-error-500.json")).reason).toBe("not a chat completion (no choices)");
    expect(readCompletionContent(fixture("deepseek-empty-content.json")).reason).toBe(
      "choices[0].message.content is empty",
    );
    expect(readCompletionContent(fixture("qwen-chat-stream.sse")).reason.startsWith("body is not JSON: ")).toBe(true);
  });
  it("hostile shapes", () => {
    expect(readCompletionContent(new Uint8Array(0)).reason).toBe("empty body");
    expect(
      readCompletionContent(bytes('{"choices":[{"message":{"content":"ab')).reason.startsWith("body is not JSON"),
    ).toBe(true);
    expect(readCompletionContent(bytes('{"choices":{}}')).reason).toBe("choices is not an array");
    expect(readCompletionContent(bytes('{"choices":[]}')).reason).toBe("no choices (empty array)");
    expect(readCompletionContent(bytes('{"choices":[7]}')).reason).toBe("choices[0] is not an object");
    expect(readCompletionContent(bytes('{"choices":[{}]}')).reason).toBe("choices[0].message missing");
    expect(readCompletionContent(bytes('{"choices":[{"message":{}}]}')).reason).toBe(
      "choices[0].message.content missing",
    );
    expect(readCompletionContent(bytes('{"choices":[{"message":{"content":null}}]}')).reason).toBe(
      "choices[0].message.content missing",
    );
    expect(readCompletionContent(bytes('{"choices":[{"message":{"content":123}}]}')).reason).toBe(
      "choices[0].message.content is not a string (number)",
    );
    expect(readCompletionContent(bytes('{"choices":[{"message":{"content":[{"type":"text"}]}}]}')).reason).toBe(
      "choices[0].message.content is not a string (array)",
    );
    expect(readCompletionContent(bytes('{"choices":[{"message":{"content":" \\n "}}]}')).reason).toBe(
      "choices[0].message.content is empty",
    );
    expect(readCompletionContent(bytes("[1,2]")).reason).toBe("not a chat completion (JSON array)");
    expect(readCompletionContent(bytes('"x"')).reason).toBe("not a chat completion (JSON string)");
  });
  it("invalid UTF-8 and NUL bytes are reasons", () => {
    const b = bytes('{"choices":[{"message":{"content":"ab"}}]}');
    const bad = new Uint8Array(b.length + 2);
    bad.set(b.subarray(0, 36), 0);
    bad[36] = 0xff;
    bad[37] = 0xfe;
    bad.set(b.subarray(36), 38);
    expect(readCompletionContent(bad).ok).toBe(false);
    const nul = bytes('{"choices":[{"message":{"content":"a\u0000b"}}]}');
    expect(readCompletionContent(nul).ok).toBe(false);
    const nulOutside = bytes('{"choices":[]}\u0000');
    expect(readCompletionContent(nulOutside).ok).toBe(false);
  });
  it("10,000-deep nesting is a reason", () => {
    const deep = new Uint8Array(20000);
    for (let i = 0; i < 10000; i++) {
      deep[i] = 0x5b;
      deep[19999 - i] = 0x5d;
    }
    expect(readCompletionContent(deep).ok).toBe(false);
    const deepObj = '{"choices":[{"message":{"content":"x"},"n":' + "[".repeat(10000) + "]".repeat(10000) + "}]}";
    expect(readCompletionContent(bytes(deepObj)).ok).toBe(false);
  });
  it("1 MB content", () => {
    const big = "字".repeat(350000);
    const r = readCompletionContent(bytes('{"choices":[{"message":{"content":"' + big + '"}}]}'));
    expect(r.ok).toBe(true);
    expect(r.content!.length).toBe(350000);
  });
});

describe("building the JSON-mode request", () => {
  it("has the lesson's shape", () => {
    const req = parseJson(buildJsonModeRequest(config(), jsonString("hello"))).value!;
    expect(req.get("model")!.asString()).toBe("deepseek-chat");
    expect(req.get("stream")!.asBool()).toBe(false);
    expect(req.get("stream")!.isBool()).toBe(true);
    const messages = req.get("messages")!;
    expect(messages.length).toBe(2);
    expect(messages.at(0)!.get("role")!.asString()).toBe("system");
    expect(messages.at(0)!.get("content")!.asString()).toBe(config().systemPrompt);
    expect(messages.at(1)!.get("role")!.asString()).toBe("user");
    expect(messages.at(1)!.get("content")!.asString()).toBe("hello");
  });
  it("content survives a round trip: quotes, backslashes, newlines, Chinese, emoji", () => {
    const samples: string[] = [
      'say "hi"',
      "back\\slash",
      "line1\nline2\r\n\ttab",
      "中文内容",
      "emoji 😀👍🏽",
      "ctl \u0001\u001f",
      "</script>",
      "\u2028\u2029",
    ];
    for (let i = 0; i < samples.length; i++) {
      // from a string value built in memory ...
      const a = parseJson(buildJsonModeRequest(config(), jsonString(samples[i]))).value!;
      expect(a.get("messages")!.at(1)!.get("content")!.asString()).toBe(samples[i]);
      // ... and from a value parsed out of an upstream body (raw copy path)
      const upstream = parseJsonString('{"choices":[{"message":{"content":' + JSON_quote(samples[i]) + "}}]}").value!;
      const content = upstream.get("choices")!.at(0)!.get("message")!.get("content")!;
      const b = parseJson(buildJsonModeRequest(config(), content)).value!;
      expect(b.get("messages")!.at(1)!.get("content")!.asString()).toBe(samples[i]);
    }
  });
  it("escaped upstream content (\\u escapes, \\/) is copied as valid JSON", () => {
    const upstream = parseJsonString('{"c":"a\\u4e2d\\/b\\ud83d\\ude00"}').value!;
    const r = parseJson(buildJsonModeRequest(config(), upstream.get("c")!));
    expect(r.ok).toBe(true);
    expect(r.value!.get("messages")!.at(1)!.get("content")!.asString()).toBe("a中/b😀");
  });
});

function JSON_quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += '\\"';
    else if (c == 92) out += "\\\\";
    else if (c < 0x20) out += "\\u" + (c < 16 ? "000" : "00") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

describe("reading the JSON-mode answer", () => {
  it("a JSON object answer becomes compact JSON", () => {
    const r = readJsonModeAnswer(config(), 200, fixture("deepseek-json-object.json"));
    expect(r.ok).toBe(true);
    const v = parseJson(r.json!).value!;
    expect(v.get("output")!.asString().startsWith("你好！我是通义千问")).toBe(true);
    expect(text(r.json!).startsWith('{"output":"你好')).toBe(true);
  });
  it("a fenced answer", () => {
    const r = readJsonModeAnswer(config(), 200, fixture("deepseek-json-fenced.json"));
    expect(r.ok).toBe(true);
    expect(text(r.json!)).toBe('{"output":"你好！我是通义千问。"}');
  });
  it("failures are reasons, never the key", () => {
    expect(readJsonModeAnswer(config(), 200, fixture("deepseek-empty-content.json")).failure!.reason).toBe(
      "answer: choices[0].message.content is empty",
    );
    expect(
      readJsonModeAnswer(config(), 200, fixture("deepseek-truncated.json")).failure!.reason.startsWith(
        "answer truncated (finish_reason length)",
      ),
    ).toBe(true);
    const r401 = readJsonModeAnswer(config(), 401, fixture("deepseek-error-401.json"));
    expect(r401.failure!.reason).toBe("call answered 401 (authentication_error)");
    expect(r401.failure!.reason.includes("7f3a")).toBe(false);
    expect(readJsonModeAnswer(config(), 429, fixture("deepseek-error-429.json")).failure!.reason).toBe(
      "call answered 429 (rate_limit_reached_error)",
    );
    expect(readJsonModeAnswer(config(), 504, bytes("upstream request timeout")).failure!.reason).toBe(
      "call answered 504",
    );
    expect(readJsonModeAnswer(config(), 0, new Uint8Array(0)).failure!.reason).toBe("call reset (no answer)");
    expect(readJsonModeAnswer(config(), 200, new Uint8Array(0)).failure!.reason).toBe(
      "call answered 200 with an empty body",
    );
    expect(readJsonModeAnswer(config(), 200, bytes("<html>")).failure!.reason.startsWith("answer is not JSON: ")).toBe(
      true,
    );
    expect(
      readJsonModeAnswer(
        config(),
        200,
        bytes('{"choices":[{"message":{"content":"just prose"}}]}'),
      ).failure!.reason.startsWith("answer holds no JSON: "),
    ).toBe(true);
    expect(readJsonModeAnswer(config(), 200, bytes('{"choices":[{"message":{"content":"42"}}]}')).ok).toBe(false);
  });
  it("a provider's error type is logged only when it is an identifier", () => {
    expect(readJsonModeAnswer(config(), 401, bytes('{"error":{"type":"invalid key sk-abc"}}')).failure!.reason).toBe(
      "call answered 401",
    );
    expect(readJsonModeAnswer(config(), 401, bytes('{"error":{"type":"auth.error-1"}}')).failure!.reason).toBe(
      "call answered 401 (auth.error-1)",
    );
  });
  it("redacts a secret", () => {
    expect(redact("key sk-1 and sk-1 again", "sk-1")).toBe("key *** and *** again");
    expect(redact("nothing here", "sk-1")).toBe("nothing here");
    expect(redact("x", "")).toBe("x");
  });
  it("failure codes", () => {
    expect(readJsonModeAnswer(config(), 401, fixture("deepseek-error-401.json")).failure!.code).toBe("call_failed");
    expect(readJsonModeAnswer(config(), 200, bytes("<html>")).failure!.code).toBe("invalid_answer");
    expect(readJsonModeAnswer(config(), 200, fixture("deepseek-empty-content.json")).failure!.code).toBe(
      "empty_content",
    );
    expect(readJsonModeAnswer(config(), 200, fixture("deepseek-truncated.json")).failure!.code).toBe("invalid_json");
    expect(readJsonModeAnswer(config(), 200, fixture("deepseek-truncated.json")).retryable).toBe(true);
    expect(readJsonModeAnswer(config(), 500, new Uint8Array(0)).retryable).toBe(false);
    expect(readCompletionContent(bytes("nope")).code).toBe("upstream_not_json");
    expect(readCompletionContent(bytes("{}")).code).toBe("not_completion");
    expect(readCompletionContent(bytes("[1,2]")).code).toBe("not_completion");
    expect(readCompletionContent(bytes('{"choices":[]}')).code).toBe("no_content");
    expect(readCompletionContent(fixture("deepseek-empty-content.json")).code).toBe("empty_content");
  });
  it("an array answer", () => {
    const r = readJsonModeAnswer(
      config(),
      200,
      bytes('{"choices":[{"message":{"content":"[1, 2, {\\"a\\": \\"}\\"}]"}}]}'),
    );
    expect(r.ok).toBe(true);
    expect(text(r.json!)).toBe('[1,2,{"a":"}"}]');
  });
});
