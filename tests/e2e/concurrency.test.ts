// 200 concurrent requests through the gateway: every client gets its own
// answer, converted or (for the ones made to fail) its own original body.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chatReply } from "../../host/index.ts";
import {
  assertConverted,
  assertLength,
  assertNoKey,
  assertNoLengthMismatch,
  metric,
  send,
  chatRequest,
  startStack,
  until,
} from "../kit/stack.ts";

const N = 200;

test(`${N} concurrent requests, every answer correct`, async () => {
  const stack = await startStack({
    // Answers arrive out of order: latency varies per message.
    chat: { behavior: { chunkSize: 64 } },
    ds: { behavior: { latencyMs: 15 } },
    logLevel: "info",
  });
  try {
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        send(stack.url(), { body: chatRequest(`request #${i} ${"é".repeat(i % 7)}`) }),
      ),
    );
    replies.forEach((r, i) => {
      assert.deepEqual(assertConverted(r), { output: chatReply(`request #${i} ${"é".repeat(i % 7)}`) }, `request ${i}`);
    });
    assert.equal(stack.ds.requests.length, N);
    await until(() => stack.host.liveContexts() === 0, "every stream context to be deleted");
    assert.equal(stack.streams.length, N);
    for (const s of stack.streams) assert.equal(s.resumed, 1, `stream ${s.id}`);
    assert.equal(metric(stack.host, "converted"), N);
    assert.deepEqual(
      stack.logs.filter((l) => l.level >= 3).map((l) => l.message),
      [],
    );
    assert.equal(stack.host.pendingCalls().length, 0);
    assertNoLengthMismatch(stack.logs);
    assertNoKey(stack.logs);
  } finally {
    await stack.close();
  }
});

test(`${N} concurrent requests, half of them failing: no answer crosses streams`, async () => {
  const stack = await startStack({
    ds: {
      behavior: {
        // Odd requests get an answer without JSON (retried, then passed through); the rest convert.
        content: (req) => {
          // The upstream's content is the first user message (retries add more).
          const user = String(req.json.messages[1].content);
          return /#\d*[13579] /.test(user) ? "no JSON for you" : JSON.stringify({ output: user });
        },
        latencyMs: 5,
      },
    },
    logLevel: "info",
  });
  try {
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) => send(stack.url(), { body: chatRequest(`mix #${i} `) })),
    );
    replies.forEach((r, i) => {
      assertLength(r);
      assert.equal(r.status, 200);
      if (i % 2) {
        assert.equal(r.headers["mode"], undefined, `request ${i}`);
        const original = JSON.parse(r.text);
        assert.equal(original.object, "chat.completion");
        assert.equal(original.choices[0].message.content, chatReply(`mix #${i} `), `request ${i} got another's body`);
      } else {
        assert.deepEqual(assertConverted(r), { output: chatReply(`mix #${i} `) }, `request ${i}`);
      }
    });
    await until(() => stack.host.liveContexts() === 0, "every stream context to be deleted");
    for (const s of stack.streams) assert.equal(s.resumed, 1, `stream ${s.id}`);
    assert.equal(metric(stack.host, "converted"), N / 2);
    assert.equal(metric(stack.host, "passthrough.invalid_json"), N / 2);
    // maxRetries defaults to 2: three calls per failing request.
    assert.equal(stack.ds.requests.length, N / 2 + 3 * (N / 2));
    const warns = stack.logs.filter((l) => l.level >= 3);
    assert.equal(warns.length, N / 2);
    assertNoLengthMismatch(stack.logs);
  } finally {
    await stack.close();
  }
});
