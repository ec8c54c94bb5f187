import { extractJson, Extracted } from "../../assembly/jsonmode/extract";
import { parseJson, stringifyJson } from "../../assembly/json";

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function extract(text: string): Extracted {
  return extractJson(utf8(text));
}

/** The compact JSON extracted from `text` (the test fails when nothing is found). */
function found(text: string): string {
  let r = extract(text);
  if (!r.ok) log<string>("no JSON found in " + text + ": " + r.reason);
  expect<bool>(r.ok).toBe(true);
  expect<string>(r.reason).toBe("");
  let json = String.UTF8.decode(r.json.buffer);
  // `json` is the serialization of `value`, and parses back to it.
  expect<string>(stringifyJson(r.value!)).toBe(json);
  expect<bool>(parseJson(r.json).ok).toBe(true);
  return json;
}

/** The reason nothing was extracted from `text`. */
function rejected(text: string): string {
  let r = extract(text);
  expect<bool>(r.ok).toBe(false);
  expect<i32>(r.json.length).toBe(0);
  expect<bool>(r.value === null).toBe(true);
  return r.reason;
}

describe("extractJson: the whole answer", () => {
  test("a plain object, compacted", () => {
    expect<string>(found('{"a": 1, "b": [true, null]}')).toBe('{"a":1,"b":[true,null]}');
  });

  test("an array, with surrounding whitespace", () => {
    expect<string>(found('\n  [1, "two", {"x": 3}]  \n')).toBe('[1,"two",{"x":3}]');
  });

  test("nested structures and Unicode", () => {
    expect<string>(found('{"中文": {"list": [[1], [2, {"emoji": "😀"}]]}}')).toBe(
      '{"中文":{"list":[[1],[2,{"emoji":"😀"}]]}}',
    );
  });

  test("the value is available parsed", () => {
    let r = extract('{"output": "done"}');
    expect<string>(r.value!.get("output")!.asString()).toBe("done");
  });
});

describe("extractJson: code fences", () => {
  test("```json fence", () => {
    expect<string>(found('```json\n{"a": 1}\n```')).toBe('{"a":1}');
  });

  test("plain ``` fence", () => {
    expect<string>(found("```\n[1, 2]\n```")).toBe("[1,2]");
  });

  test("any case of json, CRLF line ends", () => {
    expect<string>(found('```JSON\r\n{"a": 1}\r\n```\r\n')).toBe('{"a":1}');
    expect<string>(found('```Json\r\n{"b": 2}\r\n```')).toBe('{"b":2}');
  });

  test("prose before and after the fence", () => {
    expect<string>(found('Here is the result:\n\n```json\n{"answer": 42}\n```\n\nLet me know if you need more.')).toBe(
      '{"answer":42}',
    );
  });

  test("fence on one line", () => {
    expect<string>(found('```json {"inline": true}```')).toBe('{"inline":true}');
  });

  test("an unclosed fence still yields its body", () => {
    expect<string>(found('```json\n{"a": [1, 2]}\n')).toBe('{"a":[1,2]}');
  });

  test("a fence of another language is skipped", () => {
    expect<string>(found("```python\nprint({'a': 1})\n```\nResult: {\"r\": 1}")).toBe('{"r":1}');
  });

  test("fence with invalid JSON, valid JSON elsewhere", () => {
    expect<string>(found('```json\n{not: json}\n```\nThe corrected version: {"ok": true}')).toBe('{"ok":true}');
  });

  test("fenced JSON is preferred over braces in the prose before it", () => {
    expect<string>(found('Use {curly} braces like this:\n```json\n{"a": 1}\n```')).toBe('{"a":1}');
  });
});

describe("extractJson: JSON inside prose", () => {
  test("prose before and after", () => {
    expect<string>(found('Sure! Here it is: {"name": "x", "n": 2} Hope this helps.')).toBe('{"name":"x","n":2}');
  });

  test("braces inside strings do not confuse it", () => {
    expect<string>(found('Result: {"a":"}{"} end')).toBe('{"a":"}{"}');
    expect<string>(found('{"text": "a ] b [ c { d"}')).toBe('{"text":"a ] b [ c { d"}');
  });

  test("nested object taken whole", () => {
    expect<string>(found('answer: {"x": {"y": {"z": [1, {"w": 2}]}}} done')).toBe('{"x":{"y":{"z":[1,{"w":2}]}}}');
  });

  test("two objects: the first is taken", () => {
    expect<string>(found('{"first": 1} and {"second": 2}')).toBe('{"first":1}');
    expect<string>(found('{"a":1}{"b":2}')).toBe('{"a":1}');
  });

  test("a failed '{' is skipped for a later one", () => {
    expect<string>(found("Use {curly} braces, then [1, 2, 3]")).toBe("[1,2,3]");
  });

  test("many false starts before the JSON", () => {
    let text = "";
    for (let i = 0; i < 40; i++) text += "{x} ";
    text += '{"real": true}';
    expect<string>(found(text)).toBe('{"real":true}');
  });
});

describe("extractJson: rejections", () => {
  test("empty and whitespace-only content", () => {
    expect<string>(rejected("")).toBe("empty content");
    expect<string>(rejected("  \n\t \r\n")).toBe("empty content");
  });

  test("a bare scalar is not an answer", () => {
    expect<string>(rejected("42")).toBe("no JSON object or array in the answer");
    expect<string>(rejected('"hi"')).toBe("no JSON object or array in the answer");
    expect<string>(rejected("true")).toBe("no JSON object or array in the answer");
    expect<string>(rejected('"use {x} here"')).toBe("no JSON object or array in the answer");
  });

  test("prose without JSON", () => {
    expect<string>(rejected("I cannot answer that.")).toBe("no JSON object or array in the answer");
  });

  test("a truncated object", () => {
    let reason = rejected('{"output": "abc');
    expect<bool>(reason.includes("truncated")).toBe(true);
    expect<bool>(reason.includes("unexpected end of input at offset 15")).toBe(true);
  });

  test("a truncated object is not mistaken for its inner parts", () => {
    let reason = rejected('{"list": [1, 2], "more": {"k": "v"}, "tail": "unfinish');
    expect<bool>(reason.includes("truncated")).toBe(true);
  });

  test("a truncated fence body", () => {
    expect<bool>(rejected('```json\n{"a": [1, 2').includes("truncated")).toBe(true);
  });

  test("broken JSON reports the parse error", () => {
    let reason = rejected('Here: {"a": 1,}');
    expect<bool>(reason.includes("unexpected byte 0x7d")).toBe(true);
  });

  test("a bracket-heavy answer stays bounded", () => {
    let text = "";
    for (let i = 0; i < 5000; i++) text += "[{";
    let r = extract(text);
    expect<bool>(r.ok).toBe(false);
  });
});
