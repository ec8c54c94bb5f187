// The chat mock asked for JSON (what strategy inject sends): it answers the JSON
// object when a response_format json_object or a system message asks for it,
// prose otherwise, and can be told to fence it or to disobey.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { JSON_STYLE_HEADER, chatJsonReply, chatReply, startChatMock, type MockServer } from "../../host/index.ts";

/** POSTs a chat request to the mock; returns the status and the answer's content (joined deltas for a stream). */
async function ask(
  mock: MockServer,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; content: string; raw: string }> {
  const res = await fetch(`${mock.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "qwen-plus", ...body }),
  });
  const raw = await res.text();
  if (res.status !== 200) return { status: res.status, content: "", raw };
  if (body.stream === true) {
    const deltas = raw
      .split("\n\n")
      .filter((e) => e.startsWith("data: ") && e !== "data: [DONE]")
      .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? "");
    return { status: 200, content: deltas.join(""), raw };
  }
  return { status: 200, content: JSON.parse(raw).choices[0].message.content, raw };
}

const user = (content: string) => ({ role: "user", content });
const PRETTY = (msg: string) => JSON.stringify({ output: chatReply(msg) }, null, 2);

describe("chat mock asked for JSON", () => {
  let chat: MockServer;
  before(async () => {
    chat = await startChatMock();
  });
  after(() => chat.close());
  beforeEach(() => chat.set({}));

  test("no JSON asked: prose", async () => {
    const r = await ask(chat, { messages: [{ role: "system", content: "Be brief." }, user("hi")] });
    assert.equal(r.content, chatReply("hi"));
  });

  test("response_format json_object with a message that mentions JSON: the object, pretty-printed", async () => {
    const r = await ask(chat, {
      messages: [user("Answer in JSON: hi")],
      response_format: { type: "json_object" },
    });
    assert.equal(r.content, PRETTY("Answer in JSON: hi"));
    assert.equal(r.content, chatJsonReply("Answer in JSON: hi"));
  });

  test("a system or developer message that mentions JSON is enough", async () => {
    for (const role of ["system", "developer"]) {
      const r = await ask(chat, { messages: [{ role, content: "Reply with a json object." }, user("hi")] });
      assert.equal(r.content, PRETTY("hi"), role);
    }
    const parts = await ask(chat, {
      messages: [{ role: "system", content: [{ type: "text", text: "Output JSON only." }] }, user("parts")],
    });
    assert.equal(parts.content, PRETTY("parts"));
  });

  test("json_object without the word json: DashScope's 400", async () => {
    const r = await ask(chat, { messages: [user("hi")], response_format: { type: "json_object" } });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.raw).error.message, /must contain the word 'json'/);
  });

  test(`${JSON_STYLE_HEADER}: fenced or disobey; the behaviour's json wins over the header`, async () => {
    const asks = { messages: [{ role: "system", content: "JSON only" }, user("hi")] };
    assert.equal(
      (await ask(chat, asks, { [JSON_STYLE_HEADER]: "fenced" })).content,
      "```json\n" + PRETTY("hi") + "\n```",
    );
    assert.equal((await ask(chat, asks, { [JSON_STYLE_HEADER]: "Disobey" })).content, chatReply("hi"));
    assert.equal((await ask(chat, asks, { [JSON_STYLE_HEADER]: "nonsense" })).content, PRETTY("hi"), "unknown: obey");
    chat.set({ json: "disobey" });
    assert.equal((await ask(chat, asks, { [JSON_STYLE_HEADER]: "obey" })).content, chatReply("hi"));
    chat.enqueue({ json: "fenced" });
    assert.match((await ask(chat, asks)).content, /^```json\n/);
  });

  test("streamed: the JSON comes in pieces that join to the object", async () => {
    const r = await ask(chat, { messages: [{ role: "system", content: "JSON please" }, user("stream")], stream: true });
    assert.equal(r.content, PRETTY("stream"));
    assert.ok(r.raw.split("data: ").length > 4, "several chunks");
  });
});
