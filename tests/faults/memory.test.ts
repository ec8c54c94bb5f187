// The VM's linear memory stays flat under a steady load (the short version
// of `npm run bench:memory`): requests driven through the host API with
// DeepSeek answered in-process, a realistic mix of outcomes (conversions,
// retries, failed calls, timeouts, resets, SSE, passthroughs, clients going
// away). Every request is also checked: no trap, the response completes, no
// context is left alive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { driveRequests, newHost } from "../kit/drive.ts";

async function pagesAt(requests: number, bodySize: number, checkpoints: number[]): Promise<Record<number, number>> {
  const host = await newHost();
  const pages: Record<number, number> = {};
  const stats = driveRequests(host, requests, {
    bodySize,
    onRequest: (i, h) => {
      if (checkpoints.includes(i)) pages[i] = h.memoryPages();
    },
  });
  assert.equal(
    stats.converted + stats.original + stats.other + stats.aborted,
    requests,
    `every outcome is counted: ${JSON.stringify(stats)}`,
  );
  assert.ok(stats.converted > requests / 2, `${stats.converted} conversions`);
  assert.ok(stats.original > 0, "some passthroughs");
  assert.equal(stats.other, 0, "every response is the conversion or the original (no 500 from the buffer limit)");
  assert.equal(host.failed, false);
  host.close();
  return pages;
}

// The reference point is request 2,500: the heap reaches its working size
// (4 pages) within the first 1,000 to 1,500 requests (the incremental
// collector's pace decides exactly when), and then stays there (checked to
// 40,000 requests).
test(
  "10,000 requests with 2 KB completions: pages after 10,000 <= pages after 2,500",
  { timeout: 120_000 },
  async (t) => {
    const pages = await pagesAt(10000, 2048, [1, 1000, 2500, 10000]);
    t.diagnostic(`pages: ${JSON.stringify(pages)}`);
    assert.ok(pages[10000] <= pages[2500], `memory grew from ${pages[2500]} to ${pages[10000]} pages`);
  },
);

test("600 requests with 256 KB completions: pages after 600 <= pages after 60", { timeout: 120_000 }, async (t) => {
  const pages = await pagesAt(600, 256 * 1024, [1, 60, 600]);
  t.diagnostic(`pages: ${JSON.stringify(pages)}`);
  assert.ok(pages[600] <= pages[60], `memory grew from ${pages[60]} to ${pages[600]} pages`);
});
