// Random scenarios for the conformance runner: random configurations, upstream
// responses (valid, broken, binary, streamed, split into random frames over
// HTTP/1 or HTTP/2), call answers in random order and random failures, resets
// and reconfigurations. Seeded, so a failing case can be replayed.

import { rng } from "../kit/drive.ts";
import { withMarker, type BodySpec, type Pairs, type Scenario, type Step } from "./corpus.ts";

const DEEPSEEK = "outbound|443||deepseek.dns";
const KEY = "sk-fuzz-5e1d0c9b7a";
const SCHEMA = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", minLength: 1 }, age: { type: "integer", minimum: 0 } },
};

class Gen {
  constructor(public r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  text(max: number): string {
    const parts = [
      "hello",
      "你好",
      "Alice",
      " ",
      '"',
      "\\",
      "\n",
      "😀",
      "{",
      "}",
      "[",
      "]",
      ":",
      ",",
      "é",
      "\u0000",
      "\u2028",
      "null",
      "42",
      "```",
    ];
    let s = "";
    const n = this.int(0, max);
    for (let i = 0; i < n; i++) s += this.pick(parts);
    return s;
  }
  bytes(n: number): string {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b.toString("base64");
  }
}

function completion(content: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: "chatcmpl-fuzz",
    object: "chat.completion",
    model: "qwen-max",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    ...extra,
  });
}

function sse(g: Gen, pieces: string[]): string {
  let out = "";
  for (const p of pieces) {
    out += `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: p } }] })}\n\n`;
  }
  if (g.chance(0.8)) out += "data: [DONE]\n\n";
  return out;
}

function upstreamBody(g: Gen): { body: BodySpec; type: string } {
  switch (g.int(0, 11)) {
    case 0:
      return { body: { base64: g.bytes(g.int(0, 300)) }, type: "application/json" };
    case 1:
      return { body: completion(g.text(40)).slice(0, g.int(1, 60)), type: "application/json" };
    case 2:
      return {
        body: `{"choices":[{"message":{"content":"x"}}],"deep":${"[".repeat(g.int(100, 700))}`,
        type: "application/json",
      };
    case 3:
      return {
        body: JSON.stringify({ choices: [{ message: { content: g.pick([null, 1, [], {}, ""]) } }] }),
        type: "application/json",
      };
    case 4:
      return {
        body: sse(
          g,
          Array.from({ length: g.int(1, 6) }, () => g.text(8)),
        ),
        type: "text/event-stream",
      };
    case 5:
      return { body: "data: {not json}\n\n", type: "text/event-stream" };
    case 6:
      return { body: JSON.stringify({ data: [1, 2, 3] }), type: "application/json; charset=utf-8" };
    case 7:
      return { body: "", type: "application/json" };
    default:
      return {
        body: completion(g.text(60) || "hello"),
        type: g.pick(["application/json", "application/json", "Application/JSON; charset=UTF-8"]),
      };
  }
}

function answerBody(g: Gen): Step {
  const ok = (content: unknown, extra: Record<string, unknown> = {}): Step => ({
    status: 200,
    headers: [["content-type", "application/json"]],
    body: completion(content, extra),
  });
  switch (g.int(0, 13)) {
    case 0:
      return ok(JSON.stringify({ name: g.text(6) || "x", age: g.int(-2, 90) }));
    case 1:
      return ok("```json\n" + JSON.stringify({ output: g.text(10) }) + "\n```");
    case 2:
      return ok("Sure: " + JSON.stringify([1, g.text(5), null]) + " hope it helps");
    case 3:
      return ok(g.text(30));
    case 4:
      return ok('{"output": "cut', {
        choices: [{ index: 0, message: { content: '{"output": "cut' }, finish_reason: "length" }],
      });
    case 5:
      return {
        status: g.pick([401, 429, 500, 502]),
        headers: [["content-type", "application/json"]],
        body: `{"error":{"message":"nope ${KEY.slice(0, 6)}","type":"server_error"}}`,
      };
    case 6:
      return { status: 200, body: { base64: g.bytes(g.int(0, 80)) } };
    case 7:
      return ok("");
    case 8:
      return { status: 200, body: "not json" };
    default:
      return ok(JSON.stringify({ output: g.text(20), name: "n" }));
  }
}

function requestHeaders(g: Gen, name: string): Pairs {
  const h: Pairs = [
    [":authority", g.pick(["api.example.com", "chat.example.com:8080", "other.org"])],
    [":path", "/v1/chat/completions"],
    [":method", "POST"],
    ["accept-encoding", "gzip"],
    ["x-request-id", `fuzz-${name}`],
  ];
  // A client's forged loop header, or the plugin's own marker (its call routed back through the gateway).
  if (g.chance(0.03)) h.push(["x-ai-json-mode", g.chance(0.5) ? "1" : "{{marker}}"]);
  return h;
}

function config(g: Gen): Record<string, unknown> {
  const c: Record<string, unknown> = {
    url: g.pick(["https://api.deepseek.com/v1/chat/completions", "/v1/chat/completions", "http://deepseek.dns/v1"]),
    model: "deepseek-chat",
    apiKey: KEY,
    serviceFQDN: "deepseek.dns",
    servicePort: 443,
  };
  if (g.chance(0.5)) c.onFailure = g.pick(["passthrough", "error"]);
  if (g.chance(0.4)) c.output = g.pick(["body", "openai"]);
  if (g.chance(0.5)) c.maxRetries = g.int(0, 2);
  if (g.chance(0.3)) c.jsonSchema = SCHEMA;
  if (g.chance(0.2)) c.streaming = g.pick(["convert", "passthrough"]);
  if (g.chance(0.3)) c.timeout = g.pick([1000, 20000]);
  if (g.chance(0.2)) c.temperature = g.pick([0, 0.7, 1.25]);
  if (g.chance(0.1)) c.maxTokens = g.int(1, 4096);
  if (g.chance(0.15)) c._rules_ = [{ _match_domain_: ["*.example.com"], model: "rule-model" }];
  if (g.chance(0.15)) c.maxBodyBytes = g.pick([1024, 4096]);
  if (g.chance(0.15)) c.totalTimeout = g.pick([1000, 5000, 30000]);
  return c;
}

/** `count` random scenarios; scenario i is the same for the same (seed, i). */
export function fuzzScenarios(count: number, seed: number): Scenario[] {
  const out: Scenario[] = [];
  for (let i = 0; i < count; i++) {
    const g = new Gen(rng(seed * 1000003 + i));
    const cfg = config(g);
    const streams = Array.from({ length: g.int(1, 3) }, (_, k) => "s" + k);
    const steps: Step[] = [];
    for (const s of streams) {
      steps.push({
        stream: s,
        route: "openai",
        cluster: "outbound|443||qwen.dns",
        requestHeaders: requestHeaders(g, s),
        endStream: true,
      });
      const { body, type } = upstreamBody(g);
      const status = g.chance(0.88) ? "200" : g.pick(["404", "500", "429"]);
      const headers: Pairs = [
        [":status", status],
        ["content-type", type],
      ];
      if (g.chance(0.04)) headers.push(["content-encoding", "gzip"]);
      steps.push({
        stream: s,
        upstream: g.pick(["http1", "http2"]),
        responseHeaders: headers,
        endStream: g.chance(0.03),
      });
      const step: Step = { stream: s, responseBody: body, endStream: true };
      if (g.chance(0.6)) step.chunkSize = g.int(1, 400);
      steps.push(step);
    }
    if (g.chance(0.1)) steps.push({ configure: g.chance(0.7) ? config(g) : { url: 1 } });
    if (g.chance(0.1)) steps.push({ stream: g.pick(streams), clientReset: true });
    // Answers for every call the plugin may make, in a random order, some failing.
    const maxCalls = streams.length * 3 + 1;
    const order = Array.from({ length: maxCalls }, (_, k) => k + 1).sort(() => g.r() - 0.5);
    for (const k of order) {
      const roll = g.r();
      if (roll < 0.06) steps.push({ reset: k });
      else if (roll < 0.1) steps.push({ connectFailure: k });
      else if (roll < 0.14) steps.push({ advance: g.int(500, 60000) });
      else steps.push({ answer: k, ...answerBody(g) });
    }
    // Later retries get answers too; then let every timeout fire.
    for (let k = maxCalls + 1; k <= maxCalls + 6; k++) steps.push({ answer: k, ...answerBody(g) });
    steps.push({ advance: 900000 });
    out.push(
      withMarker({
        name: `fuzz-${seed}-${i}`,
        clusters: g.chance(0.92) ? { [DEEPSEEK]: g.chance(0.95) ? "healthy" : "no_healthy_upstream" } : {},
        bufferLimit: g.chance(0.8) ? 32768 : 1048576,
        config: cfg,
        steps,
      }),
    );
  }
  return out;
}
