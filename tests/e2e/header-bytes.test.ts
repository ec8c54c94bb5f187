// Header bytes through the gateway and the plugin, read on raw sockets: values
// with bytes 0x80-0xFF (invalid UTF-8 FF FE, UTF-8 "é" = C3 A9, latin1 "é" =
// E9) reach the client exactly as the upstream sent them, on a passthrough,
// on a conversion (headers the plugin does not change), on a route without
// the plugin, from an HTTP/2 upstream and to an HTTP/2 client; the client's
// request header bytes reach the upstream; the plugin reads the bytes it is
// given (its debug line quotes a content-type).

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import {
  DS_CLUSTER,
  WASM,
  captureStreams,
  chatRequest,
  completion,
  lessonConfig,
  startUpstream,
  type Upstream,
} from "../kit/stack.ts";
import { startGateway, startJsonModeMock, type Gateway, type LogEntry, type MockServer } from "../../host/index.ts";
import {
  headerLines,
  headerValues,
  rawRequest,
  rawRequestBytes,
  rawResponse,
  rawServer,
  startLine,
  type RawReply,
} from "../kit/raw-http.ts";

const BAD = Buffer.from([0xff, 0xfe]); // not UTF-8
const UTF8 = Buffer.from("é", "utf8"); // C3 A9
const LATIN1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1
const ODD: [string, Buffer][] = [
  ["x-bad", BAD],
  ["x-utf8", UTF8],
  ["x-latin1", LATIN1],
];

const ORIGINAL = completion("Beijing is the capital of China; it has about 21 million people.");

/** Lines Node writes for its own connection handling; not part of what is passed on. */
const CONNECTION = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

function endToEnd(head: Buffer): [string, string][] {
  return headerLines(head)
    .filter(([k]) => !CONNECTION.has(k))
    .map(([k, v]) => [k, v.toString("hex")]);
}

/** Each odd header line arrived once, with exactly the upstream's bytes. */
function assertOddHeaders(head: Buffer, what: string): void {
  for (const [name, bytes] of ODD) {
    const got = headerValues(head, name);
    assert.equal(got.length, 1, `${what}: one ${name} line in ${JSON.stringify(head.toString("latin1"))}`);
    assert.equal(got[0].toString("hex"), bytes.toString("hex"), `${what}: ${name} bytes`);
  }
}

interface Rig {
  gw: Gateway;
  ds: MockServer;
  logs: LogEntry[];
  close(): Promise<void>;
}

async function rig(upstream: string | { url: string; http2: true }, config = lessonConfig()): Promise<Rig> {
  const ds = await startJsonModeMock({});
  const logs: LogEntry[] = [];
  const gw = await startGateway({
    config: {
      listen: { host: "127.0.0.1", port: 0 },
      plugin: { wasm: WASM, name: "ai-json-mode", logLevel: "debug", config },
      routes: [
        { name: "openai", prefix: "/api/openai", rewritePrefix: "", upstream },
        { name: "raw", prefix: "/raw", rewritePrefix: "", upstream, plugin: false },
      ],
      clusters: { [DS_CLUSTER]: ds.url },
    },
    onLog: (e) => logs.push(e),
  });
  return {
    gw,
    ds,
    logs,
    close: async () => {
      await gw.close();
      await ds.close();
    },
  };
}

/** A chat request on a raw socket, with the odd bytes in a request header too. */
function ask(gw: Gateway, path: string): Promise<RawReply> {
  return rawRequest(
    gw.port,
    rawRequestBytes(
      "POST",
      path,
      [
        ["host", "gateway.local"],
        ["content-type", "application/json"],
        ["x-in", Buffer.concat([BAD, UTF8, LATIN1])],
      ],
      chatRequest("where is Beijing?"),
    ),
  );
}

describe("an HTTP/1.1 upstream and client", () => {
  test("conversion: the headers the plugin leaves alone keep their bytes", { timeout: 15000 }, async () => {
    const up = await rawServer(rawResponse("200 OK", [["content-type", "application/json"], ...ODD], ORIGINAL));
    const r = await rig(up.url);
    try {
      const streams = captureStreams(r.gw.host!);
      const reply = await ask(r.gw, "/api/openai/v1/chat/completions");
      assert.equal(startLine(reply.head), "HTTP/1.1 200 OK");
      assert.equal(headerValues(reply.head, "mode")[0]?.toString(), "json", "converted");
      assert.equal(r.ds.requests.length, 1);
      assertOddHeaders(reply.head, "conversion");
      assert.deepEqual(headerValues(up.seen[0].head, "x-in"), [Buffer.concat([BAD, UTF8, LATIN1])], "request bytes");
      assert.equal(streams[0].resumed, 1);
    } finally {
      await r.close();
      await up.close();
    }
  });

  for (const route of ["/api/openai", "/raw"]) {
    test(
      `passthrough${route === "/raw" ? " on a route without the plugin" : ""}: the head is the upstream's, byte for byte`,
      {
        timeout: 15000,
      },
      async () => {
        // Not JSON under application/json: the plugin passes it through untouched.
        const body = "<html>upstream says no</html>";
        const upstreamReply = rawResponse("200 OK", [["content-type", "application/json"], ...ODD], body);
        const up = await rawServer(upstreamReply);
        const r = await rig(up.url);
        try {
          const reply = await ask(r.gw, `${route}/v1/chat/completions`);
          const sent = upstreamReply.subarray(0, upstreamReply.indexOf("\r\n\r\n"));
          assert.equal(startLine(reply.head), "HTTP/1.1 200 OK");
          assert.deepEqual(endToEnd(reply.head), endToEnd(sent), "header lines and their bytes");
          assert.equal(reply.body.toString("hex"), Buffer.from(body).toString("hex"));
          assert.deepEqual(headerValues(up.seen[0].head, "x-in"), [Buffer.concat([BAD, UTF8, LATIN1])]);
          assert.equal(r.ds.requests.length, 0);
        } finally {
          await r.close();
          await up.close();
        }
      },
    );
  }

  test(
    "the plugin reads the bytes it is given: its debug line quotes a UTF-8 content-type",
    { timeout: 15000 },
    async () => {
      const type = Buffer.concat([Buffer.from("text/plain; x="), UTF8]);
      const up = await rawServer(rawResponse("200 OK", [["content-type", type], ...ODD], "plain text"));
      const r = await rig(up.url);
      try {
        const reply = await ask(r.gw, "/api/openai/v1/chat/completions");
        assert.equal(headerValues(reply.head, "content-type")[0].toString("hex"), type.toString("hex"));
        assertOddHeaders(reply.head, "content_type passthrough");
        const lines = r.logs.filter((l) => l.source === "plugin").map((l) => l.message);
        assert.ok(
          lines.some((l) => l.includes("content-type text/plain; x=é")),
          JSON.stringify(lines),
        );
      } finally {
        await r.close();
        await up.close();
      }
    },
  );
});

describe("HTTP/2 on either side", () => {
  /** Node's HTTP/2 layer takes and gives header values as latin1 strings: one character per byte. */
  const latin1 = (b: Buffer): string => b.toString("latin1");

  test("an HTTP/2 upstream (h2c): conversion and passthrough keep the bytes", { timeout: 15000 }, async () => {
    const headers: [string, string][] = [
      ["content-type", "application/json"],
      ...ODD.map(([k, v]) => [k, latin1(v)] as [string, string]),
    ];
    const up: Upstream = await startUpstream(
      (req) => {
        const body = req.url.includes("plain") ? "not json" : ORIGINAL;
        return { headers: [...headers, ["content-length", String(Buffer.byteLength(body))]], body };
      },
      {
        http2: true,
      },
    );
    const r = await rig({ url: up.url, http2: true });
    try {
      const converted = await ask(r.gw, "/api/openai/v1/chat/completions");
      assert.equal(headerValues(converted.head, "mode")[0]?.toString(), "json");
      assertOddHeaders(converted.head, "h2 upstream, conversion");
      const passed = await ask(r.gw, "/api/openai/plain");
      assert.equal(passed.body.toString(), "not json");
      assertOddHeaders(passed.head, "h2 upstream, passthrough");
      assert.equal(up.requests[0].headers["x-in"], latin1(Buffer.concat([BAD, UTF8, LATIN1])), "request bytes");
    } finally {
      await r.close();
      await up.close();
    }
  });

  test("an HTTP/2 client: conversion keeps the bytes", { timeout: 15000 }, async () => {
    const up = await rawServer(rawResponse("200 OK", [["content-type", "application/json"], ...ODD], ORIGINAL));
    const r = await rig(up.url);
    try {
      const got = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const session = http2.connect(r.gw.url);
        session.on("error", reject);
        const req = session.request({
          ":method": "POST",
          ":path": "/api/openai/v1/chat/completions",
          "content-type": "application/json",
          "x-in": latin1(Buffer.concat([BAD, UTF8, LATIN1])),
        });
        let headers: http2.IncomingHttpHeaders = {};
        req.on("response", (h) => (headers = h));
        req.resume();
        req.on("end", () => {
          session.close();
          resolve(headers);
        });
        req.on("error", reject);
        req.setTimeout(5000, () => req.close(http2.constants.NGHTTP2_CANCEL));
        req.end(chatRequest("where is Beijing?"));
      });
      assert.equal(got["mode"], "json");
      for (const [name, bytes] of ODD) {
        assert.equal(Buffer.from(String(got[name]), "latin1").toString("hex"), bytes.toString("hex"), name);
      }
      assert.deepEqual(headerValues(up.seen[0].head, "x-in"), [Buffer.concat([BAD, UTF8, LATIN1])]);
    } finally {
      await r.close();
      await up.close();
    }
  });
});
