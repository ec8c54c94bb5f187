// Upstream bodies of every shape, with none of the issue-4 fields set: many
// small chunks (down to 1 byte), a 4 MB body, non-200 statuses, other content
// types, gzip, and an SSE stream.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { gzipSync, gunzipSync } from "node:zlib";
import { chatReply, type Pairs } from "../../host/index.ts";
import {
  DATE,
  assertConverted,
  assertNoLengthMismatch,
  assertOriginal,
  chatRequest,
  closedPort,
  completion,
  lessonConfig,
  loadPlugin,
  metric,
  responseChunks,
  send,
  startStack,
  startUpstream,
  until,
  warnLines,
  type StackOptions,
  type UpstreamReply,
} from "../kit/stack.ts";

/** A gateway route to a scriptable upstream; returns the reply, the stack (closed) and the stream. */
async function through(
  reply: UpstreamReply,
  opts: { ds?: StackOptions["ds"]; path?: string; envoy?: StackOptions["envoy"] } = {},
) {
  const up = await startUpstream(reply);
  const stack = await startStack({
    config: lessonConfig(),
    routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
    ds: opts.ds,
    envoy: opts.envoy,
  });
  try {
    const r = await send(stack.url(), { body: chatRequest("q") });
    await until(() => stack.host.liveContexts() === 0, "the stream to end");
    assertNoLengthMismatch(stack.logs);
    return { r, stack, s: stack.streams[0], up };
  } finally {
    await stack.close();
    await up.close();
  }
}

describe("many chunks", () => {
  test("a completion written 1 byte at a time is converted", async () => {
    const body = completion("one byte at a time, with unicode: 中文 \u{1F680}");
    const { r, s, stack } = await through({
      headers: [
        ["content-type", "application/json"],
        ["content-length", String(Buffer.byteLength(body))],
      ],
      body,
      chunkSize: 1,
      delayMs: 1,
    });
    assert.deepEqual(assertConverted(r), { output: "one byte at a time, with unicode: 中文 \u{1F680}" });
    const sizes = responseChunks.get(s)!;
    assert.ok(sizes.length > 50, `the plugin saw ${sizes.length} chunks`);
    assert.ok(sizes.filter((n) => n === 1).length > 50, "most chunks are 1 byte");
    assert.equal(s.resumed, 1);
    assert.equal(stack.ds.requests[0].json.messages[1].content, "one byte at a time, with unicode: 中文 \u{1F680}");
  });

  test("chunked transfer encoding (no content-length), 7-byte pieces, the end of stream in an empty last chunk", async () => {
    const body = completion("chunked answer");
    const { r, s } = await through({ headers: [["content-type", "application/json"]], body, chunkSize: 7, delayMs: 1 });
    assert.deepEqual(assertConverted(r), { output: "chunked answer" });
    assert.equal(r.headers["content-length"], String(r.body.length));
    assert.equal(r.headers["transfer-encoding"], undefined, "a content-length, not chunked");
    const sizes = responseChunks.get(s)!;
    assert.ok(sizes.length > 10, `the plugin saw ${sizes.length} chunks`);
    assert.equal(sizes[sizes.length - 1], 0, "end of stream came alone");
  });

  test("the chat mock writing byte by byte, through the gateway", async () => {
    const stack = await startStack({ chat: { behavior: { chunkSize: 1, chunkDelayMs: 0 } } });
    try {
      const r = await send(stack.url(), { body: chatRequest("mock bytes") });
      assert.deepEqual(assertConverted(r), { output: chatReply("mock bytes") });
      assert.equal(stack.streams[0].resumed, 1);
    } finally {
      await stack.close();
    }
  });

  test("a failure with 1-byte chunks still gives the original bytes", async () => {
    const body = "<html>not json at all, sent one byte at a time</html>";
    const headers: Pairs = [["content-type", "application/json"], DATE, ["content-length", String(body.length)]];
    const { r, s } = await through({ headers, body, chunkSize: 1, delayMs: 1 });
    assertOriginal(r, 200, headers, body);
    assert.equal(s.resumed, 0);
    assert.equal(warnLines(s).length, 1);
  });

  test("host API: a completion split at every byte boundary gives the same body", async () => {
    const host = await loadPlugin(lessonConfig());
    const body = Buffer.from(completion("split 中 \u{1F600} here"));
    const answer = JSON.stringify({ choices: [{ message: { content: '{"output": "split"}' } }] });
    for (let k = 0; k <= body.length; k++) {
      const s = host.stream();
      s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true);
      s.responseHeaders({
        ":status": "200",
        "content-type": "application/json",
        "content-length": String(body.length),
      });
      s.responseBody(body.subarray(0, k), false).responseBody(body.subarray(k), true);
      const calls = host.pendingCalls();
      assert.equal(calls.length, 1, `split at ${k}`);
      assert.equal(JSON.parse(calls[0].bodyText).messages[1].content, "split 中 \u{1F600} here", `split at ${k}`);
      host.answer(calls[0], 200, { "content-type": "application/json" }, answer);
      assert.equal(s.bodyText, '{"output":"split"}', `split at ${k}`);
      assert.equal(s.header("content-length"), "18");
      assert.equal(s.resumed, 1);
      s.done();
    }
    assert.equal(host.liveContexts(), 0);
    assert.equal(metric(host, "converted"), body.length + 1);
  });
});

describe("a 4 MB body", () => {
  // ~4 MB of content with quotes, backslashes, newlines, CJK and emoji (all escaped or multi-byte in JSON).
  const unit = 'line "q" \\ back / slash\ttab 中文字符 \u{1F600} é\n';
  const big = unit.repeat(Math.ceil((4 * 1024 * 1024) / Buffer.byteLength(unit)));

  test("content of ~4 MB is converted; the body is whole and content-length right", async () => {
    assert.ok(Buffer.byteLength(big) >= 4 * 1024 * 1024);
    const stack = await startStack({ chat: { behavior: { content: big } } });
    try {
      const r = await send(stack.url(), { body: chatRequest("big") });
      const json = assertConverted(r);
      assert.equal(json.output.length, big.length);
      assert.ok(json.output === big, "the 4 MB content came back intact");
      assert.deepEqual(Object.keys(json), ["output"]);
      assert.ok(r.body.length > 4 * 1024 * 1024);
      assert.equal(stack.ds.requests[0].json.messages[1].content, big, "DeepSeek received the whole content");
      const sizes = responseChunks.get(stack.streams[0])!;
      assert.ok(sizes.length > 4, `the 4 MB came in ${sizes.length} chunks`);
      assert.equal(stack.streams[0].resumed, 1);
      assertNoLengthMismatch(stack.logs);
    } finally {
      await stack.close();
    }
  });

  test("a failed 4 MB conversion gives the original 4 MB byte for byte", async () => {
    const body = completion(big);
    const headers: Pairs = [
      ["content-type", "application/json"],
      DATE,
      ["content-length", String(Buffer.byteLength(body))],
    ];
    const { r, s } = await through({ headers, body }, { ds: { behavior: { status: 500 } } });
    assertOriginal(r, 200, headers, body);
    assert.equal(s.resumed, 1);
  });
});

describe("responses the plugin must not touch", () => {
  const valid = completion("a valid completion, but not for us");

  async function untouched(status: number, headers: Pairs, body: string | Uint8Array) {
    const { r, s, stack } = await through({ status, headers, body });
    assertOriginal(r, status, headers, body);
    assert.equal(r.headers["mode"], undefined);
    assert.equal(stack.ds.requests.length, 0, "no JSON-mode call");
    assert.equal(s.resumed, 0);
    assert.deepEqual(warnLines(s), []);
    return stack;
  }

  for (const status of [201, 203, 400, 404, 429, 500, 503]) {
    test(`status ${status} with a chat completion body`, async () => {
      const stack = await untouched(
        status,
        [["content-type", "application/json"], DATE, ["content-length", String(valid.length)]],
        valid,
      );
      assert.equal(metric(stack.host, "passthrough.status"), 1);
    });
  }

  for (const type of [
    "text/plain",
    "text/html; charset=utf-8",
    "application/problem+json",
    "application/jsonl",
    "application/x-ndjson",
  ]) {
    test(`content-type ${type}`, async () => {
      const stack = await untouched(
        200,
        [["content-type", type], DATE, ["content-length", String(valid.length)]],
        valid,
      );
      assert.equal(metric(stack.host, "passthrough.content_type"), 1);
    });
  }

  test("an empty 200 JSON response (content-length: 0)", async () => {
    await untouched(200, [["content-type", "application/json"], DATE, ["content-length", "0"]], "");
  });

  test("no content-type", async () => {
    await untouched(200, [DATE, ["content-length", String(valid.length)]], valid);
  });

  test("gzip-encoded JSON passes compressed, byte for byte", async () => {
    const gz = gzipSync(Buffer.from(valid));
    const stack = await untouched(
      200,
      [["content-type", "application/json"], ["content-encoding", "gzip"], DATE, ["content-length", String(gz.length)]],
      gz,
    );
    assert.equal(metric(stack.host, "passthrough.content_encoding"), 1);
  });

  test("gzip from the chat mock: the client can still gunzip the original completion", async () => {
    const stack = await startStack({ chat: { behavior: { gzip: true } } });
    try {
      const r = await send(stack.url(), { body: chatRequest("zipped") });
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-encoding"], "gzip");
      assert.equal(r.headers["mode"], undefined);
      assert.equal(Number(r.headers["content-length"]), r.body.length);
      const completionJson = JSON.parse(gunzipSync(r.body).toString());
      assert.equal(completionJson.choices[0].message.content, chatReply("zipped"));
      assert.equal(stack.ds.requests.length, 0);
      assert.equal(stack.streams[0].resumed, 0);
    } finally {
      await stack.close();
    }
  });

  test("the gateway's own 503 (upstream unreachable) passes through", async () => {
    const port = await closedPort();
    const stack = await startStack({
      routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: `http://127.0.0.1:${port}` }],
    });
    try {
      const r = await send(stack.url(), { body: chatRequest("x") });
      assert.equal(r.status, 503);
      assert.match(r.text, /upstream connect error/);
      assert.equal(stack.ds.requests.length, 0);
      assert.equal(stack.streams[0].resumed, 0);
    } finally {
      await stack.close();
    }
  });
});

describe("content types and encodings the plugin converts", () => {
  for (const type of ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8;q=1"]) {
    test(`content-type ${type}`, async () => {
      const body = completion("typed");
      const { r } = await through({
        headers: [
          ["content-type", type],
          ["content-length", String(body.length)],
        ],
        body,
      });
      assert.deepEqual(assertConverted(r), { output: "typed" });
    });
  }

  test("content-encoding: identity", async () => {
    const body = completion("identity");
    const { r } = await through({
      headers: [
        ["content-type", "application/json"],
        ["content-encoding", "identity"],
        ["content-length", String(body.length)],
      ],
      body,
    });
    assert.deepEqual(assertConverted(r), { output: "identity" });
  });

  test("an SSE stream from the chat mock is collected and converted (streaming defaults to convert)", async () => {
    const stack = await startStack({ chat: { behavior: { chunkSize: 5 } } });
    try {
      const r = await send(stack.url(), { body: chatRequest("stream me", { stream: true }) });
      assert.deepEqual(assertConverted(r), { output: chatReply("stream me") });
      assert.equal(stack.ds.requests[0].json.messages[1].content, chatReply("stream me"));
      assert.equal(stack.streams[0].resumed, 1);
    } finally {
      await stack.close();
    }
  });
});
