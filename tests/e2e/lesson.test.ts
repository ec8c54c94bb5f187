// The lesson's scenario end to end, with none of the issue-4 fields set:
// client -> gateway route -> chat mock; the plugin pauses the completion, asks
// the DeepSeek mock through the cluster, and the client gets the JSON object.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { startGateway, chatReply, startChatMock, startJsonModeMock } from "../../host/index.ts";
import {
  KEY,
  ROOT,
  WASM,
  ask,
  assertConverted,
  assertNoKey,
  assertNoLengthMismatch,
  captureStreams,
  lessonConfig,
  metric,
  send,
  startStack,
  until,
  warnLines,
} from "../kit/stack.ts";

test("lesson: the client gets the JSON object, with mode: json and a correct content-length", async () => {
  const stack = await startStack({ config: lessonConfig({ serviceHost: "deepseek.internal.test" }) });
  try {
    const reply = await ask(stack, "hello", { headers: { "accept-encoding": "gzip, br" } });
    const json = assertConverted(reply);
    assert.deepEqual(json, { output: chatReply("hello") });
    // Compact UTF-8, exactly the object.
    assert.equal(reply.text, JSON.stringify({ output: chatReply("hello") }));
    assert.equal(reply.headers["content-length"], String(Buffer.byteLength(reply.text)));

    // The upstream was asked without accept-encoding.
    assert.equal(stack.chat.requests.length, 1);
    assert.equal(stack.chat.requests[0].headers["accept-encoding"], undefined, "accept-encoding reached the upstream");

    // What DeepSeek received.
    assert.equal(stack.ds.requests.length, 1);
    const call = stack.ds.requests[0];
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/v1/chat/completions");
    assert.equal(call.headers.host, "deepseek.internal.test");
    assert.equal(call.headers.authorization, `Bearer ${KEY}`);
    assert.match(String(call.headers["content-type"]), /^application\/json/);
    assert.match(
      String(call.headers["x-ai-json-mode"]),
      /^[0-9a-f]{32}$/,
      "the call carries the configuration's loop-guard marker",
    );
    assert.equal(call.json.model, "deepseek-chat");
    assert.equal(call.json.stream, false);
    assert.equal(call.json.messages.length, 2);
    assert.equal(call.json.messages[0].role, "system");
    assert.match(call.json.messages[0].content, /JSON/);
    assert.ok(call.json.messages[0].content.includes('{"output": "xxxx"}'), call.json.messages[0].content);
    assert.deepEqual(call.json.messages[1], { role: "user", content: chatReply("hello") });

    // The stream: paused once, resumed exactly once, no warning, no leak.
    assert.equal(stack.streams.length, 1);
    const s = stack.streams[0];
    assert.equal(s.resumed, 1);
    assert.deepEqual(
      warnLines(s).map((l) => l.message),
      [],
    );
    await until(() => stack.host.liveContexts() === 0, "the stream context to be deleted");
    assertNoKey(stack.logs);
    assertNoLengthMismatch(stack.logs);
    assert.equal(metric(stack.host, "converted"), 1);
  } finally {
    await stack.close();
  }
});

test("lesson: serviceHost defaults to the url's host; the url's path and query become :path", async () => {
  const stack = await startStack({
    config: lessonConfig({ url: "https://api.deepseek.com/beta/v1/chat/completions?trace=1&x=%20y" }),
  });
  try {
    assertConverted(await ask(stack, "hi"));
    const call = stack.ds.requests[0];
    assert.equal(call.headers.host, "api.deepseek.com");
    assert.equal(call.path, "/beta/v1/chat/completions?trace=1&x=%20y");
  } finally {
    await stack.close();
  }
});

test("lesson: a path url calls :authority = serviceFQDN; an http:// url defaults to port 80", async () => {
  // Only the exact cluster names are declared: a wrong port is an unknown cluster.
  const path = await startStack({
    config: lessonConfig({ url: "/v1/chat/completions", servicePort: undefined }),
    clusters: { "outbound|443||deepseek.dns": "$DS" },
  });
  try {
    assert.deepEqual(assertConverted(await ask(path, "path url")), { output: chatReply("path url") });
    assert.equal(path.ds.requests[0].headers.host, "deepseek.dns");
    assert.equal(path.ds.requests[0].path, "/v1/chat/completions");
  } finally {
    await path.close();
  }
  const plain = await startStack({
    config: lessonConfig({ url: "http://deepseek.example/v1/chat/completions", servicePort: undefined }),
    clusters: { "outbound|80||deepseek.dns": "$DS" },
  });
  try {
    assert.deepEqual(assertConverted(await ask(plain, "http url")), { output: chatReply("http url") });
    assert.equal(plain.ds.requests[0].headers.host, "deepseek.example");
  } finally {
    await plain.close();
  }
});

test("lesson: non-ASCII content: content-length counts bytes, the JSON is UTF-8", async () => {
  const stack = await startStack();
  try {
    const message = '你好, wörld \u{1F600} "quoted" back\\slash\nnew line\ttab \u2028';
    const reply = await ask(stack, message);
    const json = assertConverted(reply);
    assert.deepEqual(json, { output: chatReply(message) });
    assert.equal(Number(reply.headers["content-length"]), Buffer.byteLength(reply.text, "utf8"));
    assert.notEqual(Buffer.byteLength(reply.text, "utf8"), reply.text.length, "the test needs multi-byte characters");
    assert.equal(stack.ds.requests[0].json.messages[1].content, chatReply(message));
  } finally {
    await stack.close();
  }
});

test("lesson: the JSON is taken out of a Markdown fence or prose and written compact", async () => {
  const stack = await startStack();
  try {
    stack.ds.enqueue({
      content:
        'Sure! Here it is:\n```json\n{\n  "output": "fenced",\n  "n": [1, 2.5, -3],\n  "o": {"a": null, "b": true}\n}\n```\nAnything else?',
    });
    stack.ds.enqueue({ content: 'The answer is {"output": "prose"} as requested.' });
    stack.ds.enqueue({ content: '  [ {"k": 1} , {"k": 2} ]  ' });
    const fenced = await ask(stack, "a");
    assert.deepEqual(assertConverted(fenced), { output: "fenced", n: [1, 2.5, -3], o: { a: null, b: true } });
    assert.equal(fenced.text, '{"output":"fenced","n":[1,2.5,-3],"o":{"a":null,"b":true}}');
    const prose = await ask(stack, "b");
    assert.equal(prose.text, '{"output":"prose"}');
    assertConverted(prose);
    const array = await ask(stack, "c");
    assert.equal(array.text, '[{"k":1},{"k":2}]');
    assertConverted(array);
    for (const s of stack.streams) assert.equal(s.resumed, 1);
    assertNoLengthMismatch(stack.logs);
  } finally {
    await stack.close();
  }
});

test("lesson: examples/local.yaml (npm start's default) answers the README's curl with JSON", async () => {
  const chat = await startChatMock();
  const ds = await startJsonModeMock();
  const file = parseYaml(readFileSync(join(ROOT, "examples/local.yaml"), "utf8"));
  file.plugin.wasm = WASM;
  let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    gw = await startGateway({
      config: file,
      port: 0,
      env: { MOCK_CHAT_URL: chat.url, MOCK_JSON_URL: ds.url },
    });
    const streams = captureStreams(gw.host!);
    const reply = await send(`${gw.url}/api/openai/v1/chat/completions`, {
      body: '{"model":"x","messages":[{"role":"user","content":"hello"}]}',
    });
    assert.deepEqual(assertConverted(reply), { output: "Mock reply to: hello" });
    assert.equal(ds.requests[0].headers.host, "api.deepseek.com");
    assert.equal(streams[0].resumed, 1);
  } finally {
    await gw?.close();
    await chat.close();
    await ds.close();
  }
});
