// The plugin on Higress's Envoy 1.27, end to end (through the gateway where
// the gateway can show it, else through the host API): an HTTP/2 upstream
// whose last DATA frame carries both data and END_STREAM, the stream buffer
// limit the plugin raises, the stream idle timeout against the plugin's time
// budget, a cluster without a healthy endpoint (InternalFailure), the route
// cache the plugin's request-header edits would clear, and trailers.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Pairs, RouteMatch } from "../../host/index.ts";
import {
  DATE,
  DS_CLUSTER,
  assertConverted,
  assertLength,
  assertNoKey,
  assertNoLengthMismatch,
  assertOriginal,
  chatRequest,
  completion,
  dsCompletion,
  lessonConfig,
  loadPlugin,
  metric,
  property,
  responseFrames,
  send,
  sendH2,
  sseBody,
  startStack,
  startUpstream,
  until,
  type Stack,
  type StackOptions,
  type UpstreamReply,
} from "../kit/stack.ts";
import { buildModule } from "../kit/wat.ts";
import { loadHost } from "../../host/index.ts";

const MIB = 1024 * 1024;

/** The gateway on a scriptable upstream (HTTP/2 when `http2`); runs `fn`, then checks nothing is left behind. */
async function through(
  reply: UpstreamReply,
  opts: Partial<StackOptions> & { http2?: boolean },
  fn: (stack: Stack) => Promise<void>,
): Promise<void> {
  const up = await startUpstream(reply, { http2: opts.http2 });
  const stack = await startStack({
    config: lessonConfig(),
    logLevel: "info",
    ...opts,
    routes: [
      { name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: { url: up.url, http2: opts.http2 } },
    ],
  });
  try {
    await fn(stack);
    await until(() => stack.host.liveContexts() === 0, "no live stream", 5000);
    assertNoLengthMismatch(stack.logs);
    assertNoKey(stack.logs);
    assert.equal(stack.host.failed, false);
  } finally {
    await stack.close();
    await up.close();
  }
}

/** 8,192-byte DATA frames, the last one 670 bytes (it carries END_STREAM). */
function frames(body: string): Buffer[] {
  const b = Buffer.from(body);
  const head = b.subarray(0, b.length - 670);
  const out: Buffer[] = [];
  for (let i = 0; i < head.length; i += 8192) out.push(head.subarray(i, i + 8192));
  out.push(b.subarray(b.length - 670));
  return out;
}

/** The gateway handed the stream its last frame with data and END_STREAM together. */
function assertLastFrameCarriesEnd(stack: Stack): void {
  const f = responseFrames.get(stack.streams[0])!;
  assert.ok(f.length >= 3, `${f.length} frames`);
  assert.deepEqual(f[f.length - 1], { size: 670, end: true }, "the last DATA frame: 670 bytes and END_STREAM");
  assert.ok(
    f.slice(0, -1).every((x) => !x.end),
    "no earlier frame ends the stream",
  );
}

/** A ~20 KB completion whose content ends with a marker that lies in the last 670 bytes. */
const LAST_WORDS = "the end of the content, in the last DATA frame";
const CONTENT = "lorem ipsum dolor sit amet ".repeat(750) + LAST_WORDS;
const BODY = completion(CONTENT);
const HEADERS: Pairs = [
  ["content-type", "application/json"],
  DATE,
  ["content-length", String(Buffer.byteLength(BODY))],
];

describe("an HTTP/2 upstream whose last DATA frame carries data and END_STREAM", () => {
  test("converted: the body is exactly the conversion, nothing appended, content-length right", async () => {
    const answer = '{"answer": 42, "source": "all frames"}';
    await through(
      { headers: HEADERS, chunks: frames(BODY) },
      { http2: true, ds: { behavior: { content: answer } } },
      async (stack) => {
        const r = await send(stack.url(), { body: chatRequest("q") });
        const json = assertConverted(r);
        assert.equal(r.text, '{"answer":42,"source":"all frames"}', "the plugin's bytes and nothing after them");
        assert.deepEqual(json, { answer: 42, source: "all frames" });
        assert.equal(stack.ds.requests[0].json.messages[1].content, CONTENT, "DeepSeek got the last frame's words");
        assertLastFrameCarriesEnd(stack);
      },
    );
  });

  test("an SSE answer: converted, the last frame's events included", async () => {
    const pieces = Array.from({ length: 300 }, (_, i) => `w${i} `);
    const body = sseBody(pieces);
    await through(
      { headers: [["content-type", "text/event-stream"], DATE], chunks: frames(body) },
      { http2: true, ds: { behavior: { content: '{"n": 300}' } } },
      async (stack) => {
        const r = await send(stack.url(), { body: chatRequest("q") });
        assert.deepEqual(assertConverted(r), { n: 300 });
        assert.equal(stack.ds.requests[0].json.messages[1].content, pieces.join(""));
        assertLastFrameCarriesEnd(stack);
      },
    );
  });

  test("passthrough after the call failed: the original bytes exactly", async () => {
    await through(
      { headers: HEADERS, chunks: frames(BODY) },
      { http2: true, ds: { behavior: { status: 500 } } },
      async (stack) => {
        const r = await send(stack.url(), { body: chatRequest("q") });
        assertOriginal(r, 200, HEADERS, BODY);
        assert.equal(stack.streams[0].resumed, 1);
        assertLastFrameCarriesEnd(stack);
      },
    );
  });

  test("passthrough decided in the last body callback (no call): the original bytes exactly", async () => {
    const body = completion("", { padding: "x".repeat(20000) }); // empty content: nothing to convert
    const headers: Pairs = [["content-type", "application/json"], DATE];
    await through({ headers, chunks: frames(body) }, { http2: true }, async (stack) => {
      const r = await send(stack.url(), { body: chatRequest("q") });
      assertOriginal(r, 200, headers, body);
      assert.equal(stack.ds.requests.length, 0);
      assert.equal(stack.streams[0].resumed, 0);
      assertLastFrameCarriesEnd(stack);
    });
  });

  for (const [name, reply, ds, code] of [
    ["after the call failed", { headers: HEADERS, chunks: frames(BODY) }, { status: 500 }, "call_failed"],
    [
      "decided in the last body callback",
      {
        headers: [["content-type", "application/json"], DATE],
        chunks: frames("<html>" + "x".repeat(20000) + "</html>"),
      },
      {},
      "upstream_not_json",
    ],
  ] as [string, UpstreamReply, Record<string, unknown>, string][]) {
    test(`onFailure: error, ${name}: a 502 whose body is exactly the error, content-length right`, async () => {
      await through(
        reply,
        { http2: true, config: lessonConfig({ onFailure: "error" }), ds: { behavior: ds } },
        async (stack) => {
          const r = await send(stack.url(), { body: chatRequest("q") });
          assertLength(r);
          assert.equal(r.status, 502);
          const json = JSON.parse(r.text);
          assert.equal(json.error.code, code);
          assert.equal(r.text, JSON.stringify(json), "the error body and nothing after it");
          assertLastFrameCarriesEnd(stack);
        },
      );
    });
  }
});

describe("the stream buffer limit (32 KiB for HTTP/1 clients, 65535 bytes for HTTP/2 clients)", () => {
  const big = "Large answers cross the buffer limit many times over. ".repeat(Math.ceil((2 * MIB) / 54));

  for (const client of ["HTTP/1.1", "HTTP/2"] as const) {
    test(`${client} client: a 2 MiB completion in 16 KiB chunks and a 2 MiB conversion, no 500`, async () => {
      const body = completion(big);
      const headers: Pairs = [["content-type", "application/json"], DATE];
      await through(
        { headers, body, chunkSize: 16384 },
        { ds: { behavior: { content: JSON.stringify({ output: big }) } } },
        async (stack) => {
          const ask = client === "HTTP/2" ? sendH2 : send;
          const r = await ask(stack.url(), { body: chatRequest("q"), timeoutMs: 30000 });
          const json = assertConverted(r);
          assert.ok(json.output === big, "the 2 MiB output came back whole");
          const s = stack.streams[0];
          assert.equal(s.protocol, client);
          assert.equal(
            s.bufferLimit,
            2 * 10 * MIB + MIB,
            "raised from the client's default to 2 x maxBodyBytes + 1 MiB",
          );
          assert.equal(property(s, "set_encoder_buffer_limit"), String(2 * 10 * MIB + MIB));
        },
      );
    });
  }

  test("an output over the raised limit falls back to the original (or the 502), never Envoy's 500", async () => {
    // maxBodyBytes 16384: the limit becomes 2 x 16384 + 1 MiB = 1,081,344 bytes. The answer (about 1,075,300
    // bytes) fits and is read; with output: openai the conversion keeps the completion's 15,000 bytes of
    // padding beside the content, so the body the plugin would write (about 1,090,300 bytes) does not.
    const output = JSON.stringify({ output: "y".repeat(1_075_000) });
    const body = completion("a small question with a large answer", { padding: "p".repeat(15_000) });
    const headers: Pairs = [["content-type", "application/json"], DATE];
    for (const onFailure of ["passthrough", "error"]) {
      await through(
        { headers, body },
        {
          config: lessonConfig({ maxBodyBytes: 16384, onFailure, output: "openai" }),
          ds: { behavior: { content: output } },
        },
        async (stack) => {
          const r = await send(stack.url(), { body: chatRequest("q") });
          const s = stack.streams[0];
          assert.equal(s.bufferLimit, 2 * 16384 + MIB);
          if (onFailure === "passthrough") assertOriginal(r, 200, headers, body);
          else {
            assertLength(r);
            assert.equal(r.status, 502);
            assert.equal(JSON.parse(r.text).error.code, "internal");
          }
          const warns = s.logs.filter((l) => l.level >= 3).map((l) => l.message);
          assert.equal(warns.length, 1, warns.join("\n"));
          // output: openai is written in 64 KiB pieces: Envoy refuses the piece that passes the limit.
          assert.match(
            warns[0],
            onFailure === "passthrough" ? /: passthrough \(internal\): / : /: answered 502 internal: /,
          );
          assert.match(warns[0], /the converted body was refused after \d+ bytes: over the stream's buffer limit/);
        },
      );
    }
  });

  test("an answer over the raised limit is not read: invalid_answer with its size, the original (or the 502)", async () => {
    // The answer itself (about 1.2 MB) is larger than 1,081,344 bytes: it could never become the output.
    const output = JSON.stringify({ output: "y".repeat(1_200_000) });
    const body = completion("a small question with a large answer");
    const headers: Pairs = [["content-type", "application/json"], DATE];
    for (const onFailure of ["passthrough", "error"]) {
      await through(
        { headers, body },
        { config: lessonConfig({ maxBodyBytes: 16384, onFailure }), ds: { behavior: { content: output } } },
        async (stack) => {
          const r = await send(stack.url(), { body: chatRequest("q") });
          const s = stack.streams[0];
          if (onFailure === "passthrough") assertOriginal(r, 200, headers, body);
          else {
            assertLength(r);
            assert.equal(r.status, 502);
            assert.equal(JSON.parse(r.text).error.code, "invalid_answer");
          }
          const warns = s.logs.filter((l) => l.level >= 3).map((l) => l.message);
          assert.equal(warns.length, 1, warns.join("\n"));
          assert.match(warns[0], /answer of \d+ bytes not read: over 1081344 bytes \(the stream's buffer limit\)/);
        },
      );
    }
  });

  test("a larger limit someone else set on the stream is kept (host API: another filter's limit)", async () => {
    const output = JSON.stringify({ output: "y".repeat(1_200_000) });
    const run = async (other: boolean) => {
      // Another filter raised the stream's limit to 100 MiB (Higress stores the property and applies it).
      const host = await loadPlugin(
        lessonConfig({ maxBodyBytes: 16384 }),
        other ? { bufferLimitBytes: 100 * MIB } : {},
      );
      const s = host.stream({
        routeName: "chat",
        properties: other ? { set_encoder_buffer_limit: String(100 * MIB) } : {},
      });
      s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true)
        .responseHeaders({ ":status": "200", "content-type": "application/json" })
        .responseBody(completion("q"), true);
      host.answer(host.pendingCalls()[0], 200, {}, dsCompletion(output));
      const result = { limit: s.bufferLimit, property: property(s, "set_encoder_buffer_limit"), body: s.bodyText };
      s.done();
      return result;
    };
    const kept = await run(true);
    assert.equal(kept.limit, 100 * MIB, "not lowered to the plugin's 1,081,344");
    assert.equal(kept.property, String(100 * MIB));
    assert.equal(
      kept.body,
      '{"output":"' + "y".repeat(1_200_000) + '"}',
      "the 1.2 MB conversion fits the other's limit",
    );
    const own = await run(false);
    assert.equal(own.limit, 2 * 16384 + MIB);
    assert.equal(own.body, completion("q"), "alone, the plugin's own limit refuses it: the original");
  });
});

describe("the stream idle timeout (180 s in Higress; small here)", () => {
  const body = completion("a question DeepSeek never answers in time");
  const headers: Pairs = [["content-type", "application/json"], DATE];

  test("the default budget's proportion (totalTimeout 120 s of 180 s): the response resumes before the idle timeout", async () => {
    // totalTimeout 2000 ms against an idle timeout of 3000 ms; DeepSeek takes 10 s.
    await through(
      { headers, body },
      {
        config: lessonConfig({ totalTimeout: 2000 }),
        ds: { behavior: { latencyMs: 10000 } },
        envoy: { streamIdleTimeoutMs: 3000 },
      },
      async (stack) => {
        const started = performance.now();
        const r = await send(stack.url(), { body: chatRequest("q") });
        const ms = performance.now() - started;
        assertOriginal(r, 200, headers, body);
        assert.ok(
          ms >= 1900 && ms < 3000,
          `resumed after ${ms.toFixed(0)} ms: the call's 2000 ms, before the 3000 ms idle timeout`,
        );
        assert.equal(stack.streams[0].resumed, 1);
        assert.ok(!stack.logs.some((l) => /stream idle timeout/.test(l.message)));
        const warns = stack.streams[0].logs.filter((l) => l.level >= 3).map((l) => l.message);
        assert.equal(warns.length, 1, warns.join("\n"));
        assert.match(warns[0], /passthrough \(call_failed\)/);
      },
    );
  });

  test("a totalTimeout past the idle timeout ends in Envoy's 504, and the configuration load warned", async () => {
    // The plugin knows Higress's 180 s; the gateway here times out after 1500 ms. DeepSeek answers after 2500 ms.
    await through(
      { headers, body },
      {
        config: lessonConfig({ totalTimeout: 200000, timeout: 200000 }),
        ds: { behavior: { latencyMs: 2500 } },
        envoy: { streamIdleTimeoutMs: 1500 },
      },
      async (stack) => {
        const warned = stack.logs.filter(
          (l) =>
            l.source === "plugin" &&
            l.level === 3 &&
            /totalTimeout: 200000 ms is not below Higress's stream idle timeout/.test(l.message),
        );
        assert.equal(warned.length, 1, "one warning at configuration load");
        const started = performance.now();
        const r = await send(stack.url(), { body: chatRequest("q") });
        const ms = performance.now() - started;
        assertLength(r);
        assert.equal(r.status, 504);
        assert.equal(r.text, "stream timeout");
        assert.ok(ms >= 1400 && ms < 2500, `504 after ${ms.toFixed(0)} ms`);
        assert.equal(stack.host.pendingCalls().length, 1, "the call is still out");
        // DeepSeek's late answer reaches a stream that is gone: dropped, no trap, nothing left.
        await until(() => stack.host.pendingCalls().length === 0, "the late answer", 5000);
        assert.equal(stack.host.failed, false);
        assert.equal(stack.ds.requests.length, 1);
        assert.equal(metric(stack.host, "converted"), 0);
      },
    );
  });
});

describe("a cluster without a healthy endpoint (InternalFailure at dispatch)", () => {
  const body = completion("q");
  const headers: Pairs = [["content-type", "application/json"], DATE];
  const sick = { [DS_CLUSTER]: { url: "http://127.0.0.1:9", healthy: false } };

  for (const onFailure of ["passthrough", "error"]) {
    test(`onFailure: ${onFailure}: one neutral warn line naming the cluster; ${onFailure === "error" ? "a retryable 502" : "the original bytes"}`, async () => {
      await through({ headers, body }, { config: lessonConfig({ onFailure }), clusters: sick }, async (stack) => {
        const r = await send(stack.url(), { body: chatRequest("q") });
        if (onFailure === "passthrough") assertOriginal(r, 200, headers, body);
        else {
          assertLength(r);
          assert.equal(r.status, 502);
          assert.equal(JSON.parse(r.text).error.code, "call_failed");
          assert.equal(r.headers["x-should-retry"], undefined, "a retry may find a healthy endpoint");
        }
        const s = stack.streams[0];
        assert.equal(s.resumed, 0, "never paused: the refusal came at once");
        const lines = s.logs.filter((l) => l.level >= 3);
        assert.equal(lines.length, 1, lines.map((l) => l.message).join("\n"));
        assert.equal(lines[0].levelName, "warn");
        assert.match(
          lines[0].message,
          /call to outbound\|443\|\|deepseek\.dns refused: InternalFailure \(no healthy endpoint yet\?\)$/,
        );
        assert.equal(metric(stack.host, "failed.call_failed"), 1);
      });
    });
  }
});

describe("clear_route_cache: the plugin's request-header edits keep the request on its route", () => {
  // A route table matching on headers (Envoy routes can): a request with accept-encoding or
  // x-ai-json-mode goes to json-route, any other to plain-route. A cleared route cache would
  // make the router match again after the plugin removed them, and pick plain-route.
  const table = (h: Pairs): RouteMatch =>
    h.some(([k]) => k === "accept-encoding" || k === "x-ai-json-mode")
      ? { routeName: "json-route", clusterName: "outbound|443||qwen.dns" }
      : { routeName: "plain-route", clusterName: "outbound|80||plain.dns" };
  const request = (extra: Record<string, string>) => ({
    ":method": "POST",
    ":path": "/v1/chat/completions",
    ":authority": "gw",
    ...extra,
  });

  test("the route table re-routes a request whose headers were edited with the cache cleared (a module that does not turn clearing off)", async () => {
    const wasm = await buildModule({
      strings: { ae: "accept-encoding" },
      body: `
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (drop (call $proxy_remove_header_map_value (i32.const 0) @ae))
          (i32.const 0))
      `,
    });
    const host = await loadHost(wasm);
    const s = host.stream({ routeName: "json-route", route: table });
    s.requestHeaders(request({ "accept-encoding": "gzip" }), true);
    assert.equal(s.routeCacheCleared, true);
    assert.equal(s.routeName, "plain-route", "matched again without accept-encoding");
  });

  for (const [name, extra] of [
    ["accept-encoding removed", { "accept-encoding": "gzip, br" }],
    ["a forged x-ai-json-mode removed", { "x-ai-json-mode": "1" }],
    ["both removed", { "accept-encoding": "gzip", "x-ai-json-mode": "forged" }],
  ] as [string, Record<string, string>][]) {
    test(`${name}: the request goes upstream without them, on json-route`, async () => {
      const host = await loadPlugin(lessonConfig());
      const s = host.stream({ routeName: "json-route", clusterName: "outbound|443||qwen.dns", route: table });
      s.requestHeaders(request(extra), false).requestBody(chatRequest("q"), true);
      assert.deepEqual(
        s.request.headers.filter(([k]) => k === "accept-encoding" || k === "x-ai-json-mode"),
        [],
        "removed before the request went upstream",
      );
      assert.equal(property(s, "clear_route_cache"), "off");
      assert.equal(s.routeCacheCleared, false);
      assert.equal(s.routeName, "json-route");
      assert.equal(s.clusterName, "outbound|443||qwen.dns");
      s.responseHeaders({ ":status": "200", "content-type": "application/json" }).responseBody(completion("q"), true);
      host.answer(host.pendingCalls()[0], 200, {}, dsCompletion('{"ok":true}'));
      assert.equal(s.bodyText, '{"ok":true}', "and the response is still the plugin's to convert");
      s.done();
      assert.equal(host.liveContexts(), 0);
    });
  }
});

describe("trailers (an HTTP/2 upstream's trailing HEADERS end the response instead of a DATA frame)", () => {
  const headers: Pairs = [["content-type", "application/json"], DATE];
  /** Announced: a trailer header; the body has a content-length. */
  const announced: Pairs = [...headers, ["trailer", "x-checksum"], ["content-length", String(Buffer.byteLength(BODY))]];
  const announcedReply: UpstreamReply = {
    headers: announced,
    chunks: frames(BODY),
    trailers: [["x-checksum", "c0ffee"]],
  };

  test("announced (a trailer header): the response passes untouched, trailers included (HTTP/2 client); no call", async () => {
    await through(announcedReply, { http2: true }, async (stack) => {
      const r = await sendH2(stack.url(), { body: chatRequest("q") });
      assertOriginal(r, 200, announced, BODY);
      assert.deepEqual(r.trailers, { "x-checksum": "c0ffee" });
      assert.equal(stack.ds.requests.length, 0);
      assert.equal(metric(stack.host, "passthrough.trailers"), 1);
      assert.deepEqual(stack.streams[0].trailers, [["x-checksum", "c0ffee"]]);
    });
  });

  test("announced, HTTP/1.1 client: the original bytes (Envoy's HTTP/1 codec drops the trailers)", async () => {
    await through(announcedReply, { http2: true }, async (stack) => {
      const r = await send(stack.url(), { body: chatRequest("q") });
      assert.equal(r.error, undefined);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(Buffer.from(BODY)), "the original bytes");
      assert.equal(r.headers["mode"], undefined);
      assert.equal(stack.ds.requests.length, 0);
    });
  });

  test("unannounced: as the README says, the collected body is lost: the client gets the headers and the trailers, no body, no call", async () => {
    // The body callbacks never see the end of the stream, so the plugin keeps collecting (StopIterationNoBuffer:
    // Envoy holds nothing); the trailers end the stream and Envoy sends what the filter held: headers, trailers.
    await through(
      { headers, chunks: frames(BODY), trailers: [["x-checksum", "c0ffee"]] },
      { http2: true },
      async (stack) => {
        const r = await sendH2(stack.url(), { body: chatRequest("q") });
        assert.equal(r.error, undefined);
        assert.equal(r.status, 200);
        assert.equal(r.body.length, 0, "the body the plugin collected never reaches the client");
        assert.deepEqual(r.trailers, { "x-checksum": "c0ffee" });
        assert.equal(stack.ds.requests.length, 0, "no end of stream: nothing converted");
        assert.equal(metric(stack.host, "passthrough.trailers"), 0);
        const f = responseFrames.get(stack.streams[0])!;
        assert.ok(
          f.every((x) => !x.end),
          "no body callback saw the end of the stream",
        );
      },
    );
  });
});
