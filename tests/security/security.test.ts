// Security properties of the compiled plugin (build/plugin.wasm):
//   1. the API key appears in no log line at any level (log level trace), on
//      success and on every failure path, in the host and through the gateway;
//   2. no client-supplied header changes the JSON-mode call's target
//      (cluster, :path, :authority), timeout or key;
//   3. the client's `authorization` header is never forwarded to DeepSeek.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  loadHost,
  startGateway,
  startChatMock,
  startJsonModeMock,
  type HttpCall,
  type HttpStream,
  type LogEntry,
  type ProxyWasmHost,
  type Gateway,
  type MockServer,
} from "../../host/index.ts";
import { WASM } from "../kit/wasm.ts";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const COMPLETION = fixture("qwen-chat-completion.json");
const STREAM = fixture("qwen-chat-stream.sse");
const ANSWER = fixture("deepseek-json-object.json");

const KEY = "sk-sec-3f9a1c7e5b2d48a6b0c4e8f1a2d3c4b5";
const RULE_KEY = "sk-rule-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
const CLIENT_KEY = "sk-client-aaaabbbbccccddddeeeeffff00001111";

/** Pieces of a key that must not show up either (a log that masks all but a few characters is fine). */
function leaks(text: string, key: string): boolean {
  const body = key.replace(/^sk-/, "");
  return (
    text.includes(key) || text.includes(body) || text.includes(body.slice(0, 16)) || text.includes(body.slice(-16))
  );
}

function assertNoKey(lines: { message: string; levelName?: string; source?: string }[], key = KEY, what = "log"): void {
  for (const l of lines)
    assert.ok(
      !leaks(l.message, key),
      `the API key is in a ${l.levelName ?? ""} ${l.source ?? ""} ${what} line: ${l.message}`,
    );
}

const BASE = {
  url: "https://api.deepseek.com/v1/chat/completions",
  model: "deepseek-chat",
  apiKey: KEY,
  serviceFQDN: "deepseek.dns",
  servicePort: 443,
  timeout: 5000,
};

async function newHost(config: object = BASE): Promise<ProxyWasmHost> {
  const host = await loadHost(WASM, {
    pluginName: "ai-json-mode",
    logLevel: 0,
    clusters: (n) => n !== "outbound|443||unregistered.dns",
  });
  assert.equal(host.configure(config), true, "config accepted");
  return host;
}

/** A response through the response phase up to the call (or passthrough). */
function respond(
  host: ProxyWasmHost,
  opts: {
    requestHeaders?: Record<string, string>;
    routeName?: string;
    body?: Uint8Array | string;
    contentType?: string;
    status?: string;
  } = {},
): HttpStream {
  const body = opts.body ?? COMPLETION;
  const s = host.stream({ routeName: opts.routeName ?? "json-route" });
  s.requestHeaders(
    {
      ":method": "POST",
      ":path": "/v1/chat/completions",
      ":authority": "gw.example.com",
      ":scheme": "http",
      ...(opts.requestHeaders ?? {}),
    },
    false,
  );
  s.requestBody('{"model":"qwen-max","messages":[{"role":"user","content":"hi"}]}', true);
  s.responseHeaders({ ":status": opts.status ?? "200", "content-type": opts.contentType ?? "application/json" });
  s.responseBody(body, true);
  return s;
}

function onlyCall(host: ProxyWasmHost): HttpCall {
  const calls = host.pendingCalls();
  assert.equal(calls.length, 1, "one JSON-mode call pending");
  return calls[0];
}

const trace = (host: ProxyWasmHost): LogEntry[] => host.logs;

describe("the API key is never logged (log level trace)", () => {
  test("the host logs at trace level (the check would see debug lines)", async () => {
    const host = await newHost();
    const s = respond(host);
    host.answer(onlyCall(host), 200, { "content-type": "application/json" }, ANSWER);
    s.done();
    assert.ok(
      host.logs.some((l) => l.level <= 1),
      "debug lines are recorded",
    );
    assertNoKey(trace(host));
  });

  // Every way a conversion can end, with the call's answer (or none).
  const paths: [string, (host: ProxyWasmHost, call: HttpCall) => void, object?][] = [
    ["success", (h, c) => h.answer(c, 200, {}, ANSWER)],
    ["401 (DeepSeek's body)", (h, c) => h.answer(c, 401, {}, fixture("deepseek-error-401.json"))],
    [
      "401 echoing the key in error.message",
      (h, c) =>
        h.answer(
          c,
          401,
          {},
          JSON.stringify({
            error: {
              message: `Authentication Fails, Your api key: ${KEY} is invalid`,
              type: "authentication_error",
              code: "invalid_request_error",
            },
          }),
        ),
    ],
    [
      "401 echoing the key in error.type",
      (h, c) =>
        h.answer(
          c,
          401,
          {},
          JSON.stringify({ error: { message: "bad key", type: `invalid key ${KEY}`, code: "invalid_request_error" } }),
        ),
    ],
    [
      "401 echoing the key in error.code",
      (h, c) =>
        h.answer(c, 401, {}, JSON.stringify({ error: { message: "x", type: "authentication_error", code: KEY } })),
    ],
    [
      "403 with the key in an HTML body",
      (h, c) => h.answer(c, 403, { "content-type": "text/html" }, `<html>${KEY}</html>`),
    ],
    ["429", (h, c) => h.answer(c, 429, {}, fixture("deepseek-error-429.json"))],
    ["500", (h, c) => h.answer(c, 500, {}, '{"error":{"message":"x","type":"server_error"}}')],
    ["503 refused", (h, c) => h.refuse(c)],
    ["504 timeout", (h, c) => h.timeout(c)],
    ["reset", (h, c) => h.reset(c)],
    ["200 not JSON, echoing the key", (h, c) => h.answer(c, 200, {}, `oops ${KEY}`)],
    [
      "200 error object echoing the key",
      (h, c) => h.answer(c, 200, {}, JSON.stringify({ error: { message: KEY, type: KEY } })),
    ],
    ["200 empty content (retries)", (h, c) => h.answer(c, 200, {}, fixture("deepseek-empty-content.json"))],
    ["200 truncated answer (retries)", (h, c) => h.answer(c, 200, {}, fixture("deepseek-truncated.json"))],
    [
      "200 content echoing the key, not JSON (retries)",
      (h, c) => h.answer(c, 200, {}, JSON.stringify({ choices: [{ message: { content: `your key is ${KEY}` } }] })),
    ],
    [
      "schema mismatch quoting the key (retries)",
      (h, c) =>
        h.answer(c, 200, {}, JSON.stringify({ choices: [{ message: { content: JSON.stringify({ output: KEY }) } }] })),
      { jsonSchema: { type: "object", properties: { output: { type: "integer" } } } },
    ],
    [
      "onFailure error, 401 echoing the key",
      (h, c) => h.answer(c, 401, {}, JSON.stringify({ error: { message: KEY, type: "authentication_error" } })),
      { onFailure: "error" },
    ],
  ];
  for (const [name, finish, extra] of paths) {
    test(`call answered: ${name}`, async () => {
      const host = await newHost({ ...BASE, maxRetries: 2, ...(extra ?? {}) });
      const s = respond(host);
      let guard = 0;
      while (host.pendingCalls().length && guard++ < 10) finish(host, host.pendingCalls()[0]);
      assert.equal(s.complete, true, "the response completed");
      assert.equal(s.resumed, 1);
      s.done();
      assert.equal(host.failed, false);
      assertNoKey(trace(host));
      // The client's response must not carry the key either (onFailure: error puts the reason in the body).
      assert.ok(!leaks(s.bodyText, KEY), `the key reached the client: ${s.bodyText}`);
      assert.ok(!s.headers.some(([, v]) => leaks(v, KEY)), "the key is in a response header");
    });
  }

  const upstreamFailures: [string, Parameters<typeof respond>[1]][] = [
    ["upstream not JSON", { body: "<html>oops</html>" }],
    ["upstream empty content", { body: JSON.stringify({ choices: [{ message: { content: "" } }] }) }],
    ["upstream without choices", { body: "{}" }],
    ["upstream 500", { status: "500", body: fixture("upstream-error-500.json") }],
    [
      "upstream SSE with an error event",
      { contentType: "text/event-stream", body: 'data: {"error":{"message":"x"}}\n\n' },
    ],
    ["upstream SSE", { contentType: "text/event-stream", body: STREAM }],
  ];
  for (const [name, opts] of upstreamFailures) {
    test(`${name}`, async () => {
      for (const extra of [{}, { onFailure: "error" }]) {
        const host = await newHost({ ...BASE, ...extra });
        const s = respond(host, opts);
        for (const c of host.pendingCalls()) host.answer(c, 200, {}, ANSWER);
        s.done();
        assertNoKey(trace(host));
        assert.ok(!leaks(s.bodyText, KEY));
      }
    });
  }

  test("the call refused by the host (unknown cluster)", async () => {
    const host = await newHost({ ...BASE, serviceFQDN: "unregistered.dns" });
    const s = respond(host);
    assert.equal(host.pendingCalls().length, 0);
    assert.equal(s.complete, true);
    s.done();
    assert.ok(
      host.logs.some((l) => l.level === 3),
      "a warn line says why",
    );
    assertNoKey(trace(host));
  });

  test("config errors and warnings never quote the key", async () => {
    const host = await loadHost(WASM, { pluginName: "ai-json-mode", logLevel: 0 });
    const bad: object[] = [
      { ...BASE, url: "ftp://x" },
      { ...BASE, model: 5 },
      { ...BASE, timeout: -1 },
      { ...BASE, servicePort: 70000 },
      { ...BASE, jsonSchema: { type: "object", pattern: "x" } },
      { ...BASE, systemPrompt: "" },
      { ...BASE, apiKey: `${KEY}\u0000` },
      { ...BASE, unknownField: 1 },
      { ...BASE, _rules_: [{ _match_route_: ["r"], apiKey: RULE_KEY, model: 7 }] },
      { ...BASE, _rules_: [{ _match_route_: ["r"], apiKey: RULE_KEY, timeout: "x" }] },
      { ...BASE, _rules_: [{ apiKey: RULE_KEY }] },
      { ...BASE, _rules_: [{ _match_route_: ["r"], _match_domain_: ["d"], apiKey: RULE_KEY }] },
      { ...BASE, _rules_: [{ _match_route_: ["r"], apiKey: RULE_KEY, extra: true }] },
    ];
    for (const c of bad) host.configure(c);
    host.configure(JSON.stringify(BASE).slice(0, -10)); // broken JSON with the key in it
    host.configure(JSON.stringify(BASE).replace(KEY, `${KEY}\\x`)); // a bad escape right after the key
    assert.equal(host.failed, false);
    assert.ok(
      host.logs.some((l) => l.level >= 3),
      "rejections are logged",
    );
    assertNoKey(trace(host));
    assertNoKey(trace(host), RULE_KEY);
  });
});

describe("no client header changes the call's target, timeout or key", () => {
  const hostile: Record<string, string>[] = [
    { authorization: `Bearer ${CLIENT_KEY}` },
    { authorization: `Bearer ${CLIENT_KEY}`, "proxy-authorization": `Bearer ${CLIENT_KEY}` },
    { host: "evil.example.com" },
    { ":authority": "evil.example.com" },
    {
      "x-forwarded-host": "evil.example.com",
      "x-original-host": "evil.example.com",
      forwarded: "host=evil.example.com",
    },
    { "x-envoy-original-path": "/evil", "x-original-uri": "/evil", "x-rewrite-url": "/evil" },
    { "x-envoy-upstream-rq-timeout-ms": "1", "x-envoy-max-retries": "9" },
    { "x-higress-cluster": "outbound|80||evil.dns", "x-envoy-cluster": "outbound|80||evil.dns", cluster: "evil" },
    { "x-api-key": CLIENT_KEY, "api-key": CLIENT_KEY, "x-deepseek-api-key": CLIENT_KEY },
    { "x-ai-json-mode-url": "http://evil/", "x-ai-json-mode-model": "evil", "x-ai-json-mode-key": CLIENT_KEY },
    { ":path": "/evil?x=1", ":method": "GET" },
    { "content-type": "text/plain", "accept-encoding": "gzip" },
  ];

  function target(call: HttpCall) {
    const h = (k: string) => call.headers.filter(([n]) => n === k).map(([, v]) => v);
    const body = JSON.parse(call.bodyText);
    return {
      cluster: call.cluster,
      path: call.path,
      authority: call.authority,
      method: call.method,
      timeout: call.timeoutMs,
      authorization: h("authorization"),
      model: body.model,
      headerNames: call.headers.map(([k]) => k).sort(),
    };
  }

  test("host: every hostile header set gives the same call as a plain request", async () => {
    const host = await newHost();
    const plain = respond(host);
    const baseline = target(onlyCall(host));
    host.answer(onlyCall(host), 200, {}, ANSWER);
    plain.done();
    assert.deepEqual(baseline.authorization, [`Bearer ${KEY}`]);
    assert.equal(baseline.cluster, "outbound|443||deepseek.dns");
    assert.equal(baseline.path, "/v1/chat/completions");
    assert.equal(baseline.authority, "api.deepseek.com");
    assert.equal(baseline.timeout, 5000);
    for (const headers of hostile) {
      const s = respond(host, { requestHeaders: headers });
      const call = onlyCall(host);
      assert.deepEqual(target(call), baseline, `headers ${JSON.stringify(headers)}`);
      assert.ok(!call.headers.some(([, v]) => v.includes(CLIENT_KEY)), "no client key in the call's headers");
      assert.ok(!call.bodyText.includes(CLIENT_KEY), "no client key in the call's body");
      host.answer(call, 200, {}, ANSWER);
      assert.equal(s.resumed, 1);
      s.done();
    }
    assert.equal(host.liveContexts(), 0);
  });

  test("host: per-route rules are chosen by the route, not by client headers", async () => {
    const host = await newHost({
      ...BASE,
      _rules_: [{ _match_route_: ["team-a"], apiKey: RULE_KEY, serviceFQDN: "team-a.dns" }],
    });
    for (const headers of hostile) {
      for (const [route, key, cluster] of [
        ["team-a", RULE_KEY, "outbound|443||team-a.dns"],
        ["json-route", KEY, "outbound|443||deepseek.dns"],
      ]) {
        const s = respond(host, {
          routeName: route,
          requestHeaders: { ...headers, "x-route-name": "team-a", "x-higress-route": "team-a" },
        });
        const call = onlyCall(host);
        assert.deepEqual(
          call.headers.filter(([k]) => k === "authorization"),
          [["authorization", `Bearer ${key}`]],
        );
        assert.equal(call.cluster, cluster);
        host.answer(call, 200, {}, ANSWER);
        s.done();
      }
    }
  });

  test("host: with _match_domain_ rules the Host header only selects among the configured rules", async () => {
    // Documented behaviour: a domain rule matches the request's :authority. A
    // client can pick which configured rule applies to its own request by
    // its Host, never a target or key that is not configured.
    const host = await newHost({ ...BASE, _rules_: [{ _match_domain_: ["*.team-a.example.com"], apiKey: RULE_KEY }] });
    for (const [authority, key] of [
      ["x.team-a.example.com", RULE_KEY],
      ["gw.example.com", KEY],
      ["evil.example.com", KEY],
      ["team-a.example.com.evil.com", KEY],
    ]) {
      const s = respond(host, {
        requestHeaders: { ":authority": authority, "x-forwarded-host": "x.team-a.example.com" },
      });
      const call = onlyCall(host);
      assert.deepEqual(
        call.headers.filter(([k]) => k === "authorization"),
        [["authorization", `Bearer ${key}`]],
        authority,
      );
      assert.equal(call.cluster, "outbound|443||deepseek.dns");
      assert.equal(call.authority, "api.deepseek.com");
      host.answer(call, 200, {}, ANSWER);
      s.done();
    }
  });

  test("host: a client's loop-guard header turns nothing off and goes no further", async () => {
    const host = await newHost();
    for (const value of ["1", "", "true", "0".repeat(32)]) {
      const s = respond(host, { requestHeaders: { "x-ai-json-mode": value, authorization: `Bearer ${CLIENT_KEY}` } });
      assert.equal(
        s.request.headers.some(([k]) => k === "x-ai-json-mode"),
        false,
        `x-ai-json-mode: ${value} was forwarded upstream`,
      );
      const call = onlyCall(host);
      assert.match(call.headers.find(([k]) => k === "x-ai-json-mode")?.[1] ?? "", /^[0-9a-f]{32}$/);
      assert.notEqual(call.headers.find(([k]) => k === "x-ai-json-mode")?.[1], value);
      host.answer(call, 200, {}, ANSWER);
      s.done();
    }
  });
});

describe("through the gateway (real servers on 127.0.0.1, log level trace)", () => {
  let chat: MockServer;
  let deepseek: MockServer;
  let gw: Gateway;
  const lines: LogEntry[] = [];
  const mockLines: string[] = [];

  before(async () => {
    chat = await startChatMock({ behavior: { body: COMPLETION } });
    deepseek = await startJsonModeMock({ onLog: (l) => mockLines.push(l) });
    gw = await startGateway({
      port: 0,
      onLog: (e) => lines.push(e),
      config: {
        listen: { host: "127.0.0.1", port: 0 },
        plugin: {
          wasm: WASM,
          name: "ai-json-mode",
          logLevel: "trace",
          config: {
            url: "/v1/chat/completions",
            model: "deepseek-chat",
            apiKey: KEY,
            serviceFQDN: "deepseek.dns",
            serviceHost: "api.deepseek.com",
            timeout: 400,
            maxRetries: 1,
          },
        },
        routes: [{ name: "json-route", prefix: "/api/openai", rewritePrefix: "", upstream: chat.url }],
        clusters: { "outbound|443||deepseek.dns": deepseek.url, "outbound|443||closed.dns": "http://127.0.0.1:9" },
      },
    });
  });
  after(async () => {
    await gw?.close();
    await chat?.close();
    await deepseek?.close();
  });

  async function post(headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const res = await fetch(`${gw.url}/api/openai/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "qwen-max", messages: [{ role: "user", content: "hello" }] }),
    });
    return { status: res.status, body: await res.text() };
  }

  test("success and failure paths: no key in any gateway, host or plugin line, none in the mock's", async () => {
    const behaviours = [
      {},
      {
        status: 401,
        body: JSON.stringify({ error: { message: `Your api key: ${KEY} is invalid`, type: "authentication_error" } }),
      },
      { status: 429 },
      { status: 500 },
      { status: 503 },
      { latencyMs: 1000 },
      { malformed: "reset" as const },
      { malformed: "close-mid-body" as const },
      { malformed: "empty-content" as const },
      { malformed: "not-json" as const },
      { body: `{"error":{"message":"${KEY}","type":"x"}}` },
    ];
    for (const b of behaviours) {
      deepseek.set(b);
      const r = await post({ authorization: `Bearer ${CLIENT_KEY}` });
      assert.equal(r.status, 200, JSON.stringify(b));
      assert.ok(!leaks(r.body, KEY), "the key reached the client");
    }
    deepseek.set({});
    assert.ok(
      lines.some((l) => l.level <= 1),
      "trace/debug lines were recorded",
    );
    assertNoKey(lines);
    for (const l of mockLines) assert.ok(!leaks(l, KEY), `the key is in a mock line: ${l}`);
  });

  test("the client's authorization header never reaches DeepSeek; the configured key does", async () => {
    deepseek.requests.length = 0;
    const r = await post({ authorization: `Bearer ${CLIENT_KEY}`, "x-api-key": CLIENT_KEY, host: "evil.example.com" });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      output:
        "你好！我是通义千问，由阿里云开发的大规模语言模型。我可以回答问题、写作、翻译、编程，还能陪你聊天。有什么我可以帮你的吗？",
    });
    assert.equal(deepseek.requests.length, 1);
    const req = deepseek.requests[0];
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.equal(req.headers.host, "api.deepseek.com");
    assert.equal(req.path, "/v1/chat/completions");
    const everything = JSON.stringify(req.headers) + req.body;
    assert.ok(!everything.includes(CLIENT_KEY), `the client's key reached DeepSeek: ${everything.slice(0, 400)}`);
    // The chat upstream still gets the client's own header (that is its business).
    assert.equal(chat.requests.at(-1)!.headers.authorization, `Bearer ${CLIENT_KEY}`);
  });
});
