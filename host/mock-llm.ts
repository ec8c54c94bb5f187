// Mock OpenAI-compatible LLM servers for offline use. These are MOCKS: every
// answer carries the header `x-mock: ai-json-mode-mock`, and every console line
// they print starts with `[mock]`.
//
// - startChatMock: the upstream chat model (shaped like Qwen through DashScope's
//   compatible mode). Replies "Mock reply to: <last user message>", or an SSE
//   stream when the request says `"stream": true`. Asked for JSON (a
//   `response_format` json_object, or a system message that mentions JSON) it
//   replies `{"output": "Mock reply to: <last user message>"}`, unless told to
//   disobey or fence it (MockBehavior `json`, request header `x-mock-json`:
//   obey | fenced | disobey); a json_object request with no message that
//   mentions JSON gets DashScope's 400.
// - startJsonModeMock: the JSON-mode model (shaped like DeepSeek). Replies with a
//   JSON object derived from the request, `{"output": <last user message>}`,
//   fenced in ```json when the request has no `response_format: json_object`,
//   and 401 without `authorization: Bearer ...`.
//
// Both answer POST `<any prefix>/chat/completions`; anything else gets a 404.
// A MockBehavior (set() for every request, enqueue() for the next ones) adds
// latency, error statuses, malformed answers, chunking, gzip and resets.
//
// The pieces are in host/mock/: types.ts, content.ts (what the mocks say),
// flavors.ts (Qwen and DeepSeek shapes), answer.ts (one answer), server.ts.

import { deepseekFlavor, qwenFlavor } from "./mock/flavors.ts";
import { startMock } from "./mock/server.ts";
import type { MockOptions, MockServer } from "./mock/types.ts";

export * from "./mock/types.ts";
export {
  MOCK_HEADER,
  MOCK_HEADER_VALUE,
  ERROR_BODIES,
  errorBody,
  NOT_JSON_BODY,
  lastUserMessage,
  chatReply,
  jsonModeObject,
  wantsJsonObject,
  systemAsksJson,
  chatJsonReply,
  JSON_STYLE_HEADER,
  JSON_STYLES,
} from "./mock/content.ts";

/** Starts the mock chat model (Qwen-shaped answers). */
export function startChatMock(opts: MockOptions = {}): Promise<MockServer> {
  return startMock(qwenFlavor, opts);
}

/** Starts the mock JSON-mode model (DeepSeek-shaped answers). */
export function startJsonModeMock(opts: MockOptions = {}): Promise<MockServer> {
  return startMock(deepseekFlavor, opts);
}
