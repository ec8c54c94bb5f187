// Fault injection through the local gateway with real servers on 127.0.0.1:
// DeepSeek answering 401, 429, 500, 503, slower than `timeout`, refusing the
// connection, closing mid-body, answering byte by byte, answering 10 MB; the
// chat upstream closing mid-body. Each request ends in the documented outcome
// (the original bytes, or the converted JSON for the good answers) within a
// bounded time, and afterwards no stream context is alive in the VM.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { readFileSync } from "node:fs";
import {
  startGateway,
  startChatMock,
  startJsonModeMock,
  type Gateway,
  type GatewayConfig,
  type MockServer,
  type MockBehavior,
  type LogEntry,
} from "../../host/index.ts";
import { WASM } from "../kit/wasm.ts";

const COMPLETION = readFileSync(new URL("../fixtures/qwen-chat-completion.json", import.meta.url));
const CONTENT = JSON.parse(COMPLETION.toString()).choices[0].message.content as string;
const TIMEOUT_MS = 300;

/** A free port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

/** POST through the gateway with node:http (no client-side timeouts or retries). */
function post(url: string, path: string): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method: "POST", headers: { "content-type": "application/json", connection: "close" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          }),
        );
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("response aborted")));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ model: "qwen-max", messages: [{ role: "user", content: "hello" }] }));
  });
}

describe("fault injection through the gateway", () => {
  let chat: MockServer; // answers the fixture completion, byte for byte
  let brokenChat: MockServer; // the chat upstream closing mid-body
  let deepseek: MockServer;
  let gw: Gateway;
  let config: GatewayConfig;
  const logs: LogEntry[] = [];

  before(async () => {
    chat = await startChatMock({ behavior: { body: COMPLETION } });
    brokenChat = await startChatMock({ behavior: { malformed: "close-mid-body" } });
    deepseek = await startJsonModeMock();
    const dead = await closedPort();
    gw = await startGateway({
      port: 0,
      onLog: (e) => logs.push(e),
      config: (config = {
        listen: { host: "127.0.0.1", port: 0 },
        plugin: {
          wasm: WASM,
          name: "ai-json-mode",
          logLevel: "info",
          config: {
            url: "/v1/chat/completions",
            model: "deepseek-chat",
            apiKey: "sk-faults-0000",
            serviceFQDN: "deepseek.dns",
            serviceHost: "api.deepseek.com",
            timeout: TIMEOUT_MS,
            _rules_: [
              { _match_route_: ["refused"], serviceFQDN: "closed.dns" },
              { _match_route_: ["big"], timeout: 30000 },
            ],
          },
        },
        routes: [
          { name: "refused", prefix: "/refused", rewritePrefix: "", upstream: chat.url },
          { name: "big", prefix: "/big", rewritePrefix: "", upstream: chat.url },
          { name: "broken", prefix: "/broken", rewritePrefix: "", upstream: brokenChat.url },
          { name: "json", prefix: "/json", rewritePrefix: "", upstream: chat.url },
        ],
        clusters: {
          "outbound|443||deepseek.dns": deepseek.url,
          "outbound|443||closed.dns": `http://127.0.0.1:${dead}`,
        },
      }),
    });
  });

  after(async () => {
    await gw?.close();
    await chat?.close();
    await brokenChat?.close();
    await deepseek?.close();
  });

  /** liveContexts() back to 0 (the gateway ends the stream right after the response). */
  async function noContextLeft(): Promise<void> {
    const host = gw.host!;
    for (let i = 0; i < 100 && host.liveContexts() !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(host.liveContexts(), 0, "stream contexts left alive in the VM");
    assert.equal(host.pendingCalls().length, 0, "calls left pending");
    assert.equal(host.failed, false, `the VM trapped: ${host.failure?.message}`);
  }

  function assertOriginal(r: Reply): void {
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers.mode, undefined, "no mode: json on a passthrough");
    assert.ok(r.body.equals(COMPLETION), `the original bytes, got ${r.body.toString().slice(0, 200)}`);
    assert.equal(r.headers["content-length"], String(COMPLETION.length));
  }

  function assertConverted(r: Reply, output = CONTENT): void {
    assert.equal(r.status, 200);
    assert.equal(r.headers.mode, "json");
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["content-length"], String(r.body.length));
    assert.deepEqual(JSON.parse(r.body.toString()), { output });
  }

  const passthroughs: [string, MockBehavior, number][] = [
    ["DeepSeek 401", { status: 401 }, 2000],
    ["DeepSeek 429", { status: 429 }, 2000],
    ["DeepSeek 500", { status: 500 }, 2000],
    ["DeepSeek 503", { status: 503 }, 2000],
    ["DeepSeek slower than timeout", { latencyMs: 5000 }, TIMEOUT_MS + 1500],
    ["DeepSeek closing mid-body", { malformed: "close-mid-body", chunkSize: 64, chunkDelayMs: 1 }, 2000],
    ["DeepSeek resetting the connection", { malformed: "reset" }, 2000],
    ["DeepSeek answering HTML with status 200", { malformed: "not-json" }, 2000],
    ["DeepSeek answering without choices", { malformed: "no-choices" }, 2000],
    ["DeepSeek gzip-compressed answer", { gzip: true }, 2000],
  ];
  for (const [name, behaviour, bound] of passthroughs) {
    test(`${name}: the original bytes within ${bound} ms`, async () => {
      deepseek.set(behaviour);
      const before = deepseek.requests.length;
      try {
        const r = await post(gw.url, "/json/v1/chat/completions");
        assertOriginal(r);
        assert.ok(r.ms < bound, `took ${r.ms.toFixed(0)} ms`);
        assert.ok(deepseek.requests.length > before, "DeepSeek was called");
        assert.ok(
          logs.some((l) => l.level === 3 && l.message.includes("passthrough")),
          "a warn line says why",
        );
      } finally {
        deepseek.set({});
      }
      await noContextLeft();
    });
  }

  test("DeepSeek slower than timeout: the call is cut at the timeout, not at the answer", async () => {
    deepseek.set({ latencyMs: 3000 });
    try {
      const r = await post(gw.url, "/json/v1/chat/completions");
      assertOriginal(r);
      assert.ok(r.ms >= TIMEOUT_MS - 20, `passthrough before the timeout (${r.ms.toFixed(0)} ms)`);
      assert.ok(r.ms < 1500, `passthrough after ${r.ms.toFixed(0)} ms`);
    } finally {
      deepseek.set({});
    }
    await noContextLeft();
  });

  test("connection refused (cluster pointing at a closed port): the original bytes", async () => {
    const before = deepseek.requests.length;
    const r = await post(gw.url, "/refused/v1/chat/completions");
    assertOriginal(r);
    assert.ok(r.ms < 2000, `took ${r.ms.toFixed(0)} ms`);
    assert.equal(deepseek.requests.length, before);
    await noContextLeft();
  });

  test("DeepSeek answering in 1-byte chunks: converted", async () => {
    deepseek.set({ chunkSize: 1 });
    try {
      const r = await post(gw.url, "/json/v1/chat/completions");
      assertConverted(r);
      assert.ok(r.ms < 5000, `took ${r.ms.toFixed(0)} ms`);
    } finally {
      deepseek.set({});
    }
    await noContextLeft();
  });

  test("a 10 MB answer: converted", async () => {
    const big = "长".repeat(1024 * 1024) + "x".repeat(7 * 1024 * 1024); // 3 MB of CJK + 7 MB ASCII = 10 MB of UTF-8
    deepseek.set({ content: JSON.stringify({ output: big }) });
    try {
      const r = await post(gw.url, "/big/v1/chat/completions");
      assert.ok(r.body.length >= 10 * 1024 * 1024, `body ${r.body.length} bytes`);
      assertConverted(r, big);
      assert.ok(r.ms < 15000, `took ${r.ms.toFixed(0)} ms`);
    } finally {
      deepseek.set({});
    }
    await noContextLeft();
  });

  test("the chat upstream closing mid-body: the client's connection is reset, no call, no context left", async () => {
    const before = deepseek.requests.length;
    const started = performance.now();
    await assert.rejects(post(gw.url, "/broken/v1/chat/completions"), /socket hang up|aborted|ECONNRESET|closed/i);
    assert.ok(performance.now() - started < 2000);
    assert.equal(deepseek.requests.length, before, "no JSON-mode call for a body that never ended");
    await noContextLeft();
  });

  test("all of the above at once, 60 requests in parallel", async () => {
    const behaviours: MockBehavior[] = [
      { status: 401 },
      { status: 429 },
      { status: 500 },
      { status: 503 },
      { latencyMs: 2000 },
      { malformed: "close-mid-body" },
      { chunkSize: 1 },
      {},
    ];
    // 48 of the 60 requests reach DeepSeek (every 10th goes to the broken upstream, every 10th + 8 to the refused cluster).
    for (let i = 0; i < 48; i++) deepseek.enqueue(behaviours[i % behaviours.length]);
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        post(
          gw.url,
          i % 10 === 9
            ? "/broken/v1/chat/completions"
            : i % 10 === 8
              ? "/refused/v1/chat/completions"
              : "/json/v1/chat/completions",
        ),
      ),
    );
    assert.ok(performance.now() - started < 5000, "bounded");
    let converted = 0;
    let original = 0;
    let reset = 0;
    for (const r of results) {
      if (r.status === "rejected") {
        reset++;
        continue;
      }
      if (r.value.headers.mode === "json") {
        assertConverted(r.value);
        converted++;
      } else {
        assertOriginal(r.value);
        original++;
      }
    }
    assert.equal(reset, 6, "only the broken upstream's requests fail");
    assert.ok(converted > 0 && original > 0, `converted ${converted}, original ${original}`);
    await noContextLeft();
  });
});
