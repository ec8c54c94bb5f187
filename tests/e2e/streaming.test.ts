// SSE responses (`stream: true`): converted to one SSE chunk (output openai)
// or to application/json (output body), or left alone (streaming passthrough);
// the same result whatever the chunking, down to every single byte boundary.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { chatReply, type HttpStream, type ProxyWasmHost, type Pairs } from "../../host/index.ts";
import {
  DATE,
  assertConverted,
  assertLength,
  assertNoKey,
  assertNoLengthMismatch,
  assertOriginal,
  chatRequest,
  dsCompletion,
  lessonConfig,
  loadPlugin,
  metric,
  responseChunks,
  send,
  sseBody,
  sseEvents,
  startStack,
  startUpstream,
  until,
  warnLines,
  type UpstreamReply,
} from "../kit/stack.ts";

const USAGE = { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 };
const DS_USAGE = { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 };
const PIECES = ["The capital", " of 中国 is", " Beijing \u{1F1E8}\u{1F1F3}", ', "quoted"\nline'];
const CONTENT = PIECES.join("");
const SSE_HEADERS: Pairs = [["content-type", "text/event-stream; charset=utf-8"], ["cache-control", "no-cache"], DATE];

/** Checks an SSE body as a strict client would: `data: ` events separated by blank lines, ending with [DONE]. */
function parseSseStrict(text: string): any[] {
  assert.ok(text.endsWith("\n\n"), "the stream ends with a blank line");
  const events = sseEvents(text);
  assert.equal(events[events.length - 1], "[DONE]", "the stream ends with data: [DONE]");
  for (const block of text.split("\n\n").filter((b) => b.length)) {
    assert.match(block, /^data: /, `every event is a data field: ${JSON.stringify(block)}`);
  }
  return events.slice(0, -1).map((e) => JSON.parse(e));
}

async function through(
  reply: UpstreamReply,
  config: Record<string, unknown>,
  ds = dsCompletion('{"output": "Beijing"}', DS_USAGE),
) {
  const up = await startUpstream(reply);
  const stack = await startStack({
    config: lessonConfig(config),
    routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
    ds: { behavior: { body: ds } },
  });
  try {
    const r = await send(stack.url(), { body: chatRequest("capital?", { stream: true }) });
    await until(() => stack.host.liveContexts() === 0, "the stream to end");
    assertNoLengthMismatch(stack.logs);
    assertNoKey(stack.logs);
    return { r, stack, s: stack.streams[0] };
  } finally {
    await stack.close();
    await up.close();
  }
}

describe("streaming: convert (default)", () => {
  test('output "openai": a valid SSE stream with one chunk carrying the JSON, finish_reason stop, then [DONE]', async () => {
    const body = sseBody(PIECES);
    const { r, s, stack } = await through({ headers: SSE_HEADERS, body, chunkSize: 13 }, { output: "openai" });
    assertLength(r);
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/event-stream/);
    assert.equal(r.headers["mode"], "json");
    const chunks = parseSseStrict(r.text);
    assert.equal(chunks.length, 1, "one chunk");
    const c = chunks[0];
    assert.equal(c.object, "chat.completion.chunk");
    assert.equal(c.id, "chatcmpl-sse-e2e");
    assert.equal(c.model, "qwen-plus");
    assert.equal(c.created, 1735689600);
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].index, 0);
    assert.equal(c.choices[0].finish_reason, "stop");
    assert.equal(c.choices[0].delta.content, '{"output":"Beijing"}');
    assert.deepEqual(JSON.parse(c.choices[0].delta.content), { output: "Beijing" });
    // DeepSeek got the collected content.
    assert.equal(stack.ds.requests[0].json.messages[1].content, CONTENT);
    assert.equal(stack.ds.requests[0].json.stream, false);
    assert.equal(s.resumed, 1);
    assert.ok(responseChunks.get(s)!.length > 10);
  });

  test('output "openai": usage in the stream includes the JSON-mode call\'s tokens', async () => {
    const { r } = await through(
      { headers: SSE_HEADERS, body: sseBody(PIECES, { usage: USAGE }) },
      { output: "openai" },
    );
    const [c] = parseSseStrict(r.text);
    assert.deepEqual(c.usage, { prompt_tokens: 35, completion_tokens: 21, total_tokens: 56 });
    // Without usage in the stream, the call's tokens are still reported.
    const { r: r2 } = await through({ headers: SSE_HEADERS, body: sseBody(PIECES) }, { output: "openai" });
    assert.deepEqual(parseSseStrict(r2.text)[0].usage, DS_USAGE);
  });

  test('output "body": the client gets application/json', async () => {
    const { r, s } = await through({ headers: SSE_HEADERS, body: sseBody(PIECES), chunkSize: 5 }, {});
    assert.deepEqual(assertConverted(r), { output: "Beijing" });
    assert.equal(r.text, '{"output":"Beijing"}');
    assert.equal(s.resumed, 1);
  });

  test("the chat mock's stream (with include_usage), converted for an OpenAI SDK client", async () => {
    const stack = await startStack({
      config: lessonConfig({ output: "openai" }),
      chat: { behavior: { chunkSize: 3 } },
    });
    try {
      const r = await send(stack.url(), {
        body: chatRequest("hi", { stream: true, stream_options: { include_usage: true } }),
      });
      assertLength(r);
      assert.match(String(r.headers["content-type"]), /^text\/event-stream/);
      const [c] = parseSseStrict(r.text);
      assert.deepEqual(JSON.parse(c.choices[0].delta.content), { output: chatReply("hi") });
      assert.equal(stack.ds.requests[0].json.messages[1].content, chatReply("hi"));
    } finally {
      await stack.close();
    }
  });

  test("failures give the original stream byte for byte", async () => {
    const good = sseBody(PIECES);
    const cases: { name: string; body: string; ds?: string; code: string; paused: boolean }[] = [
      { name: "call answered 500", body: good, ds: "", code: "call_failed", paused: true },
      {
        name: "an event that is not JSON",
        body: good.replace('data: {"id"', 'data: {oops\n\ndata: {"id"'),
        code: "upstream_not_json",
        paused: false,
      },
      {
        name: "an error event",
        body: good.replace("data: [DONE]", 'data: {"error":{"message":"overloaded"}}\n\ndata: [DONE]'),
        code: "upstream_not_json",
        paused: false,
      },
      { name: "no content in any delta", body: sseBody([]), code: "empty_content", paused: false },
    ];
    for (const c of cases) {
      const up = await startUpstream({ headers: SSE_HEADERS, body: c.body, chunkSize: 64 });
      const stack = await startStack({
        config: lessonConfig({ output: "openai" }),
        routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
        ds: { behavior: c.ds === "" ? { status: 500 } : {} },
      });
      try {
        const r = await send(stack.url(), { body: chatRequest("q", { stream: true }) });
        assertOriginal(r, 200, SSE_HEADERS, c.body);
        const s = stack.streams[0];
        assert.equal(s.resumed, c.paused ? 1 : 0, c.name);
        const warns = warnLines(s);
        assert.equal(warns.length, 1, c.name);
        assert.match(warns[0].message, new RegExp(c.code), c.name);
        assert.equal(metric(stack.host, `passthrough.${c.code}`), 1, c.name);
      } finally {
        await stack.close();
        await up.close();
      }
    }
  });

  test('onFailure "error" on a stream: a 502 application/json error', async () => {
    const { r, s } = await through(
      { headers: SSE_HEADERS, body: sseBody(PIECES) },
      { onFailure: "error", output: "openai" },
      "not json",
    );
    assertLength(r);
    assert.equal(r.status, 502);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(JSON.parse(r.text).error.code, "invalid_answer");
    assert.equal(s.resumed, 1);
  });
});

describe("streaming: passthrough", () => {
  test("the stream reaches the client untouched and as it arrives", async () => {
    const body = sseBody(PIECES, { usage: USAGE });
    const first = body.indexOf("\n\n") + 2;
    const up = await startUpstream({
      headers: SSE_HEADERS,
      chunks: [body.slice(0, first), body.slice(first)],
      delayMs: 400,
    });
    const stack = await startStack({
      config: lessonConfig({ streaming: "passthrough", output: "openai" }),
      routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
    });
    try {
      // A client that notes when the first event arrives.
      const started = Date.now();
      let firstAt = 0;
      const r = await new Promise<{ status: number; raw: Pairs; body: Buffer }>((resolve, reject) => {
        const req = http.request(
          stack.url(),
          { method: "POST", headers: { "content-type": "application/json" }, agent: false },
          (res) => {
            const parts: Buffer[] = [];
            res.on("data", (c: Buffer) => {
              if (!firstAt) firstAt = Date.now();
              parts.push(c);
            });
            res.on("end", () => {
              const raw: Pairs = [];
              for (let i = 0; i < res.rawHeaders.length; i += 2)
                raw.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
              resolve({ status: res.statusCode!, raw, body: Buffer.concat(parts) });
            });
          },
        );
        req.on("error", reject);
        req.end(chatRequest("q", { stream: true }));
      });
      const done = Date.now();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), body);
      assert.deepEqual(
        r.raw.filter(([k]) => !["connection", "keep-alive", "transfer-encoding"].includes(k)),
        SSE_HEADERS,
      );
      assert.ok(
        done - firstAt >= 300,
        `the first event arrived ${firstAt - started} ms after the start, the end ${done - started} ms: the stream was buffered`,
      );
      assert.equal(stack.ds.requests.length, 0);
      assert.equal(stack.streams[0].resumed, 0);
      assert.equal(metric(stack.host, "passthrough.streaming"), 1);
    } finally {
      await stack.close();
      await up.close();
    }
  });
});

describe("a stream split anywhere gives the same result (host API)", () => {
  function run(host: ProxyWasmHost, parts: Uint8Array[], answer: string): HttpStream {
    const s = host.stream();
    s.requestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw" }, false)
      .requestBody(chatRequest("q", { stream: true }), true)
      .responseHeaders({ ":status": "200", "content-type": "text/event-stream" });
    parts.forEach((p, i) => s.responseBody(p, i === parts.length - 1));
    const calls = host.pendingCalls();
    assert.equal(calls.length, 1, "one JSON-mode call");
    assert.equal(JSON.parse(calls[0].bodyText).messages[1].content, CONTENT, "the collected content");
    assert.equal(s.complete, false);
    host.answer(calls[0], 200, { "content-type": "application/json" }, answer);
    assert.equal(s.resumed, 1);
    assert.equal(s.complete, true);
    s.done();
    return s;
  }

  const variants: [string, string][] = [
    ["LF", sseBody(PIECES, { usage: USAGE })],
    ["CRLF", sseBody(PIECES, { usage: USAGE, eol: "\r\n" })],
    [
      "comments, event/id fields, data without a space, a multi-line data field",
      ": keep-alive\n\nevent: message\nid: 1\n" +
        sseBody(PIECES, { usage: USAGE })
          .replaceAll("data: ", "data:")
          .replace('data:{"id"', 'data:{"id"\ndata: ')
          .replace("\n\n", "\n\n: ping\n\n"),
    ],
  ];

  for (const output of ["openai", "body"]) {
    for (const [name, text] of variants) {
      test(`output ${output}, ${name}: every split point k (body[0:k] + body[k:]) and 1-byte chunks`, async () => {
        const host = await loadPlugin(lessonConfig({ output }));
        const body = Buffer.from(text);
        const answer = dsCompletion('{"output": "Beijing"}', DS_USAGE);
        const reference = run(host, [body], answer);
        const refHeaders = reference.headers;
        const refBody = reference.bodyText;
        if (output === "body") {
          assert.equal(refBody, '{"output":"Beijing"}');
        } else {
          const [c] = parseSseStrict(refBody);
          assert.equal(c.choices[0].delta.content, '{"output":"Beijing"}');
        }
        for (let k = 0; k <= body.length; k++) {
          const s = run(host, [body.subarray(0, k), body.subarray(k)], answer);
          assert.equal(s.bodyText, refBody, `split at byte ${k}`);
          assert.deepEqual(s.headers, refHeaders, `split at byte ${k}`);
        }
        const bytes = Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));
        const s = run(host, [...bytes, new Uint8Array(0)], answer);
        assert.equal(s.bodyText, refBody, "1-byte chunks");
        assert.equal(host.liveContexts(), 0);
        assert.equal(metric(host, "converted"), body.length + 3);
        assert.deepEqual(
          host.logs.filter((l) => l.level >= 3).map((l) => l.message),
          [],
        );
      });
    }
  }
});
