// Every failure path of the plugin, with none of the issue-4 fields set
// (onFailure defaults to passthrough): the client gets the upstream's status,
// headers and body byte for byte, the stream is resumed exactly once (or was
// never paused), one warn line says why, and no log line holds the key.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type { MockBehavior, Pairs, HttpStream, ProxyWasmHost } from "../../host/index.ts";
import {
  DATE,
  DS_CLUSTER,
  KEY,
  assertNoKey,
  assertNoLengthMismatch,
  assertOriginal,
  chatRequest,
  closedPort,
  completion,
  dsCompletion,
  lessonConfig,
  loadPlugin,
  metric,
  send,
  startStack,
  startUpstream,
  until,
  warnLines,
  type StackOptions,
  type UpstreamReply,
} from "../kit/stack.ts";

const ORIGINAL = completion("Beijing is the capital of China; it has about 21 million people.");

/** Headers an upstream sends (content-length added per body); a fixed date so Node adds none. */
function upstreamHeaders(
  body: string | Uint8Array,
  type = "application/json; charset=utf-8",
  withLength = true,
): Pairs {
  const h: Pairs = [
    ["content-type", type],
    ["x-upstream-id", "u-42"],
    ["set-cookie", "a=1; Path=/"],
    ["set-cookie", "b=2; Path=/"],
    DATE,
  ];
  if (withLength) h.push(["content-length", String(Buffer.byteLength(body as any))]);
  return h;
}

interface Case {
  name: string;
  /** What the upstream answers (default: ORIGINAL, a valid completion). */
  upstream?: UpstreamReply;
  /** Behaviour of the DeepSeek mock (every call). */
  ds?: MockBehavior;
  stack?: Partial<StackOptions>;
  config?: Record<string, unknown>;
  code: string;
  /** The warn line must match this. */
  reason: RegExp;
  /** The plugin paused the response (and called out). */
  paused: boolean;
  /** JSON-mode calls expected (retries included). */
  calls: number;
}

async function runCase(c: Case): Promise<void> {
  const reply: UpstreamReply = c.upstream ?? { headers: upstreamHeaders(ORIGINAL), body: ORIGINAL };
  const up = await startUpstream(reply);
  const stack = await startStack({
    config: lessonConfig(c.config ?? {}),
    routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
    ds: { behavior: c.ds },
    ...c.stack,
  });
  try {
    const r = await send(stack.url(), { body: chatRequest("where is Beijing?") });
    assertOriginal(r, reply.status ?? 200, reply.headers ?? [], reply.body ?? "");
    assert.equal(r.headers["mode"], undefined);

    assert.equal(stack.streams.length, 1);
    const s = stack.streams[0];
    assert.equal(s.resumed, c.paused ? 1 : 0, "proxy_continue_stream(response) calls");
    if (!c.paused) assert.equal(s.lastAction, 0, "the body callback let the response continue");
    assert.equal(stack.ds.requests.length, c.calls, "JSON-mode calls");

    const warns = warnLines(s);
    assert.equal(warns.length, 1, `one warn line, got: ${JSON.stringify(warns.map((l) => l.message))}`);
    assert.equal(warns[0].source, "plugin");
    assert.ok(warns[0].message.includes(c.code), warns[0].message);
    assert.match(warns[0].message, c.reason);
    // Nothing else in the gateway warned (e.g. a resume from the wrong context).
    assert.deepEqual(
      stack.logs.filter((l) => l.level >= 3 && l !== warns[0] && l.source !== "gateway").map((l) => l.message),
      [],
    );
    assertNoKey(stack.logs);
    assertNoLengthMismatch(stack.logs);
    assert.equal(metric(stack.host, `passthrough.${c.code}`), 1, "passthrough counter");
    assert.equal(metric(stack.host, `failed.${c.code}`), 1, "failed counter");
    assert.equal(metric(stack.host, "converted"), 0);
    await until(() => stack.host.liveContexts() === 0, "the stream context to be deleted");
    assert.equal(stack.host.failed, false);
  } finally {
    await stack.close();
    await up.close();
  }
}

const raw = (body: string, extra: Partial<UpstreamReply> = {}): UpstreamReply => ({
  headers: upstreamHeaders(body),
  body,
  ...extra,
});

describe("failures in the upstream's answer: never paused, original bytes", () => {
  const cases: Case[] = [
    {
      name: "not JSON (an HTML page labelled application/json)",
      upstream: raw("<html><body>502 Bad Gateway</body></html>\n"),
      code: "upstream_not_json",
      reason: /not JSON/,
      paused: false,
      calls: 0,
    },
    {
      name: "truncated JSON",
      upstream: raw(ORIGINAL.slice(0, 60)),
      code: "upstream_not_json",
      reason: /not JSON/,
      paused: false,
      calls: 0,
    },
    {
      name: "an empty chunked body",
      upstream: { headers: upstreamHeaders("", "application/json", false), body: "" },
      code: "upstream_not_json",
      reason: /empty body/,
      paused: false,
      calls: 0,
    },
    {
      name: "choices: []",
      upstream: raw(completion("x", { choices: [] })),
      code: "no_content",
      reason: /no choices/,
      paused: false,
      calls: 0,
    },
    {
      name: "choices not an array",
      upstream: raw(completion("x", { choices: { 0: 1 } })),
      code: "no_content",
      reason: /not an array/,
      paused: false,
      calls: 0,
    },
    {
      name: "message missing",
      upstream: raw(completion("x", { choices: [{ index: 0, delta: { content: "x" } }] })),
      code: "no_content",
      reason: /message missing/,
      paused: false,
      calls: 0,
    },
    {
      name: "content null (a tool call)",
      upstream: raw(completion(null)),
      code: "no_content",
      reason: /content missing/,
      paused: false,
      calls: 0,
    },
    {
      name: "content a number",
      upstream: raw(completion(42)),
      code: "no_content",
      reason: /not a string/,
      paused: false,
      calls: 0,
    },
    {
      name: "content empty",
      upstream: raw(completion("")),
      code: "empty_content",
      reason: /empty/,
      paused: false,
      calls: 0,
    },
    {
      name: "content only whitespace",
      upstream: raw(completion(" \n\t ")),
      code: "empty_content",
      reason: /empty/,
      paused: false,
      calls: 0,
    },
  ];
  for (const c of cases) test(c.name, () => runCase(c));
});

describe("JSON that is no chat completion: untouched and no failure, whatever onFailure says", () => {
  const bodies: [string, string][] = [
    ["a JSON array", "[1,2,3]"],
    ["an object without choices", JSON.stringify({ id: "x", object: "chat.completion" })],
    ["another API's JSON", JSON.stringify({ user: { id: 7, name: "Ada" } })],
  ];
  for (const [name, body] of bodies) {
    for (const onFailure of ["passthrough", "error"]) {
      test(`${name} (onFailure ${onFailure})`, async () => {
        const reply = raw(body);
        const up = await startUpstream(reply);
        const stack = await startStack({
          config: lessonConfig({ onFailure }),
          routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
        });
        try {
          const r = await send(stack.url(), { body: chatRequest("where is Beijing?") });
          assertOriginal(r, 200, reply.headers ?? [], body);
          const s = stack.streams[0];
          assert.equal(s.resumed, 0, "never paused");
          assert.equal(stack.ds.requests.length, 0, "no JSON-mode call");
          assert.deepEqual(
            warnLines(s).map((l) => l.message),
            [],
            "no warn line",
          );
          assert.equal(metric(stack.host, "passthrough.not_completion"), 1);
          assert.equal(metric(stack.host, "failed.no_content"), 0);
          assert.equal(metric(stack.host, "error_response"), 0);
        } finally {
          await stack.close();
          await up.close();
        }
      });
    }
  }
});

describe("failures of the JSON-mode call: paused, resumed once, original bytes", () => {
  const cases: Case[] = [
    {
      name: "call refused by the host (unknown cluster: BadArgument)",
      config: { serviceFQDN: "not-registered.dns" },
      code: "call_failed",
      reason: /refused: BadArgument/,
      paused: false,
      calls: 0,
    },
    { name: "answered 500", ds: { status: 500 }, code: "call_failed", reason: /answered 500/, paused: true, calls: 1 },
    {
      name: "answered 502 with an HTML page",
      ds: { status: 502, body: "<html>bad gateway</html>", contentType: "text/html" },
      code: "call_failed",
      reason: /answered 502/,
      paused: true,
      calls: 1,
    },
    { name: "answered 429", ds: { status: 429 }, code: "call_failed", reason: /answered 429/, paused: true, calls: 1 },
    { name: "answered 401", ds: { status: 401 }, code: "call_failed", reason: /answered 401/, paused: true, calls: 1 },
    { name: "answered 400", ds: { status: 400 }, code: "call_failed", reason: /answered 400/, paused: true, calls: 1 },
    {
      name: "connection reset before the answer (503 from Envoy)",
      ds: { malformed: "reset" },
      code: "call_failed",
      reason: /answered 503/,
      paused: true,
      calls: 1,
    },
    {
      name: "connection closed mid-answer (reset: zero headers)",
      ds: { malformed: "close-mid-body" },
      code: "call_failed",
      reason: /reset/,
      paused: true,
      calls: 1,
    },
    {
      name: "answer not JSON",
      ds: { malformed: "not-json" },
      code: "invalid_answer",
      reason: /not JSON/,
      paused: true,
      calls: 1,
    },
    {
      name: "answer without choices",
      ds: { malformed: "no-choices" },
      code: "invalid_answer",
      reason: /no choices/,
      paused: true,
      calls: 1,
    },
    {
      name: "answer content a number",
      ds: { malformed: "content-number" },
      code: "invalid_answer",
      reason: /not a string/,
      paused: true,
      calls: 1,
    },
    {
      name: "answer 200 with an empty body",
      ds: { body: "" },
      code: "invalid_answer",
      reason: /empty body/,
      paused: true,
      calls: 1,
    },
    // Retryable answers are asked again (maxRetries defaults to 2): 3 calls, then the original.
    {
      name: "answer content empty (DeepSeek's known failure)",
      ds: { malformed: "empty-content" },
      code: "empty_content",
      reason: /empty/,
      paused: true,
      calls: 3,
    },
    {
      name: "no JSON in the answer",
      ds: { content: "Sorry, I can only answer in prose." },
      code: "invalid_json",
      reason: /no JSON/,
      paused: true,
      calls: 3,
    },
    {
      name: "a bare scalar is not an answer",
      ds: { content: '"just a string"' },
      code: "invalid_json",
      reason: /no JSON/,
      paused: true,
      calls: 3,
    },
    {
      name: "answer truncated at max_tokens",
      ds: { malformed: "truncated" },
      code: "invalid_json",
      reason: /truncated/,
      paused: true,
      calls: 3,
    },
  ];
  for (const c of cases) test(c.name, () => runCase(c));

  test("connection refused (nothing listens on the cluster's port)", async () => {
    const port = await closedPort();
    await runCase({
      name: "refused",
      stack: { clusters: { [DS_CLUSTER]: `http://127.0.0.1:${port}` } },
      code: "call_failed",
      reason: /answered 503/,
      paused: true,
      calls: 0,
    });
  });

  test("timeout (the call's timeout: 504 from Envoy)", async () => {
    await runCase({
      name: "timeout",
      config: { timeout: 150 },
      ds: { latencyMs: 2000 },
      code: "call_failed",
      reason: /answered 504/,
      paused: true,
      calls: 1,
    });
  });
});

test("a failure keeps a non-JSON-labelled but valid completion's bytes too (charset, odd spacing)", async () => {
  const body = '{ "choices" : [ { "message" : { "role" : "assistant" , "content" : "x" } } ] }\n';
  await runCase({
    name: "spacing",
    upstream: { headers: upstreamHeaders(body, "Application/JSON;Charset=UTF-8"), body },
    ds: { status: 503 },
    code: "call_failed",
    reason: /answered 503/,
    paused: true,
    calls: 1,
  });
});

describe("call failures driven through the host API", () => {
  const body = completion("free text");
  const responseHeaders = {
    ":status": "200",
    "content-type": "application/json",
    "content-length": String(body.length),
    "x-orig": "1",
  };

  async function paused() {
    const host = await loadPlugin(lessonConfig());
    const s = host.stream({ routeName: "r" });
    s.requestHeaders(
      { ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw", "accept-encoding": "gzip" },
      false,
    )
      .requestBody(chatRequest("q"), true)
      .responseHeaders(responseHeaders)
      .responseBody(body, true);
    const calls = host.pendingCalls();
    assert.equal(calls.length, 1);
    assert.equal(s.complete, false, "the response is held while the call is out");
    assert.equal(s.status, undefined, "no header reached the client yet");
    return { host, s, call: calls[0] };
  }

  function original(s: HttpStream, host: ProxyWasmHost, reason: RegExp) {
    assert.equal(s.complete, true);
    assert.equal(s.status, 200);
    assert.deepEqual(s.headers, Object.entries(responseHeaders));
    assert.equal(s.bodyText, body);
    assert.equal(s.resumed, 1);
    const warns = s.logs.filter((l) => l.level >= 3);
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(warns[0].message, reason);
    s.done();
    assert.equal(host.liveContexts(), 0);
    assertNoKey(host.logs);
  }

  test("reset (zero headers)", async () => {
    const { host, s, call } = await paused();
    host.reset(call);
    original(s, host, /call_failed.*reset/);
  });

  test("timeout", async () => {
    const { host, s, call } = await paused();
    assert.equal(call.timeoutMs, 50000, "default timeout");
    host.timeout(call);
    original(s, host, /call_failed.*504/);
  });

  test("refused", async () => {
    const { host, s, call } = await paused();
    host.refuse(call);
    original(s, host, /call_failed.*503/);
  });

  test("the client goes away while the call is out: the late answer is dropped, nothing leaks", async () => {
    const { host, s, call } = await paused();
    s.done();
    assert.equal(host.liveContexts(), 0);
    host.answer(call, 200, { "content-type": "application/json" }, dsCompletion('{"output":"late"}'));
    assert.equal(host.failed, false);
    assert.equal(s.resumed, 0);
    assert.equal(host.pendingCalls().length, 0);
    assert.ok(!host.logs.some((l) => l.level >= 4), JSON.stringify(host.logs.filter((l) => l.level >= 4)));
    // The VM still serves the next stream.
    const s2 = host.stream();
    s2.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true)
      .responseHeaders(responseHeaders)
      .responseBody(body, true);
    host.answer(host.pendingCalls()[0], 200, {}, dsCompletion('{"output":"ok"}'));
    assert.equal(s2.bodyText, '{"output":"ok"}');
    assert.equal(s2.resumed, 1);
  });

  test("the key never appears in a log line, even at trace level", async () => {
    const host = await loadPlugin(lessonConfig({ timeout: 1000 }), { logLevel: 0 });
    for (const answer of [
      () =>
        host.answer(
          host.pendingCalls()[0],
          401,
          { "content-type": "application/json" },
          `{"error":{"message":"Authentication Fails, Your api key: ${KEY} is invalid","type":"authentication_error"}}`,
        ),
      () => host.answer(host.pendingCalls()[0], 200, {}, dsCompletion(`no json, but the key ${KEY}`)),
    ]) {
      const s = host.stream();
      s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true)
        .responseHeaders(responseHeaders)
        .responseBody(body, true);
      answer();
      while (host.pendingCalls().length) host.answer(host.pendingCalls()[0], 500, {}, "");
      assert.equal(s.bodyText, body);
      s.done();
    }
    assert.ok(host.logs.length > 3);
    assertNoKey(host.logs);
  });
});
