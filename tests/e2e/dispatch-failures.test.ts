// Configurations whose JSON-mode call the gateway cannot send as written: an
// apiKey ending in a line feed (a YAML `|` block) and a url whose path holds
// unescaped non-ASCII characters. Whatever the plugin does with them, no
// client waits: either the plugin refuses the configuration and the error
// names the field, or the call fails (or is answered) at once and the client
// gets the original bytes promptly (with `onFailure: error`, the 502).

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { startGateway, startJsonModeMock, type Gateway, type LogEntry } from "../../host/index.ts";
import {
  DATE,
  DS_CLUSTER,
  KEY,
  WASM,
  assertNoKey,
  assertOriginal,
  closedPort,
  captureStreams,
  chatRequest,
  completion,
  lessonConfig,
  send,
  startUpstream,
  type Reply,
  type Upstream,
} from "../kit/stack.ts";
import { rawResponse, rawServer, startLine, type RawServer } from "../kit/raw-http.ts";

const ORIGINAL = completion("Beijing is the capital of China; it has about 21 million people.");
const HEADERS: [string, string][] = [
  ["content-type", "application/json"],
  ["x-upstream-id", "u-7"],
  DATE,
  ["content-length", String(Buffer.byteLength(ORIGINAL))],
];

/** A client that gets no answer within this time fails: the call's own timeout is far longer. */
const PROMPT_MS = 4000;

interface Setup {
  up: Upstream;
  /** The JSON-mode cluster: records what reaches it and answers 404, as a provider does for an unknown path. */
  cluster: RawServer;
  logs: LogEntry[];
  gw?: Gateway;
  /** Why the gateway did not start (the plugin refused its configuration). */
  refused?: Error;
}

async function setup(extra: Record<string, unknown>): Promise<Setup> {
  const up = await startUpstream({ headers: HEADERS, body: ORIGINAL });
  const cluster = await rawServer(
    rawResponse("404 Not Found", [["content-type", "application/json"]], '{"error":{"message":"Not Found"}}'),
  );
  const logs: LogEntry[] = [];
  try {
    const gw = await startGateway({
      config: {
        listen: { host: "127.0.0.1", port: 0 },
        plugin: {
          wasm: WASM,
          name: "ai-json-mode",
          logLevel: "debug",
          config: lessonConfig({ timeout: 60000, maxRetries: 0, ...extra }),
        },
        routes: [{ name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream: up.url }],
        clusters: { [DS_CLUSTER]: cluster.url },
      },
      onLog: (e) => logs.push(e),
    });
    return { up, cluster, logs, gw };
  } catch (e) {
    return { up, cluster, logs, refused: e as Error };
  }
}

async function teardown(s: Setup): Promise<void> {
  await s.gw?.close();
  await s.up.close();
  await s.cluster.close();
}

/** The plugin refused the configuration: the gateway says so and a plugin line names the field. */
function assertRefused(s: Setup, field: string): void {
  assert.match(String(s.refused?.message), /rejected its configuration/);
  const lines = s.logs.filter((l) => l.source === "plugin" && l.level >= 3).map((l) => l.message);
  assert.ok(
    lines.some((l) => l.includes(field)),
    `a plugin error names ${field}: ${JSON.stringify(lines)}`,
  );
  assertNoKey(s.logs);
}

/**
 * One request through a gateway that took the configuration: answered within
 * PROMPT_MS with the original (passthrough) or the 502 (error), and the paused
 * response resumed once.
 */
async function askPromptly(s: Setup, onFailure: "passthrough" | "error"): Promise<Reply> {
  const streams = captureStreams(s.gw!.host!);
  const started = Date.now();
  const r = await send(`${s.gw!.url}/api/openai/v1/chat/completions`, {
    body: chatRequest("where is Beijing?"),
    timeoutMs: PROMPT_MS,
  });
  assert.ok(Date.now() - started < PROMPT_MS, `answered in ${Date.now() - started} ms`);
  if (onFailure === "passthrough") {
    assertOriginal(r, 200, HEADERS, ORIGINAL);
  } else {
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.status, 502, r.text);
    assert.equal(JSON.parse(r.text).error.type, "json_mode_error");
  }
  assert.equal(streams.length, 1);
  assert.equal(streams[0].resumed, 1, "the paused response was resumed once");
  return r;
}

const KEY_WITH_NEWLINE = `${KEY}\n`;
const URL_NON_ASCII = "https://api.deepseek.com/v1/chat/补全";

describe("a call the gateway cannot send as written never leaves the client waiting", () => {
  for (const onFailure of ["passthrough", "error"] as const) {
    test(`apiKey ending in a line feed, onFailure: ${onFailure}`, { timeout: 20000 }, async () => {
      const s = await setup({ apiKey: KEY_WITH_NEWLINE, onFailure });
      try {
        if (s.refused) {
          assertRefused(s, "apiKey");
          return;
        }
        const r = await askPromptly(s, onFailure);
        assert.ok(!r.text.includes(KEY));
        // Node cannot write a header value with a line feed: the call failed before it left.
        assert.equal(s.cluster.seen.length, 0);
        assert.ok(
          s.logs.some(
            (l) =>
              l.source === "gateway" &&
              /cannot send it: Invalid character in header content \["authorization"\]/.test(l.message),
          ),
          JSON.stringify(s.logs.map((l) => l.message)),
        );
        assert.ok(
          s.logs.some((l) => l.source === "plugin" && /call_failed/.test(l.message) && /503/.test(l.message)),
          "the plugin got Envoy's 503 answer",
        );
        assertNoKey(s.logs);
        assert.equal(s.gw!.host!.pendingCalls().length, 0);
      } finally {
        await teardown(s);
      }
    });

    test(`url path with unescaped non-ASCII characters, onFailure: ${onFailure}`, { timeout: 20000 }, async () => {
      const s = await setup({ url: URL_NON_ASCII, onFailure });
      try {
        if (s.refused) {
          assertRefused(s, "url");
          return;
        }
        await askPromptly(s, onFailure);
        // The path reached the cluster as Envoy sends it: its UTF-8 bytes, or percent-encoded.
        assert.equal(s.cluster.seen.length, 1);
        const line = startLine(s.cluster.seen[0].head);
        const raw = `POST ${Buffer.from("/v1/chat/补全").toString("latin1")} HTTP/1.1`;
        assert.ok(
          line === raw || /^POST \/v1\/chat\/%E8%A1%A5%E5%85%A8 HTTP\/1\.1$/i.test(line),
          `request line ${JSON.stringify(line)}`,
        );
        assertNoKey(s.logs);
      } finally {
        await teardown(s);
      }
    });
  }
});

test("the same gateway goes on serving: a good call after a failed one converts", { timeout: 20000 }, async () => {
  // One gateway, two routes' worth of traffic: a call that cannot be sent must not disturb the next ones.
  // (The plugin refuses an apiKey with a line feed at configure time, so the failing rule's cluster is
  // one whose endpoint refuses connections: the call leaves the plugin and the gateway cannot send it.)
  const up = await startUpstream({ headers: HEADERS, body: ORIGINAL });
  const ds = await startJsonModeMock({});
  const logs: LogEntry[] = [];
  const gw = await startGateway({
    config: {
      listen: { host: "127.0.0.1", port: 0 },
      plugin: {
        wasm: WASM,
        name: "ai-json-mode",
        config: {
          ...lessonConfig({ maxRetries: 0 }),
          _rules_: [{ _match_route_: ["bad"], ...lessonConfig({ serviceFQDN: "down.dns", maxRetries: 0 }) }],
        },
      },
      routes: [
        { name: "bad", prefix: "/bad", rewritePrefix: "", upstream: up.url },
        { name: "good", prefix: "/good", rewritePrefix: "", upstream: up.url },
      ],
      clusters: { [DS_CLUSTER]: ds.url, "outbound|443||down.dns": `http://127.0.0.1:${await closedPort()}` },
    },
    onLog: (e) => logs.push(e),
  });
  try {
    const streams = captureStreams(gw.host!);
    for (let i = 0; i < 3; i++) {
      const bad = await send(`${gw.url}/bad/v1/chat/completions`, { body: chatRequest("q"), timeoutMs: PROMPT_MS });
      assertOriginal(bad, 200, HEADERS, ORIGINAL);
      const good = await send(`${gw.url}/good/v1/chat/completions`, { body: chatRequest("q"), timeoutMs: PROMPT_MS });
      assert.equal(good.status, 200);
      assert.equal(good.headers["mode"], "json", good.text);
    }
    assert.equal(ds.requests.length, 3, "only the good calls reached the JSON-mode model");
    assert.deepEqual(
      streams.map((s) => s.resumed),
      [1, 1, 1, 1, 1, 1],
      "every paused response, the failed calls' too, was resumed once",
    );
    assert.equal(gw.host!.pendingCalls().length, 0);
    assertNoKey(logs);
  } finally {
    await gw.close();
    await up.close();
    await ds.close();
  }
});
