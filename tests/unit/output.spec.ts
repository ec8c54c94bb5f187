// The converted response's `usage` (output: openai): the JSON-mode answer's
// token counts are added, and nothing else of that answer reaches the client.
import { JsonWriter, parseJsonString } from "../../assembly/json";
import { buildOpenAIOutput, writeUsage } from "../../assembly/jsonmode/output";

function json(s: string): string {
  return s;
}

function output(completion: string, answerUsage: string): string {
  const c = parseJsonString(completion).value!;
  const u = answerUsage.length > 0 ? parseJsonString(answerUsage).value : null;
  const out = buildOpenAIOutput(c, Uint8Array.wrap(String.UTF8.encode('{"a":1}')), u);
  return String.UTF8.decodeUnsafe(out.dataStart, out.length);
}

const CALL_USAGE =
  '{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":2},"provider_note":"internal-7","cost":0.25}';

describe("usage in output: openai", () => {
  it("an upstream without usage gets only the numeric fields of the call's usage", () => {
    const out = output('{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}', CALL_USAGE);
    expect(out).toBe(
      json(
        '{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"{\\"a\\":1}"}}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.25}}',
      ),
    );
  });
  it("an upstream with usage: the call's counts are added, its other fields left out", () => {
    const out = output(
      '{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}',
      CALL_USAGE,
    );
    expect(out).toBe(
      json(
        '{"choices":[{"message":{"content":"{\\"a\\":1}"}}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}',
      ),
    );
  });
  it("a call usage that is no object is not copied", () => {
    expect(output('{"choices":[{"message":{"content":"hi"}}]}', '"secret text"')).toBe(
      json('{"choices":[{"message":{"content":"{\\"a\\":1}"}}]}'),
    );
    expect(output('{"choices":[{"message":{"content":"hi"}}]}', "")).toBe(
      json('{"choices":[{"message":{"content":"{\\"a\\":1}"}}]}'),
    );
  });
  it("an upstream usage that is null or not an object: numeric fields of the call's only", () => {
    const w = new JsonWriter(64);
    writeUsage(w, parseJsonString("null").value, parseJsonString(CALL_USAGE).value);
    const b = w.toBytes();
    expect(String.UTF8.decodeUnsafe(b.dataStart, b.length)).toBe(
      '{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.25}',
    );
    const w2 = new JsonWriter(64);
    writeUsage(w2, null, parseJsonString('["x"]').value);
    const b2 = w2.toBytes();
    expect(String.UTF8.decodeUnsafe(b2.dataStart, b2.length)).toBe("null");
  });
});
