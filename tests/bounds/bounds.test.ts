// Bounds of one response on the compiled plugin (build/plugin.wasm), each
// case on a fresh instance so that the linear memory it ends with is the peak
// it reached: large completions and answers of the shapes that used to blow
// memory up or trap, uniqueItems over deeply nested items, and streams with
// interleaved choices, a byte order mark or an error event. Small sizes keep
// each case fast; bench/bounds.ts measures the full sizes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadHost, type HttpCall, type HttpStream, type ProxyWasmHost } from "../../host/index.ts";
import { WASM as WASM_FILE } from "../kit/wasm.ts";

const WASM = new Uint8Array(readFileSync(WASM_FILE));
const MiB = 1024 * 1024;
const CONFIG = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: "sk-bounds-test-secret",
  serviceFQDN: "deepseek.dns",
  maxRetries: 0,
};

function completion(contentJson: string, extra = ""): string {
  return `{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":${contentJson}},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}${extra}}`;
}

function zeros(bytes: number): string {
  return "[" + new Array(Math.floor(bytes / 2)).fill("0").join(",") + "]";
}

interface Run {
  host: ProxyWasmHost;
  stream: HttpStream;
  call?: HttpCall;
}

async function respond(
  config: Record<string, unknown>,
  body: string | Uint8Array,
  type = "application/json",
): Promise<Run> {
  const host = await loadHost(WASM, { pluginName: "ai-json-mode", logLevel: 2 });
  assert.ok(host.configure({ ...CONFIG, ...config }), "config accepted");
  const stream = host.stream({ routeName: "r" });
  stream.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, true);
  stream.responseHeaders({ ":status": "200", "content-type": type });
  stream.responseBody(body, true);
  return { host, stream, call: host.pendingCalls()[0] };
}

function answer(run: Run, contentJson: string): void {
  assert.ok(run.call, "the plugin called the JSON-mode model");
  run.host.answer(run.call!, 200, { "content-type": "application/json" }, completion(contentJson));
}

function peakWithin(run: Run, size: number): void {
  const peak = run.host.memoryPages() * 65536;
  assert.equal(run.host.failed, false, `no trap: ${run.host.failure?.message}`);
  assert.ok(
    peak <= 4 * size + 2 * MiB,
    `peak ${(peak / MiB).toFixed(1)} MiB for ${(size / MiB).toFixed(1)} MiB (bound 4x + 2 MiB)`,
  );
}

function warn(run: Run): string {
  return run.stream.logs.find((l) => l.levelName === "warn")?.message ?? "";
}

test("2 MiB of small values beside choices: content found without building the document; memory within 4x + 2 MiB", async () => {
  const body = completion('"hi"', ',"extra":' + zeros(2 * MiB));
  const run = await respond({}, body);
  assert.ok(run.call, "called");
  assert.match(run.call!.bodyText, /"content":"hi"/);
  answer(run, JSON.stringify('{"output":"hi"}'));
  assert.equal(run.stream.bodyText, '{"output":"hi"}');
  assert.equal(run.stream.resumed, 1);
  peakWithin(run, body.length);
});

test("output: openai rewrites a 2 MiB completion from its text: same bytes as compact JSON, content replaced", async () => {
  const body = completion('"hi"', ',"extra":' + zeros(2 * MiB));
  const run = await respond({ output: "openai" }, body);
  answer(run, JSON.stringify('{"output":"hi"}'));
  const expected = JSON.parse(body);
  expected.choices[0].message.content = '{"output":"hi"}';
  expected.usage = { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 };
  assert.equal(run.stream.bodyText, JSON.stringify(expected));
  peakWithin(run, body.length);
});

test("a 1 MiB answer under a schema with items: validated within its step limit, memory within 4x + 2 MiB", async () => {
  const schema = { type: "object", properties: { output: { type: "array", items: { type: "integer" } } } };
  const run = await respond({ jsonSchema: schema }, completion('"zeros"'));
  const items = new Array(60000).fill("1234567890").join(",");
  const content = JSON.stringify('{"output":[' + items + "]}");
  answer(run, content);
  assert.equal(run.stream.header("mode"), "json", warn(run));
  assert.equal(run.stream.bodyText.length, JSON.parse(content).length);
  peakWithin(run, content.length + 200);
});

test("1 MiB of [0,0,…] under items: {type: integer}: every value checked within the step limit", async () => {
  const schema = { type: "object", properties: { output: { type: "array", items: { type: "integer" } } } };
  const run = await respond({ jsonSchema: schema, onFailure: "error" }, completion('"zeros"'));
  const content = '{"output":' + zeros(MiB) + "}";
  answer(run, JSON.stringify(content));
  assert.equal(run.stream.status, 200, run.stream.bodyText.slice(0, 300));
  assert.equal(run.stream.header("mode"), "json");
  assert.equal(run.stream.bodyText, content);
  peakWithin(run, content.length + 200);
});

test("an answer too costly for its size fails as schema_mismatch with the step limit named, never a trap", async () => {
  // Every 0 is tried against five anyOf options: six steps per two bytes, over the limit of one per two.
  const options = [{ type: "string" }, { type: "object" }, { type: "array" }, { type: "boolean" }, { type: "integer" }];
  const schema = { type: "object", properties: { output: { type: "array", items: { anyOf: options } } } };
  const run = await respond({ jsonSchema: schema, onFailure: "error" }, completion('"zeros"'));
  answer(run, JSON.stringify('{"output":' + zeros(MiB) + "}"));
  assert.equal(run.stream.status, 502);
  const error = JSON.parse(run.stream.bodyText).error;
  assert.equal(error.code, "schema_mismatch");
  assert.match(error.message, /validation stopped after \d+ steps/);
  assert.equal(run.stream.resumed, 1);
});

test("an answer larger than the stream's buffer limit is not read: passthrough with its size named, memory stays small", async () => {
  // maxBodyBytes 16384: the limit is 2 x 16384 + 1 MiB = 1,081,344 bytes.
  const run = await respond({ maxBodyBytes: 16384 }, completion('"q"'));
  const big = JSON.stringify('{"output":"' + "y".repeat(2 * MiB) + '"}');
  answer(run, big);
  assert.equal(run.host.failed, false);
  assert.equal(run.stream.resumed, 1);
  assert.equal(run.stream.header("mode"), undefined);
  assert.match(warn(run), /answer of \d+ bytes not read: over 1081344 bytes/);
  assert.ok(run.host.memoryPages() * 65536 < MiB, `memory ${run.host.memoryPages()} pages`);
});

test("uniqueItems over 2,000 distinct items nested 33 deep: linear, well under a second", async () => {
  const schema = { type: "object", properties: { output: { type: "array", uniqueItems: true } } };
  const run = await respond({ jsonSchema: schema }, completion('"unique"'));
  const items = Array.from({ length: 2000 }, (_, i) => "[".repeat(33) + i + "]".repeat(33));
  const started = performance.now();
  answer(run, JSON.stringify('{"output":[' + items.join(",") + "]}"));
  const ms = performance.now() - started;
  assert.equal(run.stream.header("mode"), "json", warn(run));
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

function sse(events: string[]): string {
  return events.map((e) => `data: ${e}\n\n`).join("") + "data: [DONE]\n\n";
}

test("SSE with n: 2: only choice 0's deltas reach the JSON-mode model", async () => {
  const ev = (i: number, t: string) => JSON.stringify({ choices: [{ index: i, delta: { content: t } }] });
  const run = await respond(
    {},
    sse([ev(0, "Hang"), ev(1, "XX"), ev(0, "zhou "), ev(1, "YY"), ev(0, "sunny")]),
    "text/event-stream",
  );
  assert.ok(run.call, "called");
  const request = JSON.parse(run.call!.bodyText);
  assert.equal(request.messages[1].content, "Hangzhou sunny");
  answer(run, JSON.stringify('{"output":"ok"}'));
  assert.equal(run.stream.bodyText, '{"output":"ok"}');
});

test("SSE with a leading byte order mark is read like one without", async () => {
  const body = "\uFEFF" + sse([JSON.stringify({ choices: [{ index: 0, delta: { content: "hello" } }] })]);
  const run = await respond({}, body, "text/event-stream");
  assert.ok(run.call, warn(run));
  assert.equal(JSON.parse(run.call!.bodyText).messages[1].content, "hello");
});

test("SSE event: error passes the stream through untouched (or a 502 with onFailure: error), whatever its data", async () => {
  const body =
    "data: " +
    JSON.stringify({ choices: [{ index: 0, delta: { content: "partial" } }] }) +
    "\n\n" +
    'event: error\ndata: {"message":"overloaded"}\n\n';
  const run = await respond({}, body, "text/event-stream");
  assert.equal(run.call, undefined, "no call");
  assert.equal(run.stream.bodyText, body);
  assert.match(warn(run), /error event/);
  const strict = await respond({ onFailure: "error" }, body, "text/event-stream");
  assert.equal(strict.stream.status, 502);
});

test("40,000 small SSE events (1 MiB+) are collected in linear time", async () => {
  const ev = JSON.stringify({ choices: [{ index: 0, delta: { content: "ab" } }] });
  const body = sse(new Array(40000).fill(ev));
  const started = performance.now();
  const run = await respond({}, body, "text/event-stream");
  const ms = performance.now() - started;
  assert.ok(run.call, warn(run));
  assert.equal(JSON.parse(run.call!.bodyText).messages[1].content.length, 80000);
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  peakWithin(run, body.length);
});

test("300 rules inheriting a schema with a 20,000-value enum configure fast: the schema is compiled once", async () => {
  const host = await loadHost(WASM, { pluginName: "ai-json-mode", logLevel: 2 });
  const config = {
    ...CONFIG,
    jsonSchema: { type: "object", properties: { tag: { enum: Array.from({ length: 20000 }, (_, i) => `v${i}`) } } },
    _rules_: Array.from({ length: 300 }, (_, i) => ({ _match_route_: [`r${i}`], timeout: 1000 + i })),
  };
  const started = performance.now();
  assert.ok(host.configure(config));
  const ms = performance.now() - started;
  assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
  assert.ok(host.memoryPages() * 65536 < 64 * MiB, `memory ${host.memoryPages() / 16} MiB`);
});

test("config errors are one line each and never show the apiKey", async () => {
  const host = await loadHost(WASM, { pluginName: "ai-json-mode", logLevel: 0 });
  assert.equal(host.configure({ ...CONFIG, apiKey: "sk-trailing-newline-secret\n" }), false);
  assert.equal(host.configure({ ...CONFIG, model: "deep\r\nseek" }), false);
  const lines = host.logs.filter(
    (l) => l.levelName === "error" || l.levelName === "critical" || l.levelName === "warn",
  );
  assert.ok(lines.length >= 2, JSON.stringify(host.logs));
  for (const l of lines) {
    assert.ok(!l.message.includes("\n") && !l.message.includes("\r"), `one line: ${JSON.stringify(l.message)}`);
    assert.ok(!l.message.includes("sk-trailing-newline-secret"), "no key");
  }
  assert.ok(lines.some((l) => l.message.includes("apiKey: control character U+000A")));
  assert.ok(
    lines.some((l) =>
      l.message.includes('model: control character U+000D at position 4 is not allowed; got "deep\\r\\nseek"'),
    ),
  );
});
