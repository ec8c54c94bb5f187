// `_rules_` through the gateway: per-route (and per-domain, per-service,
// per-route-prefix) models and keys, first match wins, and a request that
// matches no rule (with an incomplete global config) is left untouched.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chatReply, type Pairs } from "../../host/index.ts";
import {
  DATE,
  assertConverted,
  assertNoKey,
  assertNoLengthMismatch,
  assertOriginal,
  chatRequest,
  completion,
  metric,
  send,
  startStack,
  startUpstream,
  until,
  warnLines,
  type Stack,
  type Upstream,
} from "../kit/stack.ts";

const KEYS = {
  a: "sk-route-a-91c0e55d7b",
  b: "sk-route-b-3e8f0a6c24",
  s: "sk-service-5d1b7e9f08",
  p: "sk-prefix-0a4c6e2b91",
  d: "sk-domain-7b3d5f1e66",
};

const PLAIN = completion("an answer nobody converts");
const PLAIN_HEADERS: Pairs = [["content-type", "application/json"], DATE, ["content-length", String(PLAIN.length)]];

let stack: Stack;
let plain: Upstream;

before(async () => {
  plain = await startUpstream({ headers: PLAIN_HEADERS, body: PLAIN });
  stack = await startStack({
    config: {
      // No model and no apiKey: only requests matching a rule are processed.
      url: "https://api.deepseek.com/v1/chat/completions",
      serviceFQDN: "deepseek.dns",
      _rules_: [
        { _match_route_: ["team-a"], model: "model-a", apiKey: KEYS.a },
        { _match_route_: ["team-b"], model: "model-b", apiKey: KEYS.b, serviceHost: "b.deepseek.test" },
        { _match_service_: ["qwen.svc.static:8000"], model: "model-s", apiKey: KEYS.s },
        { _match_route_prefix_: ["prefix-"], model: "model-p", apiKey: KEYS.p },
        { _match_domain_: ["*.example.com"], model: "model-d", apiKey: KEYS.d },
      ],
    },
    routes: [
      { name: "team-a", prefix: "/a", rewritePrefix: "", upstream: "$CHAT" },
      { name: "team-b", prefix: "/b", rewritePrefix: "", upstream: "$CHAT" },
      { name: "svc", prefix: "/s", rewritePrefix: "", upstream: "$CHAT", cluster: "outbound|8000||qwen.svc.static" },
      {
        name: "svc-other-port",
        prefix: "/t",
        rewritePrefix: "",
        upstream: plain.url,
        cluster: "outbound|9000||qwen.svc.static",
      },
      { name: "prefix-route-1", prefix: "/p", rewritePrefix: "", upstream: "$CHAT" },
      { name: "domain", prefix: "/d", rewritePrefix: "", upstream: "$CHAT" },
      { name: "other", prefix: "/c", rewritePrefix: "", upstream: plain.url },
    ],
  });
});

after(async () => {
  await stack.close();
  await plain.close();
});

/** Sends one chat request; returns the reply, the JSON-mode call it caused (if any) and its stream. */
async function call(path: string, message: string, headers: Record<string, string> = {}) {
  const before = stack.ds.requests.length;
  const streamsBefore = stack.streams.length;
  const reply = await send(stack.url(`${path}/v1/chat/completions`), { body: chatRequest(message), headers });
  const calls = stack.ds.requests.slice(before);
  assert.ok(calls.length <= 1, "at most one JSON-mode call");
  assert.equal(stack.streams.length, streamsBefore + 1);
  return { reply, ds: calls[0], stream: stack.streams[streamsBefore] };
}

test("two routes, two models and two keys: the DeepSeek mock sees the right pair per route", async () => {
  const a = await call("/a", "route a");
  assert.deepEqual(assertConverted(a.reply), { output: chatReply("route a") });
  assert.equal(a.ds.json.model, "model-a");
  assert.equal(a.ds.headers.authorization, `Bearer ${KEYS.a}`);
  assert.equal(a.ds.headers.host, "api.deepseek.com");

  const b = await call("/b", "route b");
  assert.deepEqual(assertConverted(b.reply), { output: chatReply("route b") });
  assert.equal(b.ds.json.model, "model-b");
  assert.equal(b.ds.headers.authorization, `Bearer ${KEYS.b}`);
  assert.equal(b.ds.headers.host, "b.deepseek.test");

  // Interleaved, concurrently: no mix-up between the two configs.
  const many = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      send(stack.url(`${i % 2 ? "/b" : "/a"}/v1/chat/completions`), { body: chatRequest(`m${i}`) }),
    ),
  );
  const byMessage = new Map(stack.ds.requests.map((r) => [r.json.messages[1].content, r]));
  many.forEach((reply, i) => {
    assert.deepEqual(assertConverted(reply), { output: chatReply(`m${i}`) });
    const r = byMessage.get(chatReply(`m${i}`))!;
    assert.equal(r.json.model, i % 2 ? "model-b" : "model-a");
    assert.equal(r.headers.authorization, `Bearer ${i % 2 ? KEYS.b : KEYS.a}`);
  });
  for (const k of Object.values(KEYS)) assertNoKey(stack.logs, k);
});

test("a route matching no rule is left untouched: request and response", async () => {
  const reqsBefore = plain.requests.length;
  const c = await call("/c", "nobody's route", { "accept-encoding": "gzip" });
  assert.equal(c.ds, undefined, "no JSON-mode call");
  assertOriginal(c.reply, 200, PLAIN_HEADERS, PLAIN);
  assert.equal(c.reply.headers["mode"], undefined);
  // The request phase did not touch it either.
  assert.equal(plain.requests[reqsBefore].headers["accept-encoding"], "gzip");
  assert.equal(c.stream.resumed, 0);
  assert.deepEqual(warnLines(c.stream), []);
  // Same for a service rule on another port.
  const t = await call("/t", "other port");
  assert.equal(t.ds, undefined);
  assertOriginal(t.reply, 200, PLAIN_HEADERS, PLAIN);
});

test("_match_service_ (fqdn:port), _match_route_prefix_ and _match_domain_", async () => {
  const s = await call("/s", "service");
  assertConverted(s.reply);
  assert.equal(s.ds.json.model, "model-s");
  assert.equal(s.ds.headers.authorization, `Bearer ${KEYS.s}`);

  const p = await call("/p", "prefix");
  assertConverted(p.reply);
  assert.equal(p.ds.json.model, "model-p");
  assert.equal(p.ds.headers.authorization, `Bearer ${KEYS.p}`);

  const d = await call("/d", "domain", { host: "api.example.com:8080" });
  assertConverted(d.reply);
  assert.equal(d.ds.json.model, "model-d");
  assert.equal(d.ds.headers.authorization, `Bearer ${KEYS.d}`);

  // "*.example.com" does not match the bare domain: untouched.
  const bare = await call("/d", "bare domain", { host: "example.com" });
  assert.equal(bare.ds, undefined);
  assert.equal(bare.reply.headers["mode"], undefined);
  assert.equal(JSON.parse(bare.reply.text).choices[0].message.content, chatReply("bare domain"));
});

test("the first matching rule wins", async () => {
  // Route team-a and domain *.example.com both match: the route rule comes first.
  const a = await call("/a", "both", { host: "x.example.com" });
  assertConverted(a.reply);
  assert.equal(a.ds.json.model, "model-a");
  assert.equal(a.ds.headers.authorization, `Bearer ${KEYS.a}`);
  assertNoLengthMismatch(stack.logs);
  for (const k of Object.values(KEYS)) assertNoKey(stack.logs, k);
  await until(() => stack.host.liveContexts() === 0, "no live stream");
});

test("a complete global config serves unmatched routes; a rule overlays only its own fields", async () => {
  const s = await startStack({
    config: {
      url: "https://api.deepseek.com/v1/chat/completions",
      serviceFQDN: "deepseek.dns",
      model: "global-model",
      apiKey: "sk-global-22aa9f",
      _rules_: [{ _match_route_: ["special"], model: "special-model" }],
    },
    routes: [
      { name: "special", prefix: "/special", rewritePrefix: "", upstream: "$CHAT" },
      { name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: "$CHAT" },
    ],
  });
  try {
    assertConverted(await send(s.url("/special/v1/chat/completions"), { body: chatRequest("x") }));
    assertConverted(await send(s.url(), { body: chatRequest("y") }));
    assert.equal(s.ds.requests[0].json.model, "special-model");
    assert.equal(s.ds.requests[0].headers.authorization, "Bearer sk-global-22aa9f");
    assert.equal(s.ds.requests[1].json.model, "global-model");
    assert.equal(s.ds.requests[1].headers.authorization, "Bearer sk-global-22aa9f");
    assert.equal(metric(s.host, "converted"), 2);
    assertNoKey(s.logs, "sk-global-22aa9f");
  } finally {
    await s.close();
  }
});

test("a bad rule rejects the whole configuration (the gateway refuses to start)", async () => {
  await assert.rejects(
    startStack({
      config: {
        url: "https://api.deepseek.com/v1/chat/completions",
        serviceFQDN: "deepseek.dns",
        _rules_: [{ _match_route_: ["a"], _match_domain_: ["b"], model: "m", apiKey: "k" }],
      },
    }),
    /rejected its configuration/,
  );
});
