// `npm start` end to end: the CLI starts the mocks and the gateway, answers the
// printed curl command with JSON, and stops cleanly on Ctrl-C.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../host/cli.ts";
import { startCli, type RunningCli } from "../kit/cli.ts";

const missing = ["host/gateway/index.ts", "build/plugin.wasm"].filter((f) => !existsSync(join(ROOT, f)));
const skip = missing.length ? `needs ${missing.join(" and ")} (not there yet)` : false;

test("npm start answers the curl command with JSON, then exits 0 on SIGINT", { skip, timeout: 60_000 }, async () => {
  // Waits for the printed URL.
  const cli = await startCli(["--port", "0", "--no-build"]);
  let code;
  try {
    const { url, out } = cli;
    const curl = out.match(/curl localhost:(\d+)(\S+) -H 'content-type: application\/json' -d '([^']+)'/);
    assert.ok(curl, `a curl command is printed:\n${out}`);
    assert.equal(curl[1], new URL(url).port, "the curl command uses the gateway's port");
    assert.match(out, /MOCK/, "the output says the LLMs are mocks");

    // The curl command, with fetch.
    const res = await fetch(`${url}${curl[2]}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: curl[3],
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = JSON.parse(text);
    assert.equal(typeof body, "object");
    assert.deepEqual(
      body,
      { output: "Mock reply to: hello" },
      `the JSON-mode answer, not the chat completion: ${text}`,
    );
    assert.equal(res.headers.get("mode"), "json");

    // The mock request lines appear as they happen.
    const seen = Date.now() + 5000;
    while (!/\[mock\] json-mode POST/.test(cli.out) && Date.now() < seen) await new Promise((r) => setTimeout(r, 50));
    assert.match(cli.out, /\[mock\] chat POST \/v1\/chat\/completions -> 200/);
    assert.match(cli.out, /\[mock\] json-mode POST \/v1\/chat\/completions -> 200/);
    assert.ok(!cli.out.includes("sk-mock-key"), "the API key is never printed");
  } finally {
    code = await cli.stop();
  }
  assert.equal(code, 0, `exit status after SIGINT:\n${cli.out}\n${cli.err}`);
});

test(
  "a busy port from the config (no --port, no PORT) falls back to a free one and says so",
  { skip, timeout: 60_000 },
  async () => {
    const busy = http.createServer();
    await new Promise<void>((ok) => busy.listen(0, "127.0.0.1", ok));
    const port = (busy.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), "ai-json-mode-start-"));
    const file = join(dir, "busy.yaml");
    writeFileSync(
      file,
      readFileSync(join(ROOT, "examples/local.yaml"), "utf8")
        .replace(/^listen: .*$/m, `listen: { host: 127.0.0.1, port: ${port} }`)
        .replace(/^  wasm: .*$/m, `  wasm: ${join(ROOT, "build/plugin.wasm")}`),
    );
    let cli: RunningCli | undefined;
    let code;
    try {
      cli = await startCli(["--config", file, "--no-build"]);
      const { url, out } = cli;
      assert.match(out, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is busy; using a free port instead\\.`));
      assert.notEqual(new URL(url).port, String(port));
      const res = await fetch(`${url}/api/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "x", messages: [{ role: "user", content: "hi" }] }),
      });
      assert.deepEqual(await res.json(), { output: "Mock reply to: hi" });
    } finally {
      code = await cli?.stop();
      await new Promise<void>((ok) => busy.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(code, 0, `exit status after SIGINT:\n${cli?.out}\n${cli?.err}`);
  },
);
