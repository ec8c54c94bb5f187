// What a mock answers one request with, decided from its behaviour and the
// request: an error, a completion, or an SSE stream, as body pieces.

import { createHash } from "node:crypto";
import {
  ERROR_BODIES,
  JSON_STYLES,
  JSON_STYLE_HEADER,
  NOT_JSON_BODY,
  errorBody,
  promptText,
  splitContent,
  tokens,
  type JsonStyle,
} from "./content.ts";
import type { AnswerParts, Flavor } from "./flavors.ts";
import type { MockBehavior, RecordedRequest } from "./types.ts";

export interface Answer {
  status: number;
  contentType: string;
  /** The body, as the pieces the mock would write without chunkSize (SSE: one per event). */
  pieces: Buffer[];
  streamed: boolean;
}

function jsonAnswer(status: number, text: string): Answer {
  return { status, contentType: "application/json", pieces: [Buffer.from(text)], streamed: false };
}

/**
 * The answer to a chat request. `nextSeq` numbers the completions (it is
 * called only for a request that gets one), so ids differ per answer.
 */
export function buildAnswer(
  flavor: Flavor,
  b: MockBehavior,
  rec: RecordedRequest,
  model: string | undefined,
  nextSeq: () => number,
): Answer {
  const json = rec.json;

  if (b.body !== undefined) {
    const raw = typeof b.body === "function" ? b.body(rec) : b.body;
    return {
      status: b.status ?? 200,
      contentType: b.contentType ?? "application/json",
      pieces: [Buffer.from(typeof raw === "string" ? Buffer.from(raw, "utf8") : raw)],
      streamed: false,
    };
  }
  const auth = rec.headers["authorization"];
  if (flavor.requireAuth && (typeof auth !== "string" || !/^Bearer\s+\S+/i.test(auth))) {
    return jsonAnswer(401, ERROR_BODIES[401]);
  }
  if (b.status !== undefined && b.status !== 200) return jsonAnswer(b.status, errorBody(b.status));
  if (!json || typeof json !== "object" || !Array.isArray(json.messages)) {
    return jsonAnswer(400, errorBody(400, "mock: the body must be a JSON object with a messages array"));
  }
  const invalid = flavor.validate(json);
  if (invalid) return jsonAnswer(400, errorBody(400, invalid));

  const seq = nextSeq();
  const digest = createHash("sha256").update(`${flavor.name}\n${seq}\n${rec.body}`).digest("hex");
  let content: unknown =
    b.content === undefined
      ? flavor.content(json, jsonStyle(b, rec))
      : typeof b.content === "function"
        ? b.content(rec)
        : b.content;
  let finishReason = "stop";
  if (b.malformed === "truncated") {
    const cps = Array.from(String(content));
    content = cps.slice(0, Math.floor(cps.length / 2)).join("");
    finishReason = "length";
  } else if (b.malformed === "empty-content") {
    content = "";
  } else if (b.malformed === "content-number") {
    content = 42;
  }
  const parts: AnswerParts = {
    id: flavor.id(digest),
    created: Math.floor(Date.now() / 1000),
    model: model ?? (typeof json.model === "string" && json.model ? json.model : flavor.defaultModel),
    content,
    finishReason,
    noChoices: b.malformed === "no-choices",
    promptTokens: tokens(promptText(json)),
    completionTokens: typeof content === "string" ? tokens(content) : 1,
  };
  if (json.stream === true) return streamAnswer(flavor, b, json, parts);
  const text = b.malformed === "not-json" ? NOT_JSON_BODY : JSON.stringify(flavor.completion(parts));
  return {
    status: 200,
    contentType: b.contentType ?? "application/json",
    pieces: [Buffer.from(text)],
    streamed: false,
  };
}

/** How to answer a request that asks for JSON: the behaviour's `json`, else the request's x-mock-json header, else obey. */
function jsonStyle(b: MockBehavior, rec: RecordedRequest): JsonStyle {
  if (b.json !== undefined) return b.json;
  const h = rec.headers[JSON_STYLE_HEADER];
  const v = (Array.isArray(h) ? h[0] : (h ?? "")).trim().toLowerCase();
  return (JSON_STYLES as readonly string[]).includes(v) ? (v as JsonStyle) : "obey";
}

/** An SSE answer: a role chunk, the content in pieces, an optional usage chunk, [DONE]. */
function streamAnswer(flavor: Flavor, b: MockBehavior, json: any, parts: AnswerParts): Answer {
  const events: Buffer[] = [];
  const event = (data: string) => events.push(Buffer.from(`data: ${data}\n\n`));
  if (b.malformed === "not-json") {
    event("this event is not JSON (ai-json-mode mock)");
  } else {
    event(JSON.stringify(flavor.chunk(parts, { content: "", role: "assistant" }, null, null)));
    const pieces = typeof parts.content === "string" ? splitContent(parts.content) : [parts.content];
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      event(JSON.stringify(flavor.chunk(parts, { content: piece }, last ? parts.finishReason : null, null)));
    });
    if (json.stream_options && json.stream_options.include_usage === true) {
      const full = flavor.completion(parts) as { usage: object };
      event(JSON.stringify(flavor.chunk(parts, null, null, full.usage)));
    }
  }
  event("[DONE]");
  return {
    status: 200,
    contentType: b.contentType ?? "text/event-stream;charset=UTF-8",
    pieces: events,
    streamed: true,
  };
}
