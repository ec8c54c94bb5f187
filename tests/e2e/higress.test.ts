// What the plugin does for Higress's production limits, as far as the project's
// host can show it: the stream properties it sets (set_encoder_buffer_limit,
// clear_route_cache), bodies over maxBodyBytes passed through byte for byte,
// the time budget across attempts (on a clock the test moves), the loop-guard
// marker, x-should-retry on 502s, usage copied as numbers only, a refused
// dispatch, and memory after abandoned calls. What Envoy 1.27 itself does with
// them (the buffer limit's 500, the idle timeout's 504, HTTP/2 frames, an
// unhealthy cluster, the route cache, trailers) is in envoy127.test.ts and
// higress-defaults.test.ts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { HttpStream, ProxyWasmHost } from "../../host/index.ts";
import type { HostOptions, Pairs } from "../../host/index.ts";
import {
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
  property,
  sseBody,
  startUpstream,
  withStack,
} from "../kit/stack.ts";

const MIB = 1024 * 1024;

/** One stream through request headers, response headers and the body in `chunks`. */
function respond(
  host: ProxyWasmHost,
  body: string | Uint8Array,
  opts: {
    chunk?: number;
    headers?: Record<string, string>;
    requestHeaders?: Record<string, string>;
    contentLength?: boolean;
  } = {},
): HttpStream {
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  const s = host.stream({ routeName: "chat" });
  s.requestHeaders(
    { ":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw", ...(opts.requestHeaders ?? {}) },
    true,
  );
  const headers: Record<string, string> = {
    ":status": "200",
    "content-type": "application/json",
    ...(opts.headers ?? {}),
  };
  if (opts.contentLength !== false) headers["content-length"] = String(bytes.length);
  s.responseHeaders(headers);
  const size = opts.chunk ?? bytes.length;
  if (bytes.length === 0) s.responseBody(new Uint8Array(0), true);
  for (let i = 0; i < bytes.length; i += size) s.responseBody(bytes.subarray(i, i + size), i + size >= bytes.length);
  return s;
}

/** A completion whose body is about `bytes` long. */
function bigCompletion(bytes: number, word = "lorem "): string {
  return completion(word.repeat(Math.ceil(bytes / word.length)));
}

describe("stream properties for Higress's Envoy", () => {
  test("request-header edits come with clear_route_cache off; a held response raises set_encoder_buffer_limit", async () => {
    const host = await loadPlugin(lessonConfig());
    const s = respond(host, completion("hello"));
    assert.equal(property(s, "clear_route_cache"), "off");
    assert.equal(property(s, "set_encoder_buffer_limit"), String(2 * 10 * MIB + MIB), "2 x maxBodyBytes + 1 MiB");
    assert.equal(
      s.request.headers.some(([k]) => k === "accept-encoding"),
      false,
    );
    host.answer(host.pendingCalls()[0], 200, {}, dsCompletion('{"output":"hello"}'));
    assert.equal(s.bodyText, '{"output":"hello"}');
    s.done();
  });

  test("the limit follows maxBodyBytes, and is set only for a response the plugin holds", async () => {
    const host = await loadPlugin(lessonConfig({ maxBodyBytes: 4096 }));
    const held = respond(host, completion("hello"));
    assert.equal(property(held, "set_encoder_buffer_limit"), String(2 * 4096 + MIB));
    host.answer(host.pendingCalls()[0], 200, {}, dsCompletion('{"output":"hello"}'));
    held.done();
    const passed = respond(host, "plain text", { headers: { "content-type": "text/plain" } });
    assert.equal(property(passed, "set_encoder_buffer_limit"), undefined);
    assert.equal(passed.bodyText, "plain text");
    passed.done();
    assert.equal(host.liveContexts(), 0);
  });

  test("a larger limit another plugin set on the stream is kept", async () => {
    const host = await loadPlugin(lessonConfig());
    const s = host.stream({ routeName: "chat", properties: { set_encoder_buffer_limit: "104857600" } });
    s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true)
      .responseHeaders({ ":status": "200", "content-type": "application/json" })
      .responseBody(completion("x"), true);
    assert.equal(property(s, "set_encoder_buffer_limit"), "104857600");
    host.answer(host.pendingCalls()[0], 200, {}, dsCompletion('{"output":"x"}'));
    s.done();
  });
});

describe("maxBodyBytes", () => {
  test("host: chunks before the end are held by the plugin (StopIterationNoBuffer), the body is whole at the end", async () => {
    const host = await loadPlugin(lessonConfig());
    const body = completion("in pieces");
    const s = host.stream({ routeName: "chat" });
    s.requestHeaders({ ":method": "POST", ":path": "/", ":authority": "gw" }, true).responseHeaders({
      ":status": "200",
      "content-type": "application/json",
    });
    for (let i = 0; i < body.length - 10; i += 10) {
      s.responseBody(body.slice(i, i + 10), false);
      assert.equal(s.lastAction, 3, "StopIterationNoBuffer");
    }
    const tail = body.length % 10 === 0 ? 10 : body.length % 10;
    s.responseBody(body.slice(body.length - tail), true);
    assert.equal(s.lastAction, 1, "StopIterationAndBuffer at the end: paused for the call");
    const [call] = host.pendingCalls();
    assert.equal(JSON.parse(call.bodyText).messages[1].content, "in pieces", "the whole content was read");
    host.answer(call, 200, {}, dsCompletion('{"output":"whole"}'));
    assert.equal(s.bodyText, '{"output":"whole"}');
    assert.equal(s.header("content-length"), String(s.body.length));
    s.done();
  });

  test("host: a failure finishing in the body callback gives the original bytes, not just the last chunk", async () => {
    const host = await loadPlugin(lessonConfig());
    const body = JSON.stringify({ choices: [{ message: { content: "" } }] }); // empty_content: no call
    const s = respond(host, body, { chunk: 7 });
    assert.equal(host.pendingCalls().length, 0);
    assert.equal(s.bodyText, body);
    assert.equal(s.resumed, 0);
    s.done();
  });

  test("gateway: content-length over maxBodyBytes: untouched from the headers on, no call", async () => {
    const body = bigCompletion(20000);
    const headers: Pairs = [
      ["content-type", "application/json"],
      ["date", "Mon, 01 Dec 2025 10:00:00 GMT"],
      ["content-length", String(Buffer.byteLength(body))],
    ];
    const up = await startUpstream({ headers, body, chunkSize: 4096 });
    try {
      await withStack(
        { maxBodyBytes: 16384 },
        async (stack) => {
          const r = await ask(stack, "big");
          assertOriginal(r, 200, headers, body);
          assert.equal(stack.ds.requests.length, 0);
          assert.equal(metric(stack.host, "passthrough.too_large"), 1);
          assert.ok(
            stack.logs.some((l) =>
              /response passes untouched: content-length \d+ over maxBodyBytes 16384/.test(l.message),
            ),
          );
          assert.equal(property(stack.streams[0], "set_encoder_buffer_limit"), undefined, "the response was not held");
        },
        { routes: [{ name: "raw", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
      );
    } finally {
      await up.close();
    }
  });

  test("gateway: a chunked body found over maxBodyBytes while collected passes byte for byte", async () => {
    const body = bigCompletion(50000);
    const headers: Pairs = [["content-type", "application/json"]];
    const up = await startUpstream({ headers, body, chunkSize: 3000 });
    try {
      await withStack(
        { maxBodyBytes: 16384 },
        async (stack) => {
          const r = await ask(stack, "big");
          assert.equal(r.error, undefined);
          assert.equal(r.status, 200);
          assert.ok(r.body.equals(Buffer.from(body)), "body bytes differ from the upstream's");
          assert.equal(r.headers["mode"], undefined);
          assert.equal(stack.ds.requests.length, 0);
          assert.equal(metric(stack.host, "passthrough.too_large"), 1);
          assert.ok(
            stack.logs.some((l) => /body over maxBodyBytes \(\d+ bytes seen, maxBodyBytes 16384\)/.test(l.message)),
          );
        },
        { routes: [{ name: "raw", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
      );
    } finally {
      await up.close();
    }
  });

  test("gateway: an SSE stream over maxBodyBytes passes byte for byte", async () => {
    const pieces = Array.from({ length: 400 }, (_, i) => `token ${i} `);
    const body = sseBody(pieces);
    assert.ok(Buffer.byteLength(body) > 16384);
    const headers: Pairs = [["content-type", "text/event-stream"]];
    const up = await startUpstream({ headers, body, chunkSize: 1000 });
    try {
      await withStack(
        { maxBodyBytes: 16384 },
        async (stack) => {
          const r = await ask(stack, "stream");
          assert.equal(r.error, undefined);
          assert.ok(r.body.equals(Buffer.from(body)), "stream bytes differ from the upstream's");
          assert.equal(stack.ds.requests.length, 0);
          assert.equal(metric(stack.host, "passthrough.too_large"), 1);
        },
        { routes: [{ name: "raw", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
      );
    } finally {
      await up.close();
    }
  });

  test("gateway: a body just under maxBodyBytes is still converted", async () => {
    const body = bigCompletion(15000);
    assert.ok(Buffer.byteLength(body) <= 16384);
    const up = await startUpstream({ headers: [["content-type", "application/json"]], body, chunkSize: 2000 });
    try {
      await withStack(
        { maxBodyBytes: 16384 },
        async (stack) => {
          const r = await ask(stack, "fits");
          assertConverted(r);
          assert.equal(stack.ds.requests.length, 1);
          assert.equal(metric(stack.host, "passthrough.too_large"), 0);
        },
        { routes: [{ name: "raw", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }] },
      );
    } finally {
      await up.close();
    }
  });

  test("host: a response announcing trailers is left alone", async () => {
    const host = await loadPlugin(lessonConfig());
    const s = respond(host, completion("x"), { headers: { trailer: "x-checksum" } });
    assert.equal(host.pendingCalls().length, 0);
    assert.equal(s.bodyText, completion("x"));
    assert.equal(metric(host, "passthrough.trailers"), 1);
    s.done();
  });
});

describe("totalTimeout: the time budget across attempts", () => {
  /** A host whose clock only moves when the test says so. */
  async function clocked(config: Record<string, unknown>, opts: HostOptions = {}) {
    let now = 1_700_000_000_000_000_000n;
    const host = await loadPlugin(lessonConfig(config), { now: () => now, ...opts });
    return { host, advance: (ms: number) => (now += BigInt(ms) * 1_000_000n) };
  }

  test("each attempt gets min(timeout, what is left); no attempt starts with less than a second left", async () => {
    const { host, advance } = await clocked({ maxRetries: 5 });
    const body = completion("budget");
    const s = respond(host, body);
    const timeouts: number[] = [];
    for (const spend of [50000, 50000, 19500]) {
      const [call] = host.pendingCalls();
      timeouts.push(call.timeoutMs);
      advance(spend);
      host.answer(call, 200, {}, dsCompletion("no JSON here"));
    }
    assert.deepEqual(timeouts, [50000, 50000, 20000]);
    assert.equal(host.pendingCalls().length, 0, "no fourth attempt with 500 ms left");
    assert.equal(s.resumed, 1);
    assert.equal(s.bodyText, body, "the original bytes");
    assert.ok(
      s.logs.some(
        (l) => l.level === 3 && /no time left for attempt 4: 119500 ms of totalTimeout 120000 ms spent/.test(l.message),
      ),
      s.logs.map((l) => l.message).join("\n"),
    );
    s.done();
  });

  test("a timeout above the budget is cut to it, and the configuration says so", async () => {
    const lines: string[] = [];
    const { host } = await clocked({ timeout: 600000 }, { onLog: (e) => lines.push(e.message) });
    assert.ok(
      lines.some((l) => /timeout: 600000 ms is not below totalTimeout \(120000 ms\)/.test(l)),
      lines.join("\n"),
    );
    const s = respond(host, completion("long"));
    assert.equal(host.pendingCalls()[0].timeoutMs, 120000);
    host.timeout(host.pendingCalls()[0]);
    assert.equal(s.resumed, 1);
    s.done();
  });

  test("a budget at Higress's idle timeout loads with a warning naming it", async () => {
    const lines: { level: number; message: string }[] = [];
    await loadPlugin(lessonConfig({ totalTimeout: 180000 }), { onLog: (e) => lines.push(e) });
    assert.ok(
      lines.some(
        (l) => l.level === 3 && /totalTimeout: 180000 ms is not below Higress's stream idle timeout/.test(l.message),
      ),
    );
  });
});

describe("the loop-guard marker", () => {
  async function markerOf(config: Record<string, unknown>): Promise<string> {
    const host = await loadPlugin(config);
    const s = respond(host, completion("m"));
    const [call] = host.pendingCalls();
    const marker = call.headers.find(([k]) => k === "x-ai-json-mode")?.[1] ?? "";
    host.answer(call, 200, {}, dsCompletion('{"output":"m"}'));
    s.done();
    return marker;
  }

  test("the same in every VM with the same configuration; another configuration, another marker", async () => {
    const a = await markerOf(lessonConfig());
    const b = await markerOf(lessonConfig());
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.equal(a, b, "two VMs (Envoy workers, gateway replicas) agree");
    assert.notEqual(await markerOf(lessonConfig({ apiKey: "sk-another-key" })), a);
    assert.notEqual(await markerOf(lessonConfig({ model: "deepseek-reasoner" })), a);
    assert.equal(a.includes(KEY), false);
  });

  test("host: a marked request is left alone, headers included; no property is set for it", async () => {
    const host = await loadPlugin(lessonConfig());
    const first = respond(host, completion("m"));
    const [call] = host.pendingCalls();
    const marker = call.headers.find(([k]) => k === "x-ai-json-mode")![1];
    host.answer(call, 200, {}, dsCompletion('{"output":"m"}'));
    first.done();
    const own = respond(host, completion("own"), {
      requestHeaders: { "x-ai-json-mode": marker, "accept-encoding": "gzip" },
    });
    assert.equal(host.pendingCalls().length, 0);
    assert.equal(own.bodyText, completion("own"));
    assert.deepEqual(own.request.headers.filter(([k]) => k === "x-ai-json-mode" || k === "accept-encoding").sort(), [
      ["accept-encoding", "gzip"],
      ["x-ai-json-mode", marker],
    ]);
    assert.equal(property(own, "clear_route_cache"), undefined);
    own.done();
  });
});

describe("x-should-retry on 502s (onFailure: error)", () => {
  const config = lessonConfig({ onFailure: "error", maxRetries: 0 });

  async function outcome(
    answer: (host: ProxyWasmHost) => void,
    body = completion("q"),
    extra: Record<string, unknown> = {},
    opts: HostOptions = {},
  ) {
    const host = await loadPlugin({ ...config, ...extra }, opts);
    const s = respond(host, body);
    answer(host);
    assert.equal(s.status, 502);
    assert.equal(s.header("content-length"), String(s.body.length), "content-length of the error body");
    const code = JSON.parse(s.bodyText).error.code;
    const retry = s.headers.filter(([k]) => k === "x-should-retry").map(([, v]) => v);
    s.done();
    return { code, retry };
  }

  test("final failures carry x-should-retry: false", async () => {
    assert.deepEqual(await outcome((h) => h.answer(h.pendingCalls()[0], 200, {}, dsCompletion("prose"))), {
      code: "invalid_json",
      retry: ["false"],
    });
    assert.deepEqual(await outcome((h) => h.answer(h.pendingCalls()[0], 200, {}, dsCompletion(""))), {
      code: "empty_content",
      retry: ["false"],
    });
    assert.deepEqual(await outcome((h) => h.answer(h.pendingCalls()[0], 200, {}, "<html>")), {
      code: "invalid_answer",
      retry: ["false"],
    });
    assert.deepEqual(
      await outcome((h) => h.answer(h.pendingCalls()[0], 401, {}, '{"error":{"type":"authentication_error"}}')),
      { code: "call_failed", retry: ["false"] },
    );
    assert.deepEqual(await outcome(() => {}, "not json"), { code: "upstream_not_json", retry: ["false"] });
    assert.deepEqual(await outcome(() => {}, JSON.stringify({ choices: [] })), {
      code: "no_content",
      retry: ["false"],
    });
    assert.deepEqual(
      await outcome((h) => h.answer(h.pendingCalls()[0], 200, {}, dsCompletion('{"other":1}')), completion("q"), {
        jsonSchema: { type: "object", required: ["output"] },
      }),
      { code: "schema_mismatch", retry: ["false"] },
    );
  });

  test("failures a retry may fix carry no x-should-retry", async () => {
    assert.deepEqual(await outcome((h) => h.timeout(h.pendingCalls()[0])), { code: "call_failed", retry: [] });
    assert.deepEqual(await outcome((h) => h.refuse(h.pendingCalls()[0])), { code: "call_failed", retry: [] });
    assert.deepEqual(await outcome((h) => h.reset(h.pendingCalls()[0])), { code: "call_failed", retry: [] });
    assert.deepEqual(await outcome((h) => h.answer(h.pendingCalls()[0], 429, {}, "{}")), {
      code: "call_failed",
      retry: [],
    });
    assert.deepEqual(await outcome((h) => h.answer(h.pendingCalls()[0], 500, {}, "{}")), {
      code: "call_failed",
      retry: [],
    });
    // Refused at dispatch: the cluster is unknown to the host.
    assert.deepEqual(await outcome(() => {}, completion("q"), { serviceFQDN: "unknown.dns" }), {
      code: "call_failed",
      retry: [],
    });
  });

  test("an upstream's own x-should-retry does not survive a retryable 502", async () => {
    const host = await loadPlugin(config);
    const s = respond(host, completion("q"), { headers: { "x-should-retry": "false" } });
    host.timeout(host.pendingCalls()[0]);
    assert.equal(s.status, 502);
    assert.equal(s.header("x-should-retry"), undefined);
    s.done();
  });

  test("passthrough never adds it", async () => {
    const host = await loadPlugin(lessonConfig({ maxRetries: 0 }));
    const s = respond(host, completion("q"));
    host.answer(host.pendingCalls()[0], 200, {}, dsCompletion("prose"));
    assert.equal(s.status, 200);
    assert.equal(s.header("x-should-retry"), undefined);
    s.done();
  });
});

describe("a refused dispatch", () => {
  test("one neutral warn line naming the cluster and the host's verdict; the original passes", async () => {
    const host = await loadPlugin(lessonConfig({ serviceFQDN: "unknown.dns" }));
    const body = completion("q");
    const s = respond(host, body);
    assert.equal(s.bodyText, body);
    const warns = s.logs.filter((l) => l.level >= 3).map((l) => l.message);
    assert.equal(warns.length, 1, warns.join("\n"));
    assert.match(
      warns[0],
      /call to outbound\|443\|\|unknown\.dns refused: BadArgument \(no cluster of that name: check serviceFQDN and servicePort\)/,
    );
    s.done();
  });
});

describe("usage in output: openai", () => {
  test("an upstream without usage gets the numeric fields of the answer's usage, nothing else", async () => {
    const host = await loadPlugin(lessonConfig({ output: "openai" }));
    const s = respond(
      host,
      JSON.stringify({ id: "c1", choices: [{ index: 0, message: { role: "assistant", content: "hi" } }] }),
    );
    const usage = {
      prompt_tokens: 30,
      completion_tokens: 12,
      total_tokens: 42,
      prompt_tokens_details: { cached_tokens: 0 },
      note: "internal",
    };
    host.answer(host.pendingCalls()[0], 200, {}, dsCompletion('{"output":"hi"}', usage));
    const out = JSON.parse(s.bodyText);
    assert.deepEqual(out.usage, { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 });
    assert.equal(out.choices[0].message.content, '{"output":"hi"}');
    s.done();
  });
});

describe("abandoned calls", () => {
  const body = bigCompletion(100 * 1024);

  async function pagesAfter(n: number, abandon: boolean): Promise<{ pages: number; host: ProxyWasmHost }> {
    const host = await loadPlugin(lessonConfig(), { logLevel: 3 });
    for (let i = 0; i < n; i++) {
      const s = respond(host, body, { chunk: 16384 });
      const [call] = host.pendingCalls().slice(-1);
      if (abandon) {
        s.done(); // the client went away while the call is out
      } else {
        host.answer(call, 200, {}, dsCompletion('{"output":"x"}'));
        s.done();
      }
    }
    return { pages: host.memoryPages(), host };
  }

  test("2000 abandoned 100 KB conversions leave memory no larger than 1000 completed ones; late answers are ignored", async () => {
    const done = await pagesAfter(1000, false);
    const left = await pagesAfter(2000, true);
    assert.ok(left.pages <= done.pages, `abandoned: ${left.pages} pages, completed: ${done.pages} pages`);
    const late = left.host.pendingCalls();
    assert.equal(late.length, 2000);
    for (const c of late) left.host.answer(c, 200, {}, dsCompletion('{"output":"late"}'));
    assert.equal(left.host.failed, false);
    assert.equal(left.host.liveContexts(), 0);
    assert.equal(left.host.pendingCalls().length, 0);
  });
});

describe("content-length", () => {
  test("every outcome's content-length matches its body (gateway)", async () => {
    await withStack({ onFailure: "error", maxRetries: 0 }, async (stack) => {
      assertConverted(await ask(stack, "ok"));
      stack.ds.set({ content: "prose" });
      const r = await ask(stack, "fail");
      assert.equal(r.status, 502);
      assertLength(r);
      assert.equal(r.headers["x-should-retry"], "false");
    });
  });
});
