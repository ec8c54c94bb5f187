// The two providers the mocks imitate: Qwen through DashScope's compatible
// mode (the chat model) and DeepSeek (the JSON-mode model), down to the
// order of their fields.

import {
  chatJsonReply,
  chatReply,
  jsonModeObject,
  lastUserMessage,
  promptText,
  systemAsksJson,
  wantsJsonObject,
  type JsonStyle,
} from "./content.ts";

export interface AnswerParts {
  id: string;
  created: number;
  model: string;
  content: unknown;
  finishReason: string;
  noChoices: boolean;
  promptTokens: number;
  completionTokens: number;
}

export interface Flavor {
  /** Short name used in log lines. */
  name: string;
  defaultModel: string;
  requireAuth: boolean;
  /** Checks beyond "JSON with a messages array"; returns an error message or null. */
  validate(json: any): string | null;
  /** The answer's content; `style`: how to answer a request that asks for JSON (the chat model only). */
  content(json: any, style: JsonStyle): string;
  /** The answer id for a request digest (hex). */
  id(digest: string): string;
  completion(a: AnswerParts): object;
  chunk(a: AnswerParts, delta: Record<string, unknown> | null, finish: string | null, usage: object | null): object;
}

/** The providers' 400 for `response_format: json_object` when no message mentions JSON; null otherwise. */
function jsonObjectWithoutJsonWord(json: any): string | null {
  if (wantsJsonObject(json) && !/json/i.test(promptText(json))) {
    return "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'.";
  }
  return null;
}

export const qwenFlavor: Flavor = {
  name: "chat",
  defaultModel: "qwen-max",
  requireAuth: false,
  // DashScope, like OpenAI, refuses JSON output mode when no message mentions JSON.
  validate: (json) => jsonObjectWithoutJsonWord(json),
  content(json, style) {
    const user = lastUserMessage(json);
    if (style === "disobey" || !(wantsJsonObject(json) || systemAsksJson(json))) return chatReply(user);
    return style === "fenced" ? "```json\n" + chatJsonReply(user) + "\n```" : chatJsonReply(user);
  },
  id: (digest) => `chatcmpl-mock-${digest.slice(0, 24)}`,
  completion: (a) => ({
    choices: a.noChoices
      ? []
      : [
          {
            message: { role: "assistant", content: a.content },
            finish_reason: a.finishReason,
            index: 0,
            logprobs: null,
          },
        ],
    object: "chat.completion",
    usage: {
      prompt_tokens: a.promptTokens,
      completion_tokens: a.completionTokens,
      total_tokens: a.promptTokens + a.completionTokens,
      prompt_tokens_details: { cached_tokens: 0 },
    },
    created: a.created,
    system_fingerprint: null,
    model: a.model,
    id: a.id,
  }),
  chunk: (a, delta, finish, usage) => ({
    choices: a.noChoices || delta === null ? [] : [{ delta, finish_reason: finish, index: 0, logprobs: null }],
    object: "chat.completion.chunk",
    usage,
    created: a.created,
    system_fingerprint: null,
    model: a.model,
    id: a.id,
  }),
};

export const deepseekFlavor: Flavor = {
  name: "json-mode",
  defaultModel: "deepseek-chat",
  requireAuth: true,
  // DeepSeek refuses JSON output mode when no message mentions JSON.
  validate: (json) => jsonObjectWithoutJsonWord(json),
  content(json) {
    const obj = jsonModeObject(lastUserMessage(json));
    return wantsJsonObject(json) ? obj : "```json\n" + obj + "\n```";
  },
  id: (digest) =>
    `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`,
  completion: (a) => ({
    id: a.id,
    object: "chat.completion",
    created: a.created,
    model: a.model,
    choices: a.noChoices
      ? []
      : [
          {
            index: 0,
            message: { role: "assistant", content: a.content },
            logprobs: null,
            finish_reason: a.finishReason,
          },
        ],
    usage: {
      prompt_tokens: a.promptTokens,
      completion_tokens: a.completionTokens,
      total_tokens: a.promptTokens + a.completionTokens,
      prompt_tokens_details: { cached_tokens: 0 },
      prompt_cache_hit_tokens: 0,
      prompt_cache_miss_tokens: a.promptTokens,
    },
    system_fingerprint: "fp_mock_ai_json_mode",
  }),
  chunk: (a, delta, finish, usage) => ({
    id: a.id,
    object: "chat.completion.chunk",
    created: a.created,
    model: a.model,
    system_fingerprint: "fp_mock_ai_json_mode",
    choices: a.noChoices || delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  }),
};
