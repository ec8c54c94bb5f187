// strategy inject end to end: the chat request carries the JSON instruction,
// an answer that is already valid JSON is the output with no JSON-mode call,
// and the JSON-mode model repairs the rest. Checked from outside: the request
// as it reached the chat mock (body, content-length), what the DeepSeek mock
// received (nothing at all in the direct case), the client's bytes, and the
// counters.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { chatReply, type RecordedRequest } from "../../host/index.ts";
import { DEFAULT_SYSTEM_PROMPT, SCHEMA_SYSTEM_PROMPT } from "../kit/reference.ts";
import {
  assertConverted,
  assertNoKey,
  assertNoLengthMismatch,
  ask,
  chatRequest,
  lessonConfig,
  loadPlugin,
  metric,
  metricDelta,
  metricSnapshot,
  property,
  send,
  sseEvents,
  startStack,
  until,
  warnLines,
  type Stack,
} from "../kit/stack.ts";

const INJECT = { strategy: "inject" };
const JSON_OBJECT = { type: "json_object" };

/** The request as it reached the chat mock; its framing is right (content-length = body bytes, or chunked). */
function chatSaw(stack: Stack, i = 0): RecordedRequest {
  const rec = stack.chat.requests[i];
  assert.ok(rec, `the chat mock got request ${i}`);
  const cl = rec.headers["content-length"];
  if (cl !== undefined) assert.equal(Number(cl), Buffer.byteLength(rec.body), "content-length vs the body received");
  else if (rec.body.length > 0) assert.equal(rec.headers["transfer-encoding"], "chunked", "no content-length: chunked");
  return rec;
}

/** An injected request: the body changed, so its content-length went and it arrived chunked, as valid JSON. */
function injectedRequest(stack: Stack, i = 0): any {
  const rec = chatSaw(stack, i);
  assert.equal(rec.headers["content-length"], undefined, "the old content-length was removed");
  assert.ok(rec.json, `the chat mock got JSON: ${rec.body.slice(0, 200)}`);
  return rec.json;
}

/** Counters moved by `fn`. */
async function moved(stack: Stack, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = metricSnapshot(stack.host);
  await fn();
  await until(() => stack.host.liveContexts() === 0, "the stream contexts to be deleted");
  return metricDelta(before, metricSnapshot(stack.host));
}

describe("strategy inject: the chat model complies", () => {
  test("one call: the chat request asks for JSON, its answer is the output, DeepSeek gets nothing", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const body = chatRequest("hello", { temperature: 0.3, seed: 12345678901234567890n.toString() });
      let reply!: Awaited<ReturnType<typeof send>>;
      const delta = await moved(stack, async () => {
        reply = await send(stack.url(), { body, headers: { "accept-encoding": "gzip" } });
      });
      const json = assertConverted(reply);
      assert.equal(reply.text, JSON.stringify({ output: chatReply("hello") }), "compact JSON, exactly");
      assert.deepEqual(json, { output: chatReply("hello") });

      // What the chat model received: the system instruction first, response_format, every other field kept.
      const sent = injectedRequest(stack);
      const original = JSON.parse(body);
      assert.deepEqual(sent, {
        ...original,
        messages: [{ role: "system", content: DEFAULT_SYSTEM_PROMPT }, ...original.messages],
        response_format: JSON_OBJECT,
      });
      assert.equal(stack.chat.requests[0].headers["accept-encoding"], undefined);
      assert.equal(stack.chat.requests[0].headers["content-type"], "application/json");

      // No JSON-mode call at all; the response was never paused.
      assert.equal(stack.ds.requests.length, 0, "DeepSeek was called");
      assert.equal(stack.streams.length, 1);
      assert.equal(stack.streams[0].resumed, 0, "nothing to resume: the response was converted in its callback");
      assert.deepEqual(
        warnLines(stack.streams[0]).map((l) => l.message),
        [],
      );
      assert.deepEqual(delta, { "inject.injected": 1, "inject.direct": 1, converted: 1 });
      assertNoKey(stack.logs);
      assertNoLengthMismatch(stack.logs);
    } finally {
      await stack.close();
    }
  });

  test("output openai: the chat completion is kept, its content is the compact JSON, usage unchanged", async () => {
    const stack = await startStack({ config: lessonConfig({ ...INJECT, output: "openai" }) });
    try {
      const reply = await ask(stack, "hi there");
      const out = assertConverted(reply);
      assert.equal(out.object, "chat.completion");
      assert.equal(out.choices[0].message.role, "assistant");
      assert.equal(out.choices[0].message.content, JSON.stringify({ output: chatReply("hi there") }));
      assert.equal(stack.ds.requests.length, 0);
      // usage: the chat model's own, nothing added (there was no second call).
      const pretty = JSON.stringify({ output: chatReply("hi there") }, null, 2);
      assert.ok(out.usage.completion_tokens > 0);
      assert.equal(out.usage.total_tokens, out.usage.prompt_tokens + out.usage.completion_tokens);
      assert.equal(out.usage.completion_tokens, Math.ceil(pretty.length / 4), "the chat mock's count for its answer");
    } finally {
      await stack.close();
    }
  });

  test("an answer in a ```json fence is taken as it is too", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const delta = await moved(stack, async () => {
        const reply = await ask(stack, "fenced", { headers: { "x-mock-json": "fenced" } });
        assert.equal(reply.text, JSON.stringify({ output: chatReply("fenced") }));
        assert.equal(reply.headers.mode, "json");
      });
      assert.match(stack.chat.requests[0].headers["x-mock-json"] as string, /fenced/);
      assert.equal(stack.ds.requests.length, 0);
      assert.equal(delta["inject.direct"], 1);
    } finally {
      await stack.close();
    }
  });

  test("jsonSchema: the chat request carries the schema prompt; a valid answer is the output", async () => {
    const schema = { type: "object", required: ["output"], properties: { output: { type: "string" } } };
    const stack = await startStack({ config: lessonConfig({ ...INJECT, jsonSchema: schema }) });
    try {
      const reply = await ask(stack, "schema ok");
      assert.deepEqual(assertConverted(reply), { output: chatReply("schema ok") });
      const sent = injectedRequest(stack);
      assert.equal(
        sent.messages[0].content,
        `${SCHEMA_SYSTEM_PROMPT}\n\nThe JSON must be valid against this JSON Schema:\n${JSON.stringify(schema)}`,
        "the prompt the rewrite call would send",
      );
      assert.equal(stack.ds.requests.length, 0);
    } finally {
      await stack.close();
    }
  });
});

describe("strategy inject: repair", () => {
  test("prose instead of JSON: the JSON-mode model rewrites it, as with rewrite", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      let reply!: Awaited<ReturnType<typeof send>>;
      const delta = await moved(stack, async () => {
        reply = await ask(stack, "hello", { headers: { "x-mock-json": "disobey" } });
      });
      assert.deepEqual(assertConverted(reply), { output: chatReply("hello") });
      assert.equal(reply.text, JSON.stringify({ output: chatReply("hello") }));
      // The chat model was asked for JSON (and answered prose).
      assert.deepEqual(injectedRequest(stack).response_format, JSON_OBJECT);
      // DeepSeek got the same call as with rewrite: the instruction and the prose.
      assert.equal(stack.ds.requests.length, 1);
      const call = stack.ds.requests[0].json;
      assert.deepEqual(call.messages, [
        { role: "system", content: DEFAULT_SYSTEM_PROMPT },
        { role: "user", content: chatReply("hello") },
      ]);
      assert.deepEqual(call.response_format, JSON_OBJECT);
      assert.equal(stack.streams[0].resumed, 1, "paused for the call, resumed once");
      assert.deepEqual(delta, { "inject.injected": 1, "inject.repaired": 1, converted: 1 });
      assertNoKey(stack.logs);
    } finally {
      await stack.close();
    }
  });

  test("JSON that fails jsonSchema: repaired, with the same retries", async () => {
    const schema = {
      type: "object",
      required: ["name", "age"],
      additionalProperties: false,
      properties: { name: { type: "string" }, age: { type: "integer" } },
    };
    const stack = await startStack({ config: lessonConfig({ ...INJECT, jsonSchema: schema, maxRetries: 1 }) });
    try {
      // The chat mock answers {"output": ...}: valid JSON, wrong shape.
      stack.ds.enqueue({ content: '{"name": "Ada", "age": "36"}' });
      stack.ds.enqueue({ content: '{"name": "Ada", "age": 36}' });
      let reply!: Awaited<ReturnType<typeof send>>;
      const delta = await moved(stack, async () => {
        reply = await ask(stack, "Ada is 36");
      });
      assert.equal(reply.text, '{"name":"Ada","age":36}');
      assert.equal(reply.headers.mode, "json");
      assert.equal(stack.ds.requests.length, 2, "the repair call and one retry");
      assert.deepEqual(stack.ds.requests[0].json.messages[1], {
        role: "user",
        content: JSON.stringify({ output: chatReply("Ada is 36") }, null, 2),
      });
      const retry = stack.ds.requests[1].json.messages;
      assert.match(retry[retry.length - 1].content, /does not match jsonSchema: \$\.age/);
      assert.deepEqual(delta, { "inject.injected": 1, "inject.repaired": 1, retried: 1, converted: 1 });
    } finally {
      await stack.close();
    }
  });

  test("failure paths are unchanged: a failed repair returns the chat model's answer byte for byte", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      stack.ds.set({ status: 500 });
      let reply!: Awaited<ReturnType<typeof send>>;
      const delta = await moved(stack, async () => {
        reply = await ask(stack, "hello", { headers: { "x-mock-json": "disobey" } });
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.mode, undefined);
      assert.equal(Number(reply.headers["content-length"]), reply.body.length);
      const completion = JSON.parse(reply.text);
      assert.equal(completion.object, "chat.completion");
      assert.equal(completion.choices[0].message.content, chatReply("hello"), "the original completion");
      assert.equal(stack.ds.requests.length, 1, "a 500 is a call failure: no retry");
      assert.deepEqual(delta, {
        "inject.injected": 1,
        "failed.call_failed": 1,
        "passthrough.call_failed": 1,
      });
      assert.match(warnLines(stack.streams[0])[0].message, /passthrough \(call_failed\): call answered 500/);
    } finally {
      await stack.close();
    }
  });
});

describe("strategy inject: streaming", () => {
  test("stream: true stays; the collected JSON content is the output (body)", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const reply = await ask(stack, "stream me", { extra: { stream: true } });
      assert.deepEqual(assertConverted(reply), { output: chatReply("stream me") });
      const sent = injectedRequest(stack);
      assert.equal(sent.stream, true);
      assert.deepEqual(sent.response_format, JSON_OBJECT);
      assert.equal(stack.ds.requests.length, 0);
    } finally {
      await stack.close();
    }
  });

  test("output openai: one SSE chunk carrying the JSON, then [DONE]; a disobeying model is repaired", async () => {
    const stack = await startStack({ config: lessonConfig({ ...INJECT, output: "openai" }) });
    try {
      for (const style of ["obey", "disobey"]) {
        const reply = await ask(stack, `sse ${style}`, {
          extra: { stream: true, stream_options: { include_usage: true } },
          headers: { "x-mock-json": style },
        });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers["content-type"], "text/event-stream");
        assert.equal(reply.headers.mode, "json");
        assert.equal(Number(reply.headers["content-length"]), reply.body.length);
        const events = sseEvents(reply.text);
        assert.equal(events.length, 2);
        assert.equal(events[1], "[DONE]");
        const chunk = JSON.parse(events[0]);
        assert.equal(chunk.object, "chat.completion.chunk");
        assert.equal(chunk.choices[0].delta.content, JSON.stringify({ output: chatReply(`sse ${style}`) }));
      }
      assert.equal(stack.ds.requests.length, 1, "only the disobeying answer was repaired");
      assert.equal(stack.ds.requests[0].json.messages[1].content, chatReply("sse disobey"));
    } finally {
      await stack.close();
    }
  });
});

describe("strategy inject: what the chat request looks like", () => {
  test("a leading system message keeps its text, the instruction follows; other messages untouched", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const messages = [
        { role: "system", content: "You are terse.", name: "rules" },
        { role: "user", content: "hello" },
        { role: "assistant", content: "Hi." },
        { role: "user", content: "again" },
      ];
      const reply = await send(stack.url(), { body: JSON.stringify({ model: "qwen-plus", messages }) });
      assert.deepEqual(assertConverted(reply), { output: chatReply("again") });
      const sent = injectedRequest(stack);
      assert.deepEqual(sent.messages, [
        { role: "system", content: `You are terse.\n\n${DEFAULT_SYSTEM_PROMPT}`, name: "rules" },
        ...messages.slice(1),
      ]);
      assert.equal(sent.messages.filter((m: any) => m.role === "system").length, 1, "still one system message");
    } finally {
      await stack.close();
    }
  });

  test("a system message made of parts gets a text part appended", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const system = { role: "system", content: [{ type: "text", text: "You are terse." }] };
      const reply = await send(stack.url(), {
        body: JSON.stringify({ model: "qwen-plus", messages: [system, { role: "user", content: "parts" }] }),
      });
      assert.deepEqual(assertConverted(reply), { output: chatReply("parts") });
      assert.deepEqual(injectedRequest(stack).messages[0], {
        role: "system",
        content: [
          { type: "text", text: "You are terse." },
          { type: "text", text: DEFAULT_SYSTEM_PROMPT },
        ],
      });
    } finally {
      await stack.close();
    }
  });

  test("a request's own response_format is kept", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const format = { type: "json_schema", json_schema: { name: "out", schema: { type: "object" } } };
      const reply = await ask(stack, "own format", { extra: { response_format: format } });
      // The chat mock follows the JSON system prompt.
      assert.deepEqual(assertConverted(reply), { output: chatReply("own format") });
      assert.deepEqual(injectedRequest(stack).response_format, format);
      const text = await ask(stack, "text format", { extra: { response_format: { type: "text" } } });
      assert.deepEqual(assertConverted(text), { output: chatReply("text format") });
      assert.deepEqual(injectedRequest(stack, 1).response_format, { type: "text" });
      assert.equal(stack.ds.requests.length, 0);
    } finally {
      await stack.close();
    }
  });

  test("responseFormat text: only the system instruction is added", async () => {
    const stack = await startStack({ config: lessonConfig({ ...INJECT, responseFormat: "text" }) });
    try {
      assert.deepEqual(assertConverted(await ask(stack, "no format")), { output: chatReply("no format") });
      const sent = injectedRequest(stack);
      assert.equal("response_format" in sent, false);
      assert.equal(sent.messages[0].content, DEFAULT_SYSTEM_PROMPT);
    } finally {
      await stack.close();
    }
  });

  test("a 100 KiB chat request (over Envoy's 32 KiB): collected whole, the buffer limit raised", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const big = "x".repeat(100 * 1024);
      const reply = await ask(stack, big);
      assert.deepEqual(assertConverted(reply), { output: chatReply(big) });
      const sent = injectedRequest(stack);
      assert.equal(sent.messages[1].content, big);
      assert.equal(stack.ds.requests.length, 0);
      // set_decoder_buffer_limit: 2 x maxBodyBytes (10 MiB) + 1 MiB.
      assert.equal(property(stack.streams[0], "set_decoder_buffer_limit"), String(2 * 10 * 1024 * 1024 + 1024 * 1024));
    } finally {
      await stack.close();
    }
  });

  test("an HTTP/2 client: the request is injected the same way", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const session = http2.connect(stack.gw.url);
      const text = await new Promise<string>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/api/openai/v1/chat/completions",
          "content-type": "application/json",
        });
        let out = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (out += c));
        req.on("end", () => resolve(out));
        req.on("error", reject);
        req.write(chatRequest("over h2").slice(0, 20));
        req.end(chatRequest("over h2").slice(20));
      });
      session.close();
      assert.equal(text, JSON.stringify({ output: chatReply("over h2") }));
      assert.deepEqual(injectedRequest(stack).response_format, JSON_OBJECT);
      assert.equal(stack.ds.requests.length, 0);
    } finally {
      await stack.close();
    }
  });
});

describe("strategy inject: the request phase, step by step (bare host, Envoy 1.27)", () => {
  test("headers held until the body is complete; content-length removed; the route cache kept", async () => {
    const host = await loadPlugin(lessonConfig({ ...INJECT, maxBodyBytes: 4096 }));
    try {
      const body = chatRequest("step", { stream: false });
      const s = host.stream({ routeName: "openai" }).requestHeaders(
        [
          [":method", "POST"],
          [":path", "/v1/chat/completions"],
          [":authority", "gw"],
          ["content-type", "application/json; charset=utf-8"],
          ["content-length", String(body.length)],
        ],
        false,
      );
      assert.equal(s.lastAction, 1, "StopIteration: the headers are held");
      assert.equal(s.request.headers.length, 0, "nothing went upstream yet");
      assert.equal(property(s, "set_decoder_buffer_limit"), "1056768"); // 2 x 4096 + 1 MiB
      s.requestBody(body.slice(0, 10), false);
      assert.equal(s.request.headers.length, 0, "still held");
      s.requestBody(body.slice(10), false).requestBody("", true);
      const forwarded = new Map(s.request.headers);
      assert.equal(forwarded.get("content-length"), undefined, "content-length removed");
      assert.equal(forwarded.get("content-type"), "application/json; charset=utf-8");
      assert.equal(s.request.complete, true);
      const sent = JSON.parse(s.request.bodyText);
      assert.deepEqual(sent.messages[0], { role: "system", content: DEFAULT_SYSTEM_PROMPT });
      assert.equal(sent.stream, false);
      assert.equal(s.routeCacheClears, 0, "clear_route_cache off: the edits did not re-route");
      s.done();
      assert.equal(host.liveContexts(), 0);
    } finally {
      host.close();
    }
  });

  test("announced trailers, or a declared length over maxBodyBytes: not held, nothing collected", async () => {
    const host = await loadPlugin(lessonConfig({ ...INJECT, maxBodyBytes: 4096 }));
    try {
      const body = chatRequest("t");
      for (const [extra, reason] of [
        [["trailer", "x-checksum"], "trailers"],
        [["content-length", "5000"], "too_large"],
      ] as const) {
        const s = host
          .stream({ routeName: "openai" })
          .requestHeaders(
            [
              [":method", "POST"],
              [":path", "/v1/chat/completions"],
              [":authority", "gw"],
              ["content-type", "application/json"],
              extra as [string, string],
            ],
            false,
          );
        assert.equal(s.lastAction, 0, `${reason}: Continue`);
        assert.equal(s.request.headers.length > 0, true, `${reason}: the headers went on at once`);
        s.requestBody(body, true);
        assert.equal(s.request.bodyText, body, `${reason}: the body as it came`);
        assert.equal(metric(host, `inject.skipped.${reason}`), 1);
        s.done();
      }
      assert.equal(metric(host, "inject.injected"), 0);
    } finally {
      host.close();
    }
  });
});

/** Sends a body in pieces, 30 ms apart, with transfer-encoding: chunked (no content-length). */
function sendChunked(url: string, pieces: string[], contentType = "application/json"): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": contentType, "transfer-encoding": "chunked" }, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on("error", reject);
    (async () => {
      for (const p of pieces) {
        req.write(p);
        await new Promise((r) => setTimeout(r, 30));
      }
      req.end();
    })();
  });
}

describe("strategy inject: requests that go untouched", () => {
  test("no chat completion, another content-type, another method, a compressed body: byte for byte", async () => {
    const stack = await startStack({ config: lessonConfig(INJECT) });
    try {
      const cases: { name: string; method?: string; headers?: Record<string, string>; body?: string }[] = [
        { name: "embeddings", body: '{ "model": "text-embedding-v3", "input": "hello" }' },
        { name: "messages not an array", body: '{"messages": "hello"}' },
        { name: "not JSON", body: "{not json" },
        { name: "text/plain", headers: { "content-type": "text/plain" }, body: chatRequest("plain") },
        { name: "gzip", headers: { "content-encoding": "gzip" }, body: chatRequest("zipped") },
        { name: "PUT", method: "PUT", body: chatRequest("put") },
        { name: "GET", method: "GET" },
      ];
      const delta = await moved(stack, async () => {
        for (const c of cases) await send(stack.url(), { method: c.method, headers: c.headers, body: c.body });
      });
      assert.equal(stack.chat.requests.length, cases.length);
      cases.forEach((c, i) => {
        const rec = chatSaw(stack, i);
        assert.equal(rec.method, c.method ?? "POST", c.name);
        assert.equal(rec.body, c.body ?? "", `${c.name}: the body as the client sent it`);
        if (c.body !== undefined) {
          assert.equal(rec.headers["content-length"], String(Buffer.byteLength(c.body)), `${c.name}: content-length`);
        }
      });
      assert.deepEqual(Object.fromEntries(Object.entries(delta).filter(([k]) => k.startsWith("inject."))), {
        "inject.skipped.not_chat": 2,
        "inject.skipped.not_json": 1,
        "inject.skipped.content_type": 1,
        "inject.skipped.content_encoding": 1,
        "inject.skipped.method": 1,
        "inject.skipped.no_body": 1,
      });
    } finally {
      await stack.close();
    }
  });

  test("a body over maxBodyBytes passes byte for byte (declared or chunked); the answer is rewritten", async () => {
    const stack = await startStack({ config: lessonConfig({ ...INJECT, maxBodyBytes: 1024 }) });
    try {
      // Large, with a short answer (the mock echoes the last user message).
      const big = chatRequest("big", { metadata: { pad: "y".repeat(1500) } });
      const delta = await moved(stack, async () => {
        // Declared too large: not even held.
        const reply = await send(stack.url(), { body: big });
        assert.deepEqual(assertConverted(reply), { output: chatReply("big") });
        // Chunked: found too large while collected, then put back in front of the rest.
        const pieces = [big.slice(0, 700), big.slice(700, 1400), big.slice(1400)];
        assert.equal((await sendChunked(stack.url(), pieces)).status, 200);
      });
      const declared = chatSaw(stack, 0);
      assert.equal(declared.body, big);
      assert.equal(declared.headers["content-length"], String(big.length));
      const chunked = chatSaw(stack, 1);
      assert.equal(chunked.body, big, "every byte, in order");
      assert.equal(chunked.headers["transfer-encoding"], "chunked");
      assert.ok(
        stack.logs.some((l) => /request goes untouched: body over maxBodyBytes \(1400 bytes seen/.test(l.message)),
        "the first piece was held, then put back in front of the second",
      );
      // Not injected: the chat model answered prose, and the JSON-mode model rewrote it.
      assert.equal(stack.ds.requests.length, 2);
      assert.equal(delta["inject.skipped.too_large"], 2);
      assert.equal(delta["inject.injected"], undefined);
      assert.equal(delta.converted, 2);
    } finally {
      await stack.close();
    }
  });
});

describe("strategy per rule", () => {
  test("_rules_: one route injects, the other rewrites with its chat request byte for byte", async () => {
    const stack = await startStack({
      config: lessonConfig({ _rules_: [{ _match_route_: ["json"], strategy: "inject" }] }),
      routes: [
        { name: "json", prefix: "/api/json", rewritePrefix: "", upstream: "$CHAT" },
        { name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: "$CHAT" },
      ],
    });
    try {
      const injected = await send(stack.url("/api/json/v1/chat/completions"), { body: chatRequest("rule") });
      assert.deepEqual(assertConverted(injected), { output: chatReply("rule") });
      assert.equal(stack.ds.requests.length, 0);
      assert.deepEqual(injectedRequest(stack, 0).response_format, JSON_OBJECT);

      const body = chatRequest("default");
      const rewritten = await send(stack.url(), { body });
      assert.deepEqual(assertConverted(rewritten), { output: chatReply("default") });
      assert.equal(stack.ds.requests.length, 1, "rewrite: the JSON-mode call");
      const untouched = chatSaw(stack, 1);
      assert.equal(untouched.body, body, "rewrite leaves the chat request alone");
      assert.equal(untouched.headers["content-length"], String(body.length));
    } finally {
      await stack.close();
    }
  });
});
