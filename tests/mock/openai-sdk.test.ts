// The OpenAI Node SDK (`openai`, pinned in package.json) through `npm start`
// with strategy inject and output openai: chat.completions.create returns a
// normal chat completion whose content is the JSON, from one call to the chat
// model; a disobeying chat model is repaired by the JSON-mode mock; a
// streamed request yields the JSON as one chunk.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { ROOT } from "../../host/cli.ts";
import { startCli, type RunningCli } from "../kit/cli.ts";

const missing = ["build/plugin.wasm"].filter((f) => !existsSync(join(ROOT, f)));
const skip = missing.length ? `needs ${missing.join(" and ")}` : false;

/** examples/local.yaml with strategy inject and output openai. */
function injectConfig(dir: string): string {
  const text = readFileSync(join(ROOT, "examples/local.yaml"), "utf8")
    .replace(/^  wasm: .*$/m, `  wasm: ${join(ROOT, "build/plugin.wasm")}`)
    .replace(/^    timeout: 10000$/m, "    timeout: 10000\n    strategy: inject\n    output: openai");
  assert.match(text, /strategy: inject/);
  const file = join(dir, "inject.yaml");
  writeFileSync(file, text);
  return file;
}

test("the OpenAI SDK gets a normal completion whose content is the JSON", { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ai-json-mode-sdk-"));
  let cli: RunningCli | undefined;
  const mockLines = (kind: string) =>
    (cli?.out ?? "").split("\n").filter((l) => l.includes(`[mock] ${kind} POST`)).length;
  const waitFor = async (cond: () => boolean, what: string) => {
    const end = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > end) assert.fail(`${what}:\n${cli?.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  let code;
  try {
    cli = await startCli(["--config", injectConfig(dir), "--port", "0", "--no-build"], { dropEnv: /^OPENAI_/ });
    const { url } = cli;

    const client = new OpenAI({ baseURL: `${url}/api/openai/v1`, apiKey: "sk-client-not-checked", maxRetries: 0 });

    // The chat model complies: one call, no JSON-mode call.
    const completion = await client.chat.completions.create({
      model: "qwen-plus",
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: "hello" },
      ],
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.choices[0].message.role, "assistant");
    assert.equal(completion.choices[0].finish_reason, "stop");
    const content = completion.choices[0].message.content ?? "";
    assert.deepEqual(JSON.parse(content), { output: "Mock reply to: hello" });
    assert.equal(content, '{"output":"Mock reply to: hello"}', "compact JSON");
    assert.ok(completion.usage && completion.usage.total_tokens > 0);
    await waitFor(() => mockLines("chat") === 1, "the chat mock's line");
    assert.equal(mockLines("json-mode"), 0, "no JSON-mode call");

    // The raw response: mode: json; the SDK saw a 200 application/json.
    const { response } = await client.chat.completions
      .create({ model: "qwen-plus", messages: [{ role: "user", content: "raw" }] })
      .withResponse();
    assert.equal(response.headers.get("mode"), "json");
    assert.equal(mockLines("json-mode"), 0);

    // The chat model disobeys: the JSON-mode model repairs the answer; same shape for the SDK.
    const repaired = await client.chat.completions.create(
      { model: "qwen-plus", messages: [{ role: "user", content: "prose please" }] },
      { headers: { "x-mock-json": "disobey" } },
    );
    assert.deepEqual(JSON.parse(repaired.choices[0].message.content ?? ""), { output: "Mock reply to: prose please" });
    await waitFor(() => mockLines("json-mode") === 1, "the JSON-mode mock's line");

    // Streaming: the SDK reads one chunk carrying the JSON, then the end.
    const stream = await client.chat.completions.create({
      model: "qwen-plus",
      messages: [{ role: "user", content: "stream" }],
      stream: true,
    });
    let streamed = "";
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      streamed += chunk.choices[0]?.delta?.content ?? "";
    }
    assert.equal(chunks, 1);
    assert.deepEqual(JSON.parse(streamed), { output: "Mock reply to: stream" });
    assert.equal(mockLines("json-mode"), 1, "still one JSON-mode call in all");
    assert.ok(!cli.out.includes("sk-mock-key"), "the API key is never printed");
  } finally {
    code = await cli?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(code, 0, `exit status after SIGINT:\n${cli?.out}\n${cli?.err}`);
});
