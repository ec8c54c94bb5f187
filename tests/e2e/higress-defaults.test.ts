// The plugin under Higress's production defaults, through the gateway:
// Envoy 1.27's body buffering, the 32 KiB buffer limit, the 180 s stream
// idle timeout. Completions of 1 KiB, 31 KiB, 33 KiB, 1 MiB and 20 MiB
// (over the plugin's maxBodyBytes, 10 MiB by default) and SSE answers of 50
// and 2,000 events, from HTTP/1.1 and HTTP/2 upstreams, in 8,192-byte frames
// with a 670-byte tail, or in 1-byte frames. Every case ends in the
// conversion or in the original bytes exactly: never a 500, a 504, a cut
// body or a wrong content-length; with onFailure: error (and DeepSeek
// failing), in a 502 whose body and content-length are right (a body over
// maxBodyBytes is never converted, so it passes byte for byte there too).
//
// 1-byte frames run for the 1 KiB, 33 KiB and 50-event bodies only: one
// callback per byte makes a 1 MiB body take minutes, and the small ones
// already cross the buffer limit (33 KiB) one byte at a time.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DATE,
  assertConverted,
  assertLength,
  assertNoLengthMismatch,
  assertOriginal,
  chatRequest,
  completion,
  lessonConfig,
  send,
  sseBody,
  startStack,
  startUpstream,
  until,
  type Reply,
} from "../kit/stack.ts";
import type { Pairs } from "../../host/index.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

type Protocol = "http1" | "http2";
type Framing = "8192+670" | "1-byte";

/** 8,192-byte frames, the last one 670 bytes (the first takes what is left over); or 1-byte frames. */
function frame(body: Buffer, framing: Framing): Buffer[] {
  if (framing === "1-byte") return Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));
  const tail = Math.min(670, body.length);
  const head = body.subarray(0, body.length - tail);
  const out: Buffer[] = [];
  const first = head.length % 8192;
  if (first) out.push(head.subarray(0, first));
  for (let i = first; i < head.length; i += 8192) out.push(head.subarray(i, i + 8192));
  out.push(body.subarray(body.length - tail));
  return out;
}

/** A chat completion of exactly `size` bytes; its content is ASCII (one byte per character in JSON). */
function completionOfSize(size: number): { body: string; content: string } {
  const overhead = Buffer.byteLength(completion(""));
  const unit = "json mode lorem ipsum dolor sit amet ";
  const n = Math.max(0, size - overhead);
  const content = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
  const body = completion(content);
  assert.equal(Buffer.byteLength(body), Math.max(size, overhead));
  return { body, content };
}

interface Case {
  body: string;
  headers: Pairs;
  /** What DeepSeek receives as the content to convert. */
  content: string;
  /** Over maxBodyBytes: the plugin leaves it alone. */
  tooLarge: boolean;
}

async function run(c: Case, protocol: Protocol, framing: Framing, failing: boolean): Promise<Reply> {
  const up = await startUpstream(
    { headers: c.headers, chunks: frame(Buffer.from(c.body), framing) },
    { http2: protocol === "http2" },
  );
  const stack = await startStack({
    config: lessonConfig(failing ? { onFailure: "error" } : {}),
    routes: [
      {
        name: "openai",
        prefix: "/api/openai",
        rewritePrefix: "",
        upstream: { url: up.url, http2: protocol === "http2" },
      },
    ],
    ds: failing ? { behavior: { status: 500 } } : {},
    logLevel: "info",
  });
  try {
    const r = await send(stack.url(), { body: chatRequest("q"), timeoutMs: 60_000 });
    await until(() => stack.host.liveContexts() === 0, "the stream to end", 10_000);
    assertNoLengthMismatch(stack.logs);
    if (!failing && !c.tooLarge && r.status === 200) {
      const got: unknown = stack.ds.requests[0]?.json?.messages?.[1]?.content;
      assert.ok(
        got === c.content,
        `DeepSeek got the whole content: ${typeof got === "string" ? got.length : "no call"} of ${c.content.length} characters`,
      );
    }
    return r;
  } finally {
    await stack.close();
    await up.close();
  }
}

function check(r: Reply, c: Case, failing: boolean): void {
  assert.notEqual(r.status, 500, `Envoy's 500 (${r.text.slice(0, 80)})`);
  assert.notEqual(r.status, 504, `a timeout (${r.text.slice(0, 80)})`);
  if (c.tooLarge) {
    // Never collected, never converted: the upstream's bytes, whatever onFailure says.
    assertOriginal(r, 200, c.headers, c.body);
  } else if (failing) {
    assertLength(r);
    assert.equal(r.status, 502, `status (body: ${r.text.slice(0, 200)})`);
    assert.ok(r.headers["content-length"] !== undefined, "content-length");
    assert.equal(JSON.parse(r.text).error?.code, "call_failed", "a JSON error body naming the failure");
  } else {
    const json = assertConverted(r);
    assert.equal(typeof json.output, "string");
  }
}

function jsonCase(size: number): Case {
  const { body, content } = completionOfSize(size);
  return {
    body,
    content,
    headers: [["content-type", "application/json"], DATE, ["content-length", String(Buffer.byteLength(body))]],
    tooLarge: size > 10 * MiB,
  };
}

function sseCase(events: number): Case {
  const pieces = Array.from({ length: events }, (_, i) => `w${i} `);
  return {
    body: sseBody(pieces),
    content: pieces.join(""),
    headers: [["content-type", "text/event-stream"]],
    tooLarge: false,
  };
}

interface Row {
  name: string;
  make: () => Case;
  framings: Framing[];
}

const rows: Row[] = [
  { name: "a 1 KiB completion", make: () => jsonCase(KiB), framings: ["8192+670", "1-byte"] },
  { name: "a 31 KiB completion", make: () => jsonCase(31 * KiB), framings: ["8192+670"] },
  { name: "a 33 KiB completion", make: () => jsonCase(33 * KiB), framings: ["8192+670", "1-byte"] },
  { name: "a 1 MiB completion", make: () => jsonCase(MiB), framings: ["8192+670"] },
  { name: "a 20 MiB completion (over maxBodyBytes)", make: () => jsonCase(20 * MiB), framings: ["8192+670"] },
  { name: "an SSE answer of 50 events", make: () => sseCase(50), framings: ["8192+670", "1-byte"] },
  { name: "an SSE answer of 2,000 events", make: () => sseCase(2000), framings: ["8192+670"] },
];

for (const row of rows) {
  for (const protocol of ["http1", "http2"] as Protocol[]) {
    for (const framing of row.framings) {
      for (const failing of [false, true]) {
        if (failing && framing === "1-byte") continue;
        const name = `${row.name}, HTTP/${protocol === "http1" ? "1.1" : "2"} upstream, ${framing} frames${failing ? ", onFailure: error with DeepSeek failing" : ""}`;
        test(name, { timeout: 120_000 }, async () => {
          const c = row.make();
          const r = await run(c, protocol, framing, failing);
          check(r, c, failing);
        });
      }
    }
  }
}
