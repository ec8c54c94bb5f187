// The mock LLM servers, over real HTTP on 127.0.0.1 ports picked at run time.
import { test, describe, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { existsSync, readFileSync } from "node:fs";
import {
  startChatMock,
  startJsonModeMock,
  ERROR_BODIES,
  MALFORMED_KINDS,
  NOT_JSON_BODY,
  chatReply,
  jsonModeObject,
  lastUserMessage,
  type MockServer,
} from "../../host/index.ts";

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Sizes of the body pieces as the client read them. */
  reads: number[];
  /** Set when the connection failed (before or during the answer). */
  error?: string;
  /** True when the body ended early (connection closed mid-body). */
  aborted: boolean;
}

/** A plain HTTP request that keeps the raw bytes (no decompression) and reports resets. */
function raw(
  url: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const u = new URL(opts.path ?? "/v1/chat/completions", url);
  return new Promise((resolve) => {
    const ans: RawAnswer = { status: 0, headers: {}, body: Buffer.alloc(0), reads: [], aborted: false };
    const parts: Buffer[] = [];
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      ans.body = Buffer.concat(parts);
      if (error) ans.error = error;
      resolve(ans);
    };
    const req = request(
      u,
      {
        method: opts.method ?? "POST",
        headers: { "content-type": "application/json", connection: "close", ...opts.headers },
      },
      (res) => {
        ans.status = res.statusCode ?? 0;
        ans.headers = res.headers;
        res.on("data", (c: Buffer) => {
          parts.push(c);
          ans.reads.push(c.length);
        });
        res.on("aborted", () => (ans.aborted = true));
        res.on("error", (e) => {
          ans.aborted = true;
          done(e.message);
        });
        res.on("close", () => {
          if (!res.complete) ans.aborted = true;
          done();
        });
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    req.end(opts.body);
  });
}

const chatBody = (content: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: "qwen-max",
    messages: [
      { role: "system", content: "You are helpful." },
      { role: "user", content },
    ],
    ...extra,
  });

const SYSTEM_PROMPT = 'Answer with a JSON object as defined, for example {"output": "xxxx"}.';
const jsonBody = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: "deepseek-chat",
    messages: [
      { role: "system", content: SYSTEM_PROMPT },
      { role: "user", content },
    ],
    stream: false,
    ...extra,
  });
const AUTH = { authorization: "Bearer sk-test-key" };

function sseEvents(text: string): string[] {
  assert.ok(text.endsWith("\n\n"), "an SSE body ends with a blank line");
  return text
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => {
      assert.ok(e.startsWith("data: "), `event starts with "data: ": ${e.slice(0, 40)}`);
      return e.slice("data: ".length);
    });
}

describe("chat mock (Qwen-shaped)", () => {
  let chat: MockServer;
  before(async () => {
    chat = await startChatMock();
  });
  after(() => chat.close());
  beforeEach(() => {
    chat.set({});
    chat.requests.length = 0;
  });

  test("answers a chat completion shaped like DashScope's", async () => {
    const r = await raw(chat.url, { body: chatBody("hello") });
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-mock"], "ai-json-mode-mock");
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(Number(r.headers["content-length"]), r.body.length);
    const j = JSON.parse(r.body.toString());
    // the keys of fixtures/qwen-chat-completion.json, in its order
    assert.deepEqual(Object.keys(j), ["choices", "object", "usage", "created", "system_fingerprint", "model", "id"]);
    assert.equal(j.object, "chat.completion");
    assert.ok(Number.isInteger(j.created), "created is an integer");
    assert.ok(Math.abs(j.created - Date.now() / 1000) < 60, "created is the current time in seconds");
    assert.equal(j.system_fingerprint, null);
    assert.equal(j.model, "qwen-max");
    assert.match(j.id, /^chatcmpl-/);
    assert.equal(j.choices.length, 1);
    assert.deepEqual(j.choices[0], {
      message: { role: "assistant", content: "Mock reply to: hello" },
      finish_reason: "stop",
      index: 0,
      logprobs: null,
    });
    assert.ok(Number.isInteger(j.usage.prompt_tokens) && j.usage.prompt_tokens > 0);
    assert.ok(Number.isInteger(j.usage.completion_tokens) && j.usage.completion_tokens > 0);
    assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);
    assert.deepEqual(j.usage.prompt_tokens_details, { cached_tokens: 0 });
  });

  test("content is deterministic and derived from the last user message", async () => {
    const body = JSON.stringify({
      model: "x",
      messages: [
        { role: "user", content: "first" },
        { role: "assistant", content: "ok" },
        {
          role: "user",
          content: [
            { type: "text", text: "你好，" },
            { type: "text", text: "世界 🌍" },
          ],
        },
      ],
    });
    const a = JSON.parse((await raw(chat.url, { body })).body.toString());
    const b = JSON.parse((await raw(chat.url, { body })).body.toString());
    assert.equal(a.choices[0].message.content, "Mock reply to: 你好，世界 🌍");
    assert.equal(b.choices[0].message.content, a.choices[0].message.content);
    assert.equal(a.model, "x", "the requested model is echoed");
    assert.equal(chatReply("hi"), "Mock reply to: hi");
    assert.equal(lastUserMessage(JSON.parse(body)), "你好，世界 🌍");
  });

  test("the model option overrides the model in answers", async () => {
    const m = await startChatMock({ model: "qwen-plus" });
    try {
      const j = JSON.parse((await raw(m.url, { body: chatBody("hi") })).body.toString());
      assert.equal(j.model, "qwen-plus");
    } finally {
      await m.close();
    }
  });

  test("answers POST */chat/completions under any prefix, 404 elsewhere", async () => {
    for (const path of ["/v1/chat/completions", "/compatible-mode/v1/chat/completions", "/chat/completions?x=1"]) {
      const r = await raw(chat.url, { path, body: chatBody("p") });
      assert.equal(r.status, 200, path);
    }
    const get = await raw(chat.url, { method: "GET", path: "/v1/chat/completions" });
    assert.equal(get.status, 404);
    assert.equal(get.headers["x-mock"], "ai-json-mode-mock");
    assert.equal(JSON.parse(get.body.toString()).error.code, "not_found");
    const other = await raw(chat.url, { path: "/v1/embeddings", body: "{}" });
    assert.equal(other.status, 404);
  });

  test("400 for a body that is not a chat request", async () => {
    const r = await raw(chat.url, { body: "not json" });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body.toString()).error.type, "invalid_request_error");
    const r2 = await raw(chat.url, { body: '{"model":"x"}' });
    assert.equal(r2.status, 400);
  });

  test('"stream": true answers SSE chunks ending with data: [DONE]', async () => {
    const r = await raw(chat.url, { body: chatBody("hello there, streaming world", { stream: true }) });
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/event-stream/);
    assert.equal(r.headers["content-length"], undefined, "a stream has no content-length");
    assert.equal(r.headers["transfer-encoding"], "chunked");
    const events = sseEvents(r.body.toString());
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(chunks.length >= 3, "several chunks");
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, "one id for the whole stream");
    for (const c of chunks) {
      assert.deepEqual(Object.keys(c), ["choices", "object", "usage", "created", "system_fingerprint", "model", "id"]);
      assert.equal(c.object, "chat.completion.chunk");
      assert.equal(c.usage, null);
      assert.equal(c.system_fingerprint, null);
      assert.ok(Number.isInteger(c.created));
    }
    assert.deepEqual(chunks[0].choices[0].delta, { content: "", role: "assistant" });
    assert.equal(chunks[0].choices[0].finish_reason, null);
    assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
    const text = chunks.map((c) => c.choices[0].delta.content).join("");
    assert.equal(text, "Mock reply to: hello there, streaming world");
  });

  test("stream_options.include_usage adds a usage chunk with no choices", async () => {
    const r = await raw(chat.url, { body: chatBody("u", { stream: true, stream_options: { include_usage: true } }) });
    const events = sseEvents(r.body.toString());
    const last = JSON.parse(events.at(-2)!);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.total_tokens > 0);
  });

  test("chunkDelayMs spaces the SSE events", async () => {
    chat.set({ chunkDelayMs: 30 });
    const t0 = Date.now();
    const r = await raw(chat.url, { body: chatBody("abc", { stream: true }) });
    const events = sseEvents(r.body.toString());
    assert.ok(Date.now() - t0 >= 30 * (events.length - 1) - 5, "waited between events");
    assert.ok(r.reads.length >= events.length, `read in ${r.reads.length} pieces, ${events.length} events`);
  });

  test("status 500 answers the upstream error body", async () => {
    chat.set({ status: 500 });
    const r = await raw(chat.url, { body: chatBody("x") });
    assert.equal(r.status, 500);
    assert.equal(r.body.toString(), ERROR_BODIES[500]);
    assert.equal(JSON.parse(r.body.toString()).error.type, "server_error");
  });
});

describe("JSON-mode mock (DeepSeek-shaped)", () => {
  let ds: MockServer;
  before(async () => {
    ds = await startJsonModeMock();
  });
  after(() => ds.close());
  beforeEach(() => {
    ds.set({});
    ds.requests.length = 0;
  });

  test("with response_format json_object, content is the JSON object of the user content", async () => {
    const user = 'Mock reply to: 你好 "quoted" \\ back\nslash';
    const r = await raw(ds.url, { headers: AUTH, body: jsonBody(user, { response_format: { type: "json_object" } }) });
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-mock"], "ai-json-mode-mock");
    const j = JSON.parse(r.body.toString());
    // the keys of fixtures/deepseek-json-object.json, in its order
    assert.deepEqual(Object.keys(j), ["id", "object", "created", "model", "choices", "usage", "system_fingerprint"]);
    assert.match(j.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(j.object, "chat.completion");
    assert.ok(Number.isInteger(j.created));
    assert.equal(j.model, "deepseek-chat");
    assert.equal(typeof j.system_fingerprint, "string");
    assert.equal(j.choices[0].finish_reason, "stop");
    assert.equal(j.choices[0].logprobs, null);
    assert.equal(j.choices[0].message.role, "assistant");
    const content = j.choices[0].message.content;
    assert.equal(content, JSON.stringify({ output: user }, null, 2), "pretty-printed like DeepSeek");
    assert.equal(content, jsonModeObject(user));
    assert.deepEqual(JSON.parse(content), { output: user });
    assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);
    assert.deepEqual(j.usage.prompt_tokens_details, { cached_tokens: 0 });
    assert.equal(j.usage.prompt_cache_hit_tokens, 0);
    assert.equal(j.usage.prompt_cache_miss_tokens, j.usage.prompt_tokens);
  });

  test("without response_format, the JSON comes in a ```json fence", async () => {
    const r = await raw(ds.url, { headers: AUTH, body: jsonBody("hello") });
    assert.equal(r.status, 200);
    const content: string = JSON.parse(r.body.toString()).choices[0].message.content;
    assert.ok(content.startsWith("```json\n") && content.endsWith("\n```"), content);
    assert.deepEqual(JSON.parse(content.slice(8, -4)), { output: "hello" });
  });

  test("401 with DeepSeek's error body without an authorization: Bearer key", async () => {
    for (const headers of [{}, { authorization: "Basic Zm9vOmJhcg==" }, { authorization: "Bearer " }] as Record<
      string,
      string
    >[]) {
      const r = await raw(ds.url, { headers, body: jsonBody("hello") });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.body.toString(), ERROR_BODIES[401]);
      assert.equal(JSON.parse(r.body.toString()).error.type, "authentication_error");
    }
    assert.equal(ds.requests.length, 3, "refused requests are recorded too");
  });

  test("json_object without the word json in the prompt is refused, as DeepSeek does", async () => {
    const body = JSON.stringify({
      model: "deepseek-chat",
      messages: [{ role: "user", content: "hello" }],
      response_format: { type: "json_object" },
    });
    const r = await raw(ds.url, { headers: AUTH, body });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body.toString()).error.message, /must contain the word 'json'/);
  });

  test("status 429 answers the rate-limit body; other statuses a provider-style error", async () => {
    ds.set({ status: 429 });
    const r = await raw(ds.url, { headers: AUTH, body: jsonBody("x") });
    assert.equal(r.status, 429);
    assert.equal(r.body.toString(), ERROR_BODIES[429]);
    ds.set({ status: 503 });
    const r2 = await raw(ds.url, { headers: AUTH, body: jsonBody("x") });
    assert.equal(r2.status, 503);
    assert.equal(JSON.parse(r2.body.toString()).error.type, "server_error");
  });

  test("a streamed JSON-mode answer uses DeepSeek's chunk shape", async () => {
    const r = await raw(ds.url, {
      headers: AUTH,
      body: jsonBody("s", { stream: true, response_format: { type: "json_object" } }),
    });
    const events = sseEvents(r.body.toString());
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks[0].object, "chat.completion.chunk");
    const text = chunks.map((c) => c.choices[0].delta.content).join("");
    assert.deepEqual(JSON.parse(text), { output: "s" });
  });
});

describe("behaviours", () => {
  let chat: MockServer;
  let ds: MockServer;
  before(async () => {
    chat = await startChatMock();
    ds = await startJsonModeMock();
  });
  after(async () => {
    await chat.close();
    await ds.close();
  });
  beforeEach(() => {
    chat.set({});
    ds.set({});
  });

  test("the list of malformed kinds", () => {
    assert.deepEqual([...MALFORMED_KINDS].sort(), [
      "close-mid-body",
      "content-number",
      "empty-content",
      "no-choices",
      "not-json",
      "reset",
      "truncated",
    ]);
  });

  test("truncated: half the content and finish_reason length", async () => {
    ds.set({ malformed: "truncated" });
    const r = await raw(ds.url, {
      headers: AUTH,
      body: jsonBody("a fairly long answer", { response_format: { type: "json_object" } }),
    });
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body.toString());
    const full = jsonModeObject("a fairly long answer");
    const content = j.choices[0].message.content;
    assert.equal(j.choices[0].finish_reason, "length");
    assert.equal(content, full.slice(0, Math.floor(full.length / 2)));
    assert.throws(() => JSON.parse(content), "the content is cut-off JSON");
  });

  test("truncated cuts by characters, never inside one", async () => {
    chat.set({ malformed: "truncated" });
    const j = JSON.parse((await raw(chat.url, { body: chatBody("你好世界") })).body.toString());
    assert.equal(j.choices[0].message.content, Array.from("Mock reply to: 你好世界").slice(0, 9).join(""));
  });

  test("not-json: a 200 labelled JSON whose body is not JSON", async () => {
    chat.set({ malformed: "not-json" });
    const r = await raw(chat.url, { body: chatBody("x") });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.body.toString(), NOT_JSON_BODY);
    assert.throws(() => JSON.parse(r.body.toString()));
  });

  test("not-json in a stream: events that are not JSON, then [DONE]", async () => {
    chat.set({ malformed: "not-json" });
    const r = await raw(chat.url, { body: chatBody("x", { stream: true }) });
    const events = sseEvents(r.body.toString());
    assert.equal(events.at(-1), "[DONE]");
    assert.throws(() => JSON.parse(events[0]));
  });

  test("no-choices: an empty choices array", async () => {
    ds.set({ malformed: "no-choices" });
    const j = JSON.parse((await raw(ds.url, { headers: AUTH, body: jsonBody("x") })).body.toString());
    assert.deepEqual(j.choices, []);
    assert.equal(j.object, "chat.completion");
  });

  test("empty-content: content is the empty string, finish_reason stop", async () => {
    ds.set({ malformed: "empty-content" });
    const j = JSON.parse((await raw(ds.url, { headers: AUTH, body: jsonBody("x") })).body.toString());
    assert.equal(j.choices[0].message.content, "");
    assert.equal(j.choices[0].finish_reason, "stop");
  });

  test("content-number: content is a number", async () => {
    chat.set({ malformed: "content-number" });
    const j = JSON.parse((await raw(chat.url, { body: chatBody("x") })).body.toString());
    assert.equal(j.choices[0].message.content, 42);
  });

  test("reset: the connection is reset before any answer", async () => {
    ds.set({ malformed: "reset" });
    const r = await raw(ds.url, { headers: AUTH, body: jsonBody("x") });
    assert.equal(r.status, 0, "no status line");
    assert.ok(r.error === "ECONNRESET" || r.error === "socket hang up", `error: ${r.error}`);
    await assert.rejects(
      fetch(`${ds.url}/v1/chat/completions`, { method: "POST", headers: AUTH, body: jsonBody("x") }),
    );
    assert.equal(ds.requests.length > 0, true, "the request was still recorded");
  });

  test("close-mid-body: headers with the full length, half the body, then the connection closes", async () => {
    chat.set({});
    const full = await raw(chat.url, { body: chatBody("a body long enough to cut in half") });
    chat.set({ malformed: "close-mid-body" });
    const r = await raw(chat.url, { body: chatBody("a body long enough to cut in half") });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers["content-length"]), full.body.length);
    assert.ok(r.aborted, "the body ended early");
    assert.equal(r.body.length, Math.floor(full.body.length / 2));
    assert.ok(
      r.body.toString().startsWith('{"choices":[{"message":{"role":"assistant","content":"Mock reply to: a body'),
    );
  });

  test("close-mid-body with chunks still stops at half", async () => {
    chat.set({ malformed: "close-mid-body", chunkSize: 7, chunkDelayMs: 1 });
    const r = await raw(chat.url, { body: chatBody("chunked and cut") });
    assert.ok(r.aborted);
    assert.equal(r.body.length, Math.floor(Number(r.headers["content-length"]) / 2));
  });

  test("chunkSize 1 sends the body byte by byte", async () => {
    chat.set({ chunkSize: 1, chunkDelayMs: 2, body: '{"a":"é"}' });
    const r = await raw(chat.url, { body: chatBody("x") });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '{"a":"é"}');
    assert.equal(Number(r.headers["content-length"]), 10);
    assert.deepEqual(r.reads, Array(10).fill(1), "ten reads of one byte (é is two bytes)");
  });

  test("chunkSize 1 without delay still delivers a complete, valid completion", async () => {
    chat.set({ chunkSize: 1 });
    const r = await raw(chat.url, { body: chatBody("byte by byte") });
    assert.equal(Number(r.headers["content-length"]), r.body.length);
    assert.equal(JSON.parse(r.body.toString()).choices[0].message.content, "Mock reply to: byte by byte");
    ds.set({ chunkSize: 1 });
    const s = await raw(ds.url, { headers: AUTH, body: jsonBody("sse", { stream: true }) });
    assert.equal(sseEvents(s.body.toString()).at(-1), "[DONE]");
  });

  test("gzip: content-encoding gzip and a compressed body", async () => {
    ds.set({ gzip: true });
    const r = await raw(ds.url, {
      headers: AUTH,
      body: jsonBody("zipped", { response_format: { type: "json_object" } }),
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-encoding"], "gzip");
    assert.equal(Number(r.headers["content-length"]), r.body.length, "content-length is the compressed size");
    assert.equal(r.body[0], 0x1f);
    assert.equal(r.body[1], 0x8b);
    const j = JSON.parse(gunzipSync(r.body).toString());
    assert.deepEqual(JSON.parse(j.choices[0].message.content), { output: "zipped" });
    // fetch decompresses it transparently
    const f = await fetch(`${ds.url}/v1/chat/completions`, { method: "POST", headers: AUTH, body: jsonBody("zipped") });
    assert.equal((await f.json()).object, "chat.completion");
  });

  test("gzip with chunking and an SSE stream", async () => {
    chat.set({ gzip: true, chunkSize: 16 });
    const r = await raw(chat.url, { body: chatBody("gz stream", { stream: true }) });
    assert.equal(r.headers["content-encoding"], "gzip");
    assert.equal(sseEvents(gunzipSync(r.body).toString()).at(-1), "[DONE]");
  });

  test("latencyMs delays the headers", async () => {
    chat.set({ latencyMs: 150 });
    const t0 = Date.now();
    const r = await raw(chat.url, { body: chatBody("slow") });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 145, `took ${Date.now() - t0} ms`);
  });

  test("body, contentType and headers override the answer", async () => {
    chat.set({ status: 200, body: "plain text", contentType: "text/plain", headers: { "x-extra": "1" } });
    const r = await raw(chat.url, { body: chatBody("x") });
    assert.equal(r.body.toString(), "plain text");
    assert.equal(r.headers["content-type"], "text/plain");
    assert.equal(r.headers["x-extra"], "1");
    assert.equal(r.headers["x-mock"], "ai-json-mode-mock");
    chat.set({ body: (req) => new TextEncoder().encode(`echo ${req.json.messages.at(-1).content}`), status: 201 });
    const r2 = await raw(chat.url, { body: chatBody("me") });
    assert.equal(r2.status, 201);
    assert.equal(r2.body.toString(), "echo me");
    // a body override skips the key check of the JSON-mode mock
    ds.set({ body: ERROR_BODIES[500], status: 500 });
    const r3 = await raw(ds.url, { body: "{}" });
    assert.equal(r3.status, 500);
    assert.equal(r3.body.toString(), ERROR_BODIES[500]);
  });

  test("content overrides only choices[0].message.content, verbatim", async () => {
    ds.set({ content: 'Sure! Here it is: {"name": "x"} Hope it helps.' });
    const j = JSON.parse((await raw(ds.url, { headers: AUTH, body: jsonBody("x") })).body.toString());
    assert.equal(j.choices[0].message.content, 'Sure! Here it is: {"name": "x"} Hope it helps.');
    assert.equal(j.object, "chat.completion");
    chat.set({ content: (req) => `len=${req.body.length}` });
    const body = chatBody("y");
    const k = JSON.parse((await raw(chat.url, { body })).body.toString());
    assert.equal(k.choices[0].message.content, `len=${body.length}`);
    chat.set({ content: "streamed override" });
    const s = await raw(chat.url, { body: chatBody("y", { stream: true }) });
    const text = sseEvents(s.body.toString())
      .slice(0, -1)
      .map((e) => JSON.parse(e).choices[0].delta.content)
      .join("");
    assert.equal(text, "streamed override");
  });

  test("enqueue: queued behaviours first, in order, then the set one", async () => {
    ds.set({ status: 500 });
    ds.enqueue({ status: 429 });
    ds.enqueue({ malformed: "empty-content" });
    const statuses: number[] = [];
    const contents: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await raw(ds.url, { headers: AUTH, body: jsonBody("q") });
      statuses.push(r.status);
      if (r.status === 200) contents.push(JSON.parse(r.body.toString()).choices[0].message.content);
    }
    assert.deepEqual(statuses, [429, 200, 500]);
    assert.deepEqual(contents, [""]);
  });

  test("set({}) restores the normal answer", async () => {
    chat.set({ status: 500 });
    chat.set({});
    assert.equal((await raw(chat.url, { body: chatBody("x") })).status, 200);
  });
});

describe("recording and logs", () => {
  test("every request is recorded: method, path, headers with host, body and parsed JSON", async () => {
    const ds = await startJsonModeMock();
    try {
      const body = jsonBody("Mock reply to: hello", { response_format: { type: "json_object" } });
      await raw(ds.url, {
        path: "/v1/chat/completions?trace=1",
        headers: { ...AUTH, "x-custom": "yes", host: "api.deepseek.com" },
        body,
      });
      await raw(ds.url, { path: "/nowhere", method: "PUT", body: "not json" });
      assert.equal(ds.requests.length, 2);
      const [a, b] = ds.requests;
      assert.equal(a.method, "POST");
      assert.equal(a.path, "/v1/chat/completions?trace=1");
      assert.equal(a.headers.host, "api.deepseek.com");
      assert.equal(a.headers.authorization, "Bearer sk-test-key");
      assert.equal(a.headers["x-custom"], "yes");
      assert.equal(a.headers["content-type"], "application/json");
      assert.equal(a.body, body);
      assert.deepEqual(a.json, JSON.parse(body));
      assert.equal(a.json.messages[0].role, "system");
      assert.equal(b.method, "PUT");
      assert.equal(b.path, "/nowhere");
      assert.equal(b.body, "not json");
      assert.equal(b.json, undefined);
    } finally {
      await ds.close();
    }
  });

  test("log lines say [mock] and never show the key", async () => {
    const lines: string[] = [];
    const ds = await startJsonModeMock({ onLog: (l) => lines.push(l) });
    const chat = await startChatMock({ onLog: (l) => lines.push(l) });
    try {
      await raw(ds.url, { headers: { authorization: "Bearer sk-very-secret" }, body: jsonBody("hi") });
      await raw(chat.url, { body: chatBody("hi") });
      assert.equal(lines.length, 2);
      for (const l of lines) assert.ok(l.startsWith("[mock] "), l);
      assert.match(lines[0], /json-mode POST \/v1\/chat\/completions -> 200/);
      assert.match(lines[1], /chat POST \/v1\/chat\/completions -> 200/);
      assert.ok(!lines.join("\n").includes("sk-very-secret"));
    } finally {
      await ds.close();
      await chat.close();
    }
  });

  test("close() returns promptly with a request still waiting", async () => {
    const chat = await startChatMock({ behavior: { latencyMs: 10_000 } });
    const pending = raw(chat.url, { body: chatBody("x") });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await chat.close();
    assert.ok(Date.now() - t0 < 1000);
    const r = await pending;
    assert.equal(r.status, 0, "the waiting client saw the connection close");
  });

  test("listens on the given port and host", async () => {
    const a = await startChatMock();
    const port = a.port;
    await a.close();
    const b = await startChatMock({ port, host: "127.0.0.1" });
    try {
      assert.equal(b.port, port);
      assert.equal(b.url, `http://127.0.0.1:${port}`);
    } finally {
      await b.close();
    }
  });
});

// --- the mocks against the provider fixtures in tests/fixtures ----------------

const FIXTURES = new URL("../fixtures/", import.meta.url);
const fixturesSkip = existsSync(FIXTURES) ? false : "needs tests/fixtures";
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), "utf8");

/** The structure of a JSON value: keys (sorted) and value types, integers told apart. */
function shape(v: unknown): unknown {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, shape((v as any)[k])]),
    );
  }
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

describe("same shapes as the provider fixtures", { skip: fixturesSkip }, () => {
  let chat: MockServer;
  let ds: MockServer;
  before(async () => {
    chat = await startChatMock();
    ds = await startJsonModeMock();
  });
  after(async () => {
    await chat.close();
    await ds.close();
  });

  test("chat completion = qwen-chat-completion.json", async () => {
    const j = JSON.parse((await raw(chat.url, { body: chatBody("你好") })).body.toString());
    assert.deepEqual(shape(j), shape(JSON.parse(fixture("qwen-chat-completion.json"))));
  });

  test("chat stream = qwen-chat-stream.sse", async () => {
    const mine = sseEvents((await raw(chat.url, { body: chatBody("你好", { stream: true }) })).body.toString());
    const theirs = sseEvents(fixture("qwen-chat-stream.sse").replace(/\n*$/, "\n\n"));
    assert.equal(mine.at(-1), theirs.at(-1));
    const [m0, m1] = mine.map((e) => (e === "[DONE]" ? e : JSON.parse(e)));
    const [t0, t1] = theirs.map((e) => (e === "[DONE]" ? e : JSON.parse(e)));
    assert.deepEqual(shape(m0), shape(t0), "the first chunk (role)");
    assert.deepEqual(shape(m1), shape(t1), "a content chunk");
    assert.equal(
      JSON.parse(mine.at(-2)!).choices[0].finish_reason,
      JSON.parse(theirs.at(-2)!).choices[0].finish_reason,
    );
  });

  test("JSON-mode answer = deepseek-json-object.json, and its malformed variants match theirs", async () => {
    const body = jsonBody("你好", { response_format: { type: "json_object" } });
    const j = JSON.parse((await raw(ds.url, { headers: AUTH, body })).body.toString());
    assert.deepEqual(shape(j), shape(JSON.parse(fixture("deepseek-json-object.json"))));
    ds.set({ malformed: "empty-content" });
    const empty = JSON.parse((await raw(ds.url, { headers: AUTH, body })).body.toString());
    const theirsEmpty = JSON.parse(fixture("deepseek-empty-content.json"));
    assert.deepEqual(shape(empty), shape(theirsEmpty));
    assert.deepEqual(empty.choices[0].message, theirsEmpty.choices[0].message);
    assert.equal(empty.choices[0].finish_reason, theirsEmpty.choices[0].finish_reason);
    ds.set({ malformed: "truncated" });
    const cut = JSON.parse((await raw(ds.url, { headers: AUTH, body })).body.toString());
    assert.equal(cut.choices[0].finish_reason, JSON.parse(fixture("deepseek-truncated.json")).choices[0].finish_reason);
    ds.set({});
    const fenced = JSON.parse((await raw(ds.url, { headers: AUTH, body: jsonBody("x") })).body.toString());
    assert.match(fenced.choices[0].message.content, /^```json\n[\s\S]*\n```$/);
    assert.match(
      JSON.parse(fixture("deepseek-json-fenced.json")).choices[0].message.content,
      /^```json\n[\s\S]*\n```$/,
    );
  });

  test("error bodies are the fixture files", () => {
    assert.equal(ERROR_BODIES[401], fixture("deepseek-error-401.json").trim());
    assert.equal(ERROR_BODIES[429], fixture("deepseek-error-429.json").trim());
    assert.equal(ERROR_BODIES[500], fixture("upstream-error-500.json").trim());
  });
});
