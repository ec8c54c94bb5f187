import { parseJson, parseJsonString } from "../../assembly/json";
import { collectSse, buildSseOutput } from "../../assembly/jsonmode/sse";
import { fixture } from "./generated/fixtures";

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
function text(b: Uint8Array): string {
  return String.UTF8.decode(b.buffer);
}
function chunk(content: string): string {
  return '{"choices":[{"delta":{"content":' + content + '},"index":0}]}';
}

describe("SSE: collecting deltas", () => {
  it("the Qwen stream fixture", () => {
    const r = collectSse(fixture("qwen-chat-stream.sse"));
    expect(r.ok).toBe(true);
    expect(r.content).toBe("你好！我是通义千问，由阿里云开发的大规模语言模型。");
    expect(r.events).toBe(4);
    expect(r.first!.get("model")!.asString()).toBe("qwen-max");
  });
  it("LF, CRLF and CR line endings give the same content", () => {
    const lf = "data: " + chunk('"a"') + "\n\ndata: " + chunk('"b"') + "\n\ndata: [DONE]\n\n";
    expect(collectSse(bytes(lf)).content).toBe("ab");
    expect(collectSse(bytes(lf.replaceAll("\n", "\r\n"))).content).toBe("ab");
    expect(collectSse(bytes(lf.replaceAll("\n", "\r"))).content).toBe("ab");
  });
  it("comments, other fields, no space after the colon, a last event without a blank line", () => {
    const s = ": keep-alive\nevent: message\nid: 1\ndata:" + chunk('"x"') + "\n\nretry: 10\ndata: " + chunk('"y"');
    const r = collectSse(bytes(s));
    expect(r.ok).toBe(true);
    expect(r.content).toBe("xy");
  });
  it("multi-line data is joined with LF", () => {
    const s = 'data: {"choices":[{"delta":\ndata: {"content":"m"}}]}\n\n';
    expect(collectSse(bytes(s)).content).toBe("m");
  });
  it("stops at [DONE]", () => {
    const s = "data: " + chunk('"a"') + "\n\ndata: [DONE]\n\ndata: " + chunk('"b"') + "\n\n";
    expect(collectSse(bytes(s)).content).toBe("a");
  });
  it("a surrogate pair split across two deltas stays one character", () => {
    const s = "data: " + chunk('"\\ud83d"') + "\n\ndata: " + chunk('"\\ude00 ok"') + "\n\n";
    expect(collectSse(bytes(s)).content).toBe("😀 ok");
  });
  it("usage from the last chunk that has one", () => {
    const s = "data: " + chunk('"a"') + '\n\ndata: {"choices":[],"usage":{"total_tokens":7}}\n\n';
    const r = collectSse(bytes(s));
    expect(r.usage!.get("total_tokens")!.asNumber()).toBe(7);
  });
  it("unusable streams have a reason and never trap", () => {
    expect(collectSse(bytes("data: {not json\n\n")).reason.startsWith("stream event 0 is not JSON")).toBe(true);
    expect(collectSse(bytes('data: {"error":{"message":"x"}}\n\n')).reason).toBe("stream event 0 carries an error");
    expect(collectSse(bytes("data: [1]\n\n")).reason).toBe("stream event 0 is not a JSON object");
    expect(collectSse(bytes("")).reason).toBe("no data events in the stream");
    expect(collectSse(bytes(": only a comment\n\n")).reason).toBe("no data events in the stream");
    expect(collectSse(bytes("data: [DONE]\n\n")).reason).toBe("no data events in the stream");
    const junk = new Uint8Array(300);
    for (let i = 0; i < junk.length; i++) junk[i] = <u8>((i * 37) & 0xff);
    collectSse(junk);
  });
});

describe("SSE: choice 0 only, BOM, error events", () => {
  it("interleaved deltas of choices 0 and 1 (n: 2): only index 0 is collected", () => {
    const ev = (i: i32, t: string): string =>
      'data: {"choices":[{"index":' + i.toString() + ',"delta":{"content":"' + t + '"}}]}\n\n';
    const s = ev(0, "A") + ev(1, "x") + ev(0, "B") + ev(1, "y") + ev(1, "z") + ev(0, "C") + "data: [DONE]\n\n";
    const r = collectSse(bytes(s));
    expect(r.ok).toBe(true);
    expect(r.content).toBe("ABC");
    expect(r.events).toBe(6);
    // the first event stays the first, whatever its choice
    const first = collectSse(bytes(ev(1, "x") + ev(0, "A"))).first!;
    expect(first.get("choices")!.at(0)!.get("index")!.asNumber()).toBe(1);
  });
  it("a choice with index 0 counts wherever it stands; one without an index counts by position", () => {
    const s =
      'data: {"choices":[{"index":1,"delta":{"content":"x"}},{"index":0,"delta":{"content":"A"}}]}\n\n' +
      'data: {"choices":[{"delta":{"content":"B"}},{"delta":{"content":"y"}}]}\n\n';
    expect(collectSse(bytes(s)).content).toBe("AB");
  });
  it("usage still comes from the last chunk that has one, whatever its choices", () => {
    const s =
      'data: {"choices":[{"index":1,"delta":{"content":"x"}}],"usage":{"total_tokens":5}}\n\n' +
      'data: {"choices":[{"index":0,"delta":{"content":"A"}}]}\n\n';
    const r = collectSse(bytes(s));
    expect(r.content).toBe("A");
    expect(r.usage!.get("total_tokens")!.asNumber()).toBe(5);
  });
  it("a leading UTF-8 byte order mark is ignored", () => {
    const s = "\uFEFFdata: " + chunk('"a"') + "\n\ndata: " + chunk('"b"') + "\n\n";
    const r = collectSse(bytes(s));
    expect(r.ok).toBe(true);
    expect(r.content).toBe("ab");
    expect(r.events).toBe(2);
  });
  it("event: error fails the stream whatever its data holds", () => {
    const content = "data: " + chunk('"a"') + "\n\nevent: error\ndata: " + chunk('"oops"') + "\n\n";
    expect(collectSse(bytes(content)).reason).toBe("stream event 1 is an error event (event: error)");
    expect(collectSse(bytes('event: error\ndata: {"message":"overloaded"}\n\n')).reason).toBe(
      "stream event 0 is an error event (event: error)",
    );
    expect(collectSse(bytes("event: error\ndata: not json\n\n")).ok).toBe(false);
    // the event type holds for one event only
    const after = "event: error2\ndata: " + chunk('"a"') + "\n\nevent: message\ndata: " + chunk('"b"') + "\n\n";
    expect(collectSse(bytes(after)).content).toBe("ab");
  });
  it("many small events are collected in linear time", () => {
    const ev = "data: " + chunk('"ab"') + "\n\n";
    const s = ev.repeat(20000);
    const r = collectSse(bytes(s));
    expect(r.ok).toBe(true);
    expect(r.content.length).toBe(40000);
    expect(r.events).toBe(20000);
  });
});

describe("SSE: the content as the deltas' text", () => {
  it("deltas from single-line and joined events, in order, written into a request as one JSON string", () => {
    const s =
      "data: " +
      chunk('"a\\"b"') +
      "\n\n" +
      'data: {"choices":[{"delta":\ndata: {"content":"\\ud83d"},"index":0}]}\n\n' +
      "data: " +
      chunk('"\\ude00 c"') +
      "\n\n";
    const r = collectSse(bytes(s));
    expect(r.text.byteLength).toBe(18);
    expect(r.content).toBe('a"b😀 c');
    const v = r.text.toValue();
    expect(v.asString()).toBe('a"b😀 c');
  });
  it("blank content, escaped or not, is blank; anything else is not", () => {
    expect(collectSse(bytes("data: " + chunk('" \\n\\t\\r "') + "\n\n")).text.isBlank()).toBe(true);
    expect(collectSse(bytes("data: " + chunk('"\\u0020\\u000A"') + "\n\n")).text.isBlank()).toBe(true);
    expect(collectSse(bytes("data: " + chunk('""') + "\n\n")).text.isBlank()).toBe(true);
    expect(collectSse(bytes("data: " + chunk('" \\u0041"') + "\n\n")).text.isBlank()).toBe(false);
    expect(collectSse(bytes("data: " + chunk('"\\u00a0"') + "\n\n")).text.isBlank()).toBe(false);
    expect(collectSse(bytes("data: " + chunk('" x"') + "\n\n")).text.isBlank()).toBe(false);
  });
});

describe("SSE: writing the converted stream", () => {
  it("one chunk with the JSON text and finish_reason stop, then [DONE]", () => {
    const first = parseJsonString(
      '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"qwen-max","choices":[]}',
    ).value;
    const out = text(buildSseOutput(first, bytes('{"output":"hi"}'), null, null));
    expect(out.startsWith("data: ")).toBe(true);
    expect(out.endsWith("\n\ndata: [DONE]\n\n")).toBe(true);
    const event = out.substring(6, out.indexOf("\n\n"));
    const v = parseJson(bytes(event)).value!;
    expect(v.get("id")!.asString()).toBe("c1");
    expect(v.get("model")!.asString()).toBe("qwen-max");
    expect(v.get("created")!.asNumber()).toBe(1);
    const c0 = v.get("choices")!.at(0)!;
    expect(c0.get("finish_reason")!.asString()).toBe("stop");
    expect(c0.get("delta")!.get("content")!.asString()).toBe('{"output":"hi"}');
    // and a client that collects the stream gets the JSON back
    expect(collectSse(bytes(out)).content).toBe('{"output":"hi"}');
  });
  it("usage sums the stream's and the call's tokens", () => {
    const up = parseJsonString('{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}').value;
    const call = parseJsonString('{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}').value;
    const out = text(buildSseOutput(null, bytes("[]"), up, call));
    const v = parseJson(bytes(out.substring(6, out.indexOf("\n\n")))).value!;
    expect(v.get("usage")!.get("total_tokens")!.asNumber()).toBe(33);
    expect(v.get("object")!.asString()).toBe("chat.completion.chunk");
  });
});
