// The issue-4 options end to end: jsonSchema, maxRetries, responseFormat,
// maxTokens, temperature, output, onFailure, the loop guard and the metrics.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { chatReply, type Pairs } from "../../host/index.ts";
import {
  DATE,
  DS_CLUSTER,
  KEY,
  ask,
  assertConverted,
  assertLength,
  assertOriginal,
  completion,
  dsCompletion,
  lessonConfig,
  loadPlugin,
  metric,
  metricDelta,
  metricSnapshot,
  startStack,
  startUpstream,
  withStack,
  warnLines,
  type Stack,
} from "../kit/stack.ts";

const SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1 },
    age: { type: "integer", minimum: 0 },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["name", "age"],
  additionalProperties: false,
};
const GOOD = '{"name": "Ada", "age": 36, "tags": ["math"]}';
const BAD = '{"name": 42, "age": -1, "extra": true}';

const squash = (s: string) => s.replace(/\s+/g, "");

describe("jsonSchema", () => {
  test("replaces the default prompt's output example, and a matching answer is converted", () =>
    withStack({ jsonSchema: SCHEMA }, async (stack) => {
      stack.ds.set({ content: GOOD });
      const r = await ask(stack, "who?");
      assert.deepEqual(assertConverted(r), { name: "Ada", age: 36, tags: ["math"] });
      const prompt: string = stack.ds.requests[0].json.messages[0].content;
      assert.ok(
        !prompt.includes('{"output": "xxxx"}'),
        "the output example, which the schema would contradict, is gone",
      );
      assert.ok(prompt.includes("JSON Schema"), `the prompt asks for JSON following the schema: ${prompt}`);
      assert.ok(squash(prompt).includes(JSON.stringify(SCHEMA)), `the schema is in the prompt: ${prompt}`);
      assert.equal(stack.ds.requests.length, 1);
    }));

  test("a custom systemPrompt also gets the schema", () =>
    withStack({ jsonSchema: SCHEMA, systemPrompt: "Answer as JSON describing the person." }, async (stack) => {
      stack.ds.set({ content: GOOD });
      assertConverted(await ask(stack, "who?"));
      const prompt: string = stack.ds.requests[0].json.messages[0].content;
      assert.ok(prompt.startsWith("Answer as JSON describing the person."), prompt);
      assert.ok(squash(prompt).includes(JSON.stringify(SCHEMA)), prompt);
    }));

  test("an answer failing the schema is not converted (maxRetries 0: one call, original body)", async () => {
    const body = completion("who is she");
    const headers: Pairs = [["content-type", "application/json"], DATE, ["content-length", String(body.length)]];
    const up = await startUpstream({ headers, body });
    try {
      await withStack(
        { jsonSchema: SCHEMA, maxRetries: 0 },
        async (stack) => {
          stack.ds.set({ content: BAD });
          const r = await ask(stack, "who?");
          assertOriginal(r, 200, headers, body);
          assert.equal(stack.ds.requests.length, 1);
          const s = stack.streams[0];
          assert.equal(s.resumed, 1);
          const warns = warnLines(s);
          assert.equal(warns.length, 1);
          assert.match(warns[0].message, /schema_mismatch/);
          assert.match(warns[0].message, /\$\.name/);
          assert.equal(metric(stack.host, "failed.schema_mismatch"), 1);
          assert.equal(metric(stack.host, "retried"), 0);
        },
        { routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
      );
    } finally {
      await up.close();
    }
  });

  test("nested paths and every kind of mismatch are named", () =>
    withStack(
      {
        maxRetries: 0,
        onFailure: "error",
        jsonSchema: {
          type: "object",
          properties: {
            user: { type: "object", properties: { name: { type: "string", maxLength: 3 } }, required: ["name", "id"] },
            items: { type: "array", items: { enum: ["a", "b"] }, maxItems: 2 },
          },
        },
      },
      async (stack) => {
        stack.ds.set({ content: '{"user": {"name": "Ada Lovelace"}, "items": ["a", "z", "b"]}' });
        const r = await ask(stack, "q");
        assert.equal(r.status, 502);
        const e = JSON.parse(r.text).error;
        assert.equal(e.code, "schema_mismatch");
        for (const path of ["$.user.name", "$.user.id", "$.items[1]", "$.items"]) {
          assert.ok(e.message.includes(path + ":"), `${path} in ${e.message}`);
        }
      },
    ));

  for (const [keyword, schema, answer] of [
    ["pattern", { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]+$" } } }, '{"code": "abc"}'],
    [
      "format",
      { type: "object", properties: { mail: { type: "string", format: "email" } } },
      '{"mail": "not an email"}',
    ],
    ["minProperties", { type: "object", minProperties: 2 }, '{"a": 1}'],
    ["dependencies", { type: "object", dependencies: { a: ["b"] } }, '{"a": 1}'],
  ] as const) {
    test(`keyword "${keyword}" is enforced or refused at config time, never ignored`, async () => {
      let stack: Stack;
      try {
        stack = await startStack({ config: lessonConfig({ jsonSchema: schema, maxRetries: 0 }) });
      } catch (e) {
        assert.match(String(e), /rejected its configuration/);
        return;
      }
      try {
        stack.ds.set({ content: answer });
        const r = await ask(stack, "q");
        assert.equal(r.headers["mode"], undefined, `an answer violating "${keyword}" was converted: ${r.text}`);
        assert.equal(metric(stack.host, "failed.schema_mismatch"), 1);
      } finally {
        await stack.close();
      }
    });
  }

  test("an invalid schema rejects the configuration", async () => {
    for (const jsonSchema of [
      { type: "strange" },
      { required: "name" },
      { $ref: "#/definitions/missing" },
      "not an object",
    ]) {
      await assert.rejects(
        startStack({ config: lessonConfig({ jsonSchema }) }),
        /rejected its configuration/,
        JSON.stringify(jsonSchema),
      );
    }
  });
});

describe("maxRetries", () => {
  test("a schema failure is retried with the answer and the errors; the retry's answer is used", () =>
    withStack({ jsonSchema: SCHEMA }, async (stack) => {
      stack.ds.enqueue({ content: BAD });
      stack.ds.enqueue({ content: GOOD });
      const r = await ask(stack, "who?");
      assert.deepEqual(assertConverted(r), { name: "Ada", age: 36, tags: ["math"] });
      assert.equal(stack.ds.requests.length, 2);
      const [first, second] = stack.ds.requests.map((q) => q.json);
      assert.equal(first.messages.length, 2);
      assert.equal(second.messages.length, 4);
      assert.deepEqual(second.messages.slice(0, 2), first.messages, "same system and user messages");
      assert.deepEqual(second.messages[2], { role: "assistant", content: BAD }, "the previous answer, verbatim");
      assert.equal(second.messages[3].role, "user");
      const problem: string = second.messages[3].content;
      for (const path of ["$.name", "$.age", "$.extra"]) assert.ok(problem.includes(path), `${path} in: ${problem}`);
      assert.match(problem, /string/);
      // Everything else in the call is the same.
      const { messages: _a, ...restFirst } = first;
      const { messages: _b, ...restSecond } = second;
      assert.deepEqual(restSecond, restFirst);
      assert.equal(stack.ds.requests[1].headers.authorization, `Bearer ${KEY}`);
      assert.equal(stack.streams[0].resumed, 1);
      assert.equal(metric(stack.host, "retried"), 1);
      assert.equal(metric(stack.host, "converted"), 1);
      assert.deepEqual(warnLines(stack.streams[0]), []);
    }));

  test("no JSON, then a truncated answer, then JSON: each retry names its problem", () =>
    withStack({}, async (stack) => {
      stack.ds.enqueue({ content: "I think the answer is Paris." });
      stack.ds.enqueue({ malformed: "truncated" });
      stack.ds.enqueue({ content: '{"output": "Paris"}' });
      const r = await ask(stack, "capital?");
      assert.deepEqual(assertConverted(r), { output: "Paris" });
      assert.equal(stack.ds.requests.length, 3);
      const third = stack.ds.requests[2].json.messages;
      assert.equal(third.length, 6);
      assert.deepEqual(third[2], { role: "assistant", content: "I think the answer is Paris." });
      assert.match(third[3].content, /no JSON/);
      assert.equal(third[4].role, "assistant");
      assert.match(third[5].content, /truncated/);
      assert.equal(metric(stack.host, "retried"), 2);
    }));

  test("maxRetries 0: a single call, then the original", () =>
    withStack({ maxRetries: 0 }, async (stack) => {
      stack.ds.set({ content: "no json" });
      const r = await ask(stack, "x");
      assert.equal(r.headers["mode"], undefined);
      assert.equal(JSON.parse(r.text).choices[0].message.content, chatReply("x"));
      assert.equal(stack.ds.requests.length, 1);
      assert.equal(metric(stack.host, "retried"), 0);
      assert.equal(stack.streams[0].resumed, 1);
    }));

  test("maxRetries 5, every answer bad: 6 calls with a growing conversation, resumed once, one warn line", () =>
    withStack({ maxRetries: 5 }, async (stack) => {
      stack.ds.set({ malformed: "empty-content" });
      const r = await ask(stack, "x");
      assert.equal(r.headers["mode"], undefined);
      assert.equal(stack.ds.requests.length, 6);
      stack.ds.requests.forEach((q, i) => assert.equal(q.json.messages.length, 2 + i, `call ${i + 1}`));
      assert.equal(metric(stack.host, "retried"), 5);
      assert.equal(metric(stack.host, "passthrough.empty_content"), 1);
      assert.equal(stack.streams[0].resumed, 1);
      assert.equal(warnLines(stack.streams[0]).length, 1);
    }));

  test("call failures are not retried (500, refused)", () =>
    withStack({ maxRetries: 3 }, async (stack) => {
      stack.ds.set({ status: 500 });
      const r = await ask(stack, "x");
      assert.equal(r.headers["mode"], undefined);
      assert.equal(stack.ds.requests.length, 1);
      assert.equal(metric(stack.host, "retried"), 0);
    }));

  test("a retry that fails at the call ends it: resumed once, original body", () =>
    withStack({ maxRetries: 3 }, async (stack) => {
      stack.ds.enqueue({ content: "prose only" });
      stack.ds.enqueue({ status: 503 });
      const r = await ask(stack, "x");
      assert.equal(r.headers["mode"], undefined);
      assert.equal(JSON.parse(r.text).choices[0].message.content, chatReply("x"));
      assert.equal(stack.ds.requests.length, 2);
      assert.equal(stack.streams[0].resumed, 1);
      assert.match(warnLines(stack.streams[0])[0].message, /call_failed/);
    }));

  test("host API: every attempt carries the configured timeout; a timed-out retry resumes once", async () => {
    const host = await loadPlugin(lessonConfig({ timeout: 1234, maxRetries: 2 }));
    const body = completion("t");
    const s = host.stream();
    s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true)
      .responseHeaders({ ":status": "200", "content-type": "application/json", "content-length": String(body.length) })
      .responseBody(body, true);
    let [c] = host.pendingCalls();
    assert.equal(c.timeoutMs, 1234);
    host.answer(c, 200, {}, dsCompletion("nothing"));
    [c] = host.pendingCalls();
    assert.equal(c.timeoutMs, 1234, "the retry has its own timeout");
    assert.equal(s.resumed, 0);
    host.timeout(c);
    assert.equal(host.pendingCalls().length, 0);
    assert.equal(s.resumed, 1);
    assert.equal(s.bodyText, body);
    s.done();
    assert.equal(host.liveContexts(), 0);
  });

  test("out-of-range maxRetries is refused", async () => {
    for (const maxRetries of [6, -1, 1.5, "2"]) {
      await assert.rejects(
        startStack({ config: lessonConfig({ maxRetries }) }),
        /rejected its configuration/,
        String(maxRetries),
      );
    }
  });
});

describe("responseFormat, maxTokens, temperature", () => {
  test("default: response_format json_object; no max_tokens, no temperature", () =>
    withStack({}, async (stack) => {
      assertConverted(await ask(stack, "x"));
      const body = stack.ds.requests[0].json;
      assert.deepEqual(body.response_format, { type: "json_object" });
      assert.equal("max_tokens" in body, false);
      assert.equal("temperature" in body, false);
    }));

  test('responseFormat "json_object" explicitly', () =>
    withStack({ responseFormat: "json_object" }, async (stack) => {
      assertConverted(await ask(stack, "x"));
      assert.deepEqual(stack.ds.requests[0].json.response_format, { type: "json_object" });
    }));

  test('responseFormat "text": no response_format; the fenced answer is still converted', () =>
    withStack({ responseFormat: "text" }, async (stack) => {
      const r = await ask(stack, "fence");
      assert.deepEqual(assertConverted(r), { output: chatReply("fence") });
      const body = stack.ds.requests[0].json;
      assert.equal("response_format" in body, false);
      assert.equal(body.stream, false);
    }));

  test("maxTokens and temperature are passed through (temperature 0 included)", async () => {
    await withStack({ maxTokens: 256, temperature: 0.3 }, async (stack) => {
      assertConverted(await ask(stack, "x"));
      assert.equal(stack.ds.requests[0].json.max_tokens, 256);
      assert.equal(stack.ds.requests[0].json.temperature, 0.3);
    });
    await withStack({ temperature: 0 }, async (stack) => {
      assertConverted(await ask(stack, "x"));
      assert.equal(stack.ds.requests[0].json.temperature, 0);
    });
  });

  test("bad values are refused", async () => {
    for (const extra of [
      { responseFormat: "xml" },
      { maxTokens: 0 },
      { maxTokens: "100" },
      { temperature: 3 },
      { temperature: -0.1 },
      { output: "xml" },
      { onFailure: "drop" },
      { streaming: "yes" },
    ]) {
      await assert.rejects(
        startStack({ config: lessonConfig(extra) }),
        /rejected its configuration/,
        JSON.stringify(extra),
      );
    }
  });
});

describe("output", () => {
  const UPSTREAM = {
    id: "chatcmpl-out-1",
    object: "chat.completion",
    created: 1735689600,
    model: "qwen-plus",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Ada Lovelace, 36, mathematician" },
        finish_reason: "stop",
        logprobs: null,
      },
      { index: 1, message: { role: "assistant", content: "second choice" }, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 } },
    system_fingerprint: null,
    x_vendor: { region: "cn", tags: [1, "two"] },
  };
  const DS_USAGE = { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 };

  async function run(config: Record<string, unknown>, upstream: object = UPSTREAM) {
    const body = JSON.stringify(upstream);
    const up = await startUpstream({
      headers: [
        ["content-type", "application/json"],
        ["x-upstream", "kept"],
        ["content-length", String(body.length)],
      ],
      body,
    });
    const stack = await startStack({
      config: lessonConfig(config),
      routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
      ds: { behavior: { body: dsCompletion('{\n  "name": "Ada",\n  "age": 36\n}', DS_USAGE) } },
    });
    try {
      const r = await ask(stack, "who?");
      assert.equal(stack.streams[0].resumed, 1);
      return r;
    } finally {
      await stack.close();
      await up.close();
    }
  }

  test('"openai": the completion is kept, content is the JSON text, usage is summed', async () => {
    const r = await run({ output: "openai" });
    const got = assertConverted(r);
    const expected = structuredClone(UPSTREAM) as any;
    expected.choices[0].message.content = '{"name":"Ada","age":36}';
    expected.usage = {
      prompt_tokens: 41,
      completion_tokens: 19,
      total_tokens: 60,
      prompt_tokens_details: { cached_tokens: 3 },
    };
    assert.deepEqual(got, expected);
    assert.deepEqual(Object.keys(got), Object.keys(UPSTREAM), "field order kept");
    assert.equal(r.headers["x-upstream"], "kept", "other headers kept");
  });

  test('"openai" without usage upstream: usage is the call\'s', async () => {
    const { usage: _u, ...noUsage } = UPSTREAM;
    const got = assertConverted(await run({ output: "openai" }, noUsage));
    assert.deepEqual(got.usage, DS_USAGE);
    assert.equal(got.choices[0].message.content, '{"name":"Ada","age":36}');
  });

  test('"body" (default): the body is the JSON itself', async () => {
    for (const config of [{}, { output: "body" }]) {
      const r = await run(config);
      assert.equal(r.text, '{"name":"Ada","age":36}');
      assertConverted(r);
      assert.equal(r.headers["x-upstream"], "kept");
    }
  });
});

describe('onFailure: "error"', () => {
  interface ErrCase {
    code: string;
    upstream?: string;
    ds?: Parameters<Stack["ds"]["set"]>[0];
    config?: Record<string, unknown>;
    paused: boolean;
  }
  const cases: ErrCase[] = [
    { code: "upstream_not_json", upstream: "<html>oops</html>", paused: false },
    { code: "no_content", upstream: completion("x", { choices: [] }), paused: false },
    { code: "empty_content", upstream: completion(""), paused: false },
    { code: "call_failed", ds: { status: 500 }, paused: true },
    { code: "call_failed", config: { serviceFQDN: "unknown.dns" }, paused: false },
    { code: "invalid_answer", ds: { malformed: "not-json" }, paused: true },
    { code: "empty_content", ds: { malformed: "empty-content" }, config: { maxRetries: 0 }, paused: true },
    { code: "invalid_json", ds: { content: "no json here" }, config: { maxRetries: 0 }, paused: true },
    { code: "invalid_json", ds: { malformed: "truncated" }, config: { maxRetries: 1 }, paused: true },
    { code: "schema_mismatch", ds: { content: BAD }, config: { jsonSchema: SCHEMA, maxRetries: 1 }, paused: true },
  ];
  for (const c of cases) {
    test(`${c.code}${c.config?.serviceFQDN ? " (call refused)" : c.ds ? ` (DeepSeek: ${JSON.stringify(c.ds)})` : ""}: a 502 OpenAI-style error`, async () => {
      const body = c.upstream ?? completion("the upstream's answer");
      const up = await startUpstream({
        headers: [
          ["content-type", "application/json"],
          ["content-length", String(body.length)],
        ],
        body,
      });
      try {
        await withStack(
          { onFailure: "error", ...c.config },
          async (stack) => {
            if (c.ds) stack.ds.set(c.ds);
            const r = await ask(stack, "q");
            assertLength(r);
            assert.equal(r.status, 502);
            assert.equal(r.headers["content-type"], "application/json");
            assert.equal(r.headers["mode"], undefined);
            const json = JSON.parse(r.text);
            assert.deepEqual(Object.keys(json), ["error"]);
            assert.deepEqual(Object.keys(json.error).sort(), ["code", "message", "type"]);
            assert.equal(json.error.type, "json_mode_error");
            assert.equal(json.error.code, c.code);
            assert.equal(typeof json.error.message, "string");
            assert.ok(json.error.message.length > 0);
            assert.ok(!r.text.includes(KEY), "the key is not in the error body");
            const s = stack.streams[0];
            assert.equal(s.resumed, c.paused ? 1 : 0);
            const warns = warnLines(s);
            assert.equal(warns.length, 1, JSON.stringify(warns));
            assert.match(warns[0].message, new RegExp(c.code));
            assert.equal(metric(stack.host, "error_response"), 1);
            assert.equal(metric(stack.host, `failed.${c.code}`), 1);
            assert.equal(metric(stack.host, `passthrough.${c.code}`), 0);
          },
          { routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
        );
      } finally {
        await up.close();
      }
    });
  }

  test("responses the plugin does not handle still pass untouched (non-200, other content types)", async () => {
    const body = completion("x");
    const up = await startUpstream((req) =>
      req.body.includes("five-hundred")
        ? {
            status: 500,
            headers: [
              ["content-type", "application/json"],
              ["content-length", String(body.length)],
            ],
            body,
          }
        : {
            headers: [
              ["content-type", "text/plain"],
              ["content-length", String(body.length)],
            ],
            body,
          },
    );
    try {
      await withStack(
        { onFailure: "error" },
        async (stack) => {
          const a = await ask(stack, "five-hundred");
          assert.equal(a.status, 500);
          assert.equal(a.text, body);
          const b = await ask(stack, "text");
          assert.equal(b.status, 200);
          assert.equal(b.text, body);
          assert.equal(metric(stack.host, "error_response"), 0);
        },
        { routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
      );
    } finally {
      await up.close();
    }
  });
});

describe("loop guard", () => {
  test("a client's x-ai-json-mode neither switches the plugin off nor reaches the upstream", () =>
    withStack({}, async (stack) => {
      for (const value of ["1", "", "0"]) {
        const r = await ask(stack, `forged ${value}`, { headers: { "x-ai-json-mode": value } });
        assert.deepEqual(assertConverted(r), { output: chatReply(`forged ${value}`) });
      }
      assert.equal(stack.ds.requests.length, 3);
      assert.equal(stack.chat.requests.length, 3);
      for (const req of stack.chat.requests)
        assert.equal(req.headers["x-ai-json-mode"], undefined, "the client's header reached the upstream");
      assert.equal(metric(stack.host, "loop_header_removed"), 3);
      assert.equal(metric(stack.host, "passthrough.loop_guard"), 0);
    }));

  test("only the configuration's own marker leaves a request alone", () =>
    withStack({}, async (stack) => {
      assertConverted(await ask(stack, "first"));
      const marker = String(stack.ds.requests[0].headers["x-ai-json-mode"]);
      assert.match(marker, /^[0-9a-f]{32}$/);
      const r = await ask(stack, "marked", { headers: { "x-ai-json-mode": marker } });
      assert.equal(r.status, 200);
      assert.equal(r.headers["mode"], undefined);
      assert.equal(JSON.parse(r.text).choices[0].message.content, chatReply("marked"));
      assert.equal(stack.ds.requests.length, 1, "no call for the marked request");
      assert.equal(
        stack.chat.requests[1].headers["x-ai-json-mode"],
        marker,
        "a marked request is left alone, header included",
      );
      assert.equal(metric(stack.host, "passthrough.loop_guard"), 1);
      // One digit off: a forgery like any other.
      const near = marker.slice(0, -1) + (marker.endsWith("0") ? "1" : "0");
      assertConverted(await ask(stack, "near miss", { headers: { "x-ai-json-mode": near } }));
      assert.equal(stack.ds.requests.length, 2);
      assert.equal(metric(stack.host, "loop_header_removed"), 1);
    }));

  test("DeepSeek routed through the same gateway does not loop", async () => {
    // A relay in front of the gateway (whose port is only known once it runs).
    let target = "";
    const relay = http.createServer((req, res) => {
      const up = http.request(target + req.url, { method: req.method, headers: req.headers, agent: false }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((ok) => relay.listen(0, "127.0.0.1", ok));
    const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    try {
      await withStack(
        { url: "https://api.deepseek.com/deepseek/v1/chat/completions" },
        async (stack) => {
          target = stack.gw.url;
          const r = await ask(stack, "through myself");
          assert.deepEqual(assertConverted(r), { output: chatReply("through myself") });
          assert.equal(stack.ds.requests.length, 1, "DeepSeek was asked once");
          assert.equal(stack.ds.requests[0].path, "/v1/chat/completions");
          assert.equal(stack.streams.length, 2, "the client's stream and the plugin's own call");
          assert.equal(metric(stack.host, "passthrough.loop_guard"), 1);
          assert.equal(metric(stack.host, "converted"), 1);
          for (const s of stack.streams) assert.ok(s.resumed <= 1);
        },
        {
          routes: [
            { name: "deepseek", prefix: "/deepseek", rewritePrefix: "", upstream: "$DS" },
            { name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: "$CHAT" },
          ],
          clusters: { [DS_CLUSTER]: relayUrl },
        },
      );
    } finally {
      relay.closeAllConnections();
      await new Promise<void>((ok) => relay.close(() => ok()));
    }
  });
});

test("host API: a reconfiguration while a call is out does not disturb the paused stream", async () => {
  const host = await loadPlugin(lessonConfig({ output: "body" }));
  const body = completion("before");
  const start = () => {
    const s = host.stream();
    s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true)
      .responseHeaders({ ":status": "200", "content-type": "application/json", "content-length": String(body.length) })
      .responseBody(body, true);
    return s;
  };
  const s1 = start();
  const [c1] = host.pendingCalls();
  assert.equal(host.configure(lessonConfig({ output: "openai", model: "model-2" })), true);
  host.answer(c1, 200, {}, dsCompletion('{"output": "first"}'));
  assert.equal(s1.bodyText, '{"output":"first"}', "the stream keeps the config it started with");
  assert.equal(s1.resumed, 1);
  const s2 = start();
  const [c2] = host.pendingCalls();
  assert.equal(JSON.parse(c2.bodyText).model, "model-2");
  host.answer(c2, 200, {}, dsCompletion('{"output": "second"}'));
  assert.equal(JSON.parse(s2.bodyText).choices[0].message.content, '{"output":"second"}');
  s1.done();
  s2.done();
  assert.equal(host.liveContexts(), 0);
  assert.equal(host.failed, false);
});

test("metrics: every outcome is counted once, by reason", async () => {
  const body = completion("raw");
  const up = await startUpstream((req) => {
    if (req.body.includes("status-500")) return { status: 500, headers: [["content-type", "application/json"]], body };
    if (req.body.includes("text-plain")) return { headers: [["content-type", "text/plain"]], body };
    if (req.body.includes("gzipped"))
      return {
        headers: [
          ["content-type", "application/json"],
          ["content-encoding", "gzip"],
        ],
        body: "\x1f\x8b",
      };
    if (req.body.includes("not-json")) return { headers: [["content-type", "application/json"]], body: "<html/>" };
    return { headers: [["content-type", "application/json"]], body };
  });
  try {
    await withStack(
      {
        jsonSchema: { type: "object", required: ["output"] },
        _rules_: [{ _match_route_: ["strict"], onFailure: "error", maxRetries: 0 }],
      },
      async (stack) => {
        const snap = () => metricSnapshot(stack.host);
        const families = (d: Record<string, number>) =>
          Object.fromEntries(
            Object.entries(d).filter(([k]) => /^(converted|retried|error_response|passthrough\.|failed\.)/.test(k)),
          );
        const expectDelta = async (what: string, fn: () => Promise<unknown>, expected: Record<string, number>) => {
          const before = snap();
          await fn();
          assert.deepEqual(families(metricDelta(before, snap())), expected, what);
        };
        await expectDelta("converted", () => ask(stack, "ok"), { converted: 1 });
        stack.ds.enqueue({ content: '{"nope": 1}' });
        await expectDelta("retried then converted", () => ask(stack, "retry"), { retried: 1, converted: 1 });
        stack.ds.set({ content: "prose" });
        await expectDelta("failed after retries", () => ask(stack, "fail"), {
          retried: 2,
          "failed.invalid_json": 1,
          "passthrough.invalid_json": 1,
        });
        await expectDelta("error response", () => ask(stack, "strict", { path: "/strict/v1/chat/completions" }), {
          "failed.invalid_json": 1,
          error_response: 1,
        });
        stack.ds.set({});
        await expectDelta("status", () => ask(stack, "status-500", { path: "/raw" }), { "passthrough.status": 1 });
        await expectDelta("content type", () => ask(stack, "text-plain", { path: "/raw" }), {
          "passthrough.content_type": 1,
        });
        await expectDelta("content encoding", () => ask(stack, "gzipped", { path: "/raw" }), {
          "passthrough.content_encoding": 1,
        });
        await expectDelta("upstream not json", () => ask(stack, "not-json", { path: "/raw" }), {
          "failed.upstream_not_json": 1,
          "passthrough.upstream_not_json": 1,
        });
        await expectDelta(
          "a client's loop-guard header",
          () => ask(stack, "own", { headers: { "x-ai-json-mode": "1" } }),
          { converted: 1 },
        );
        const marker = String(stack.ds.requests[0].headers["x-ai-json-mode"]);
        await expectDelta("loop guard", () => ask(stack, "own", { headers: { "x-ai-json-mode": marker } }), {
          "passthrough.loop_guard": 1,
        });
        // Counters, as Envoy defines them.
        for (const [name, m] of stack.host.metrics())
          if (name.startsWith("ai_json_mode.")) assert.equal(m.type, 0, `${name} is a counter`);
      },
      {
        routes: [
          { name: "strict", prefix: "/strict", rewritePrefix: "", upstream: "$CHAT" },
          { name: "raw", prefix: "/raw", rewritePrefix: "", upstream: up.url },
          { name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: "$CHAT" },
        ],
      },
    );
  } finally {
    await up.close();
  }
});
