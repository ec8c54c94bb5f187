// Reading OpenAI-compatible chat completions and writing the JSON-mode
// request and the converted response. Every function here is pure and never
// traps on any input.

import { JsonValue, JsonWriter, parseJson, jsonKindName as kindOf } from "../json";
import { extractJson } from "./extract";
import { JsonModeConfig } from "./config";
import { formatErrors } from "../jsonschema";
import { Failure, FailureCode } from "./failure";

/** The code of a JSON body that is no chat completion: passed untouched, whatever onFailure says. */
export const NOT_COMPLETION = "not_completion";

/** `choices[0].message.content` of a completion, or why there is none. */
export class ContentResult {
  constructor(
    public content: JsonValue | null,
    public reason: string,
    public code: string = "",
  ) {}
  get ok(): bool {
    return this.content !== null;
  }
  /** The parsed completion the content came from (null when the body was not JSON). */
  completion: JsonValue | null = null;
}

/** Reads `choices[0].message.content` from a parsed chat completion. */
export function contentOf(completion: JsonValue): ContentResult {
  // JSON that is no chat completion at all is not for the plugin ("not_completion").
  if (!completion.isObject())
    return new ContentResult(null, "not a chat completion (JSON " + kindOf(completion) + ")", NOT_COMPLETION);
  const choices = completion.get("choices");
  if (choices === null) return new ContentResult(null, "not a chat completion (no choices)", NOT_COMPLETION);
  if (!choices.isArray()) return new ContentResult(null, "choices is not an array", FailureCode.NoContent);
  if (choices.length == 0) return new ContentResult(null, "no choices (empty array)", FailureCode.NoContent);
  const first = choices.at(0)!;
  if (!first.isObject()) return new ContentResult(null, "choices[0] is not an object", FailureCode.NoContent);
  const message = first.get("message");
  if (message === null || !message.isObject())
    return new ContentResult(null, "choices[0].message missing", FailureCode.NoContent);
  const content = message.get("content");
  if (content === null || content.isNull())
    return new ContentResult(null, "choices[0].message.content missing", FailureCode.NoContent);
  if (!content.isString())
    return new ContentResult(
      null,
      "choices[0].message.content is not a string (" + kindOf(content) + ")",
      FailureCode.NoContent,
    );
  if (content.isBlankString())
    return new ContentResult(null, "choices[0].message.content is empty", FailureCode.EmptyContent);
  return new ContentResult(content, "");
}

/** Reads the content of an upstream response body (raw bytes). */
export function readCompletionContent(body: Uint8Array): ContentResult {
  if (body.length == 0) return new ContentResult(null, "empty body", FailureCode.UpstreamNotJson);
  const parsed = parseJson(body);
  if (!parsed.ok) return new ContentResult(null, "body is not JSON: " + parsed.error, FailureCode.UpstreamNotJson);
  const r = contentOf(parsed.value!);
  r.completion = parsed.value;
  return r;
}

/** One failed attempt, replayed to the model on the next try. */
export class Attempt {
  constructor(
    /** The model's previous answer text ("" when it gave none). */
    public answer: string,
    /** What was wrong with it. */
    public problem: string,
  ) {}
}

/**
 * The JSON-mode request:
 * {"model":…,"messages":[{"role":"system","content":…},{"role":"user","content":…}, …retries],
 *  "stream":false, "response_format":{"type":"json_object"}, "max_tokens":…, "temperature":…}
 * `content` is the upstream's JSON string value; a parsed value is copied without re-encoding.
 */
export function buildJsonModeRequest(config: JsonModeConfig, content: JsonValue, history: Attempt[] = []): Uint8Array {
  const w = new JsonWriter(content.sourceByteLength() + config.prompt.length * 3 + 256);
  w.beginObject();
  w.key("model").string(config.model);
  w.key("messages").beginArray();
  w.beginObject().key("role").string("system").key("content").string(config.prompt).endObject();
  w.beginObject().key("role").string("user").key("content").value(content).endObject();
  for (let i = 0; i < history.length; i++) {
    const a = history[i];
    if (a.answer.length > 0) {
      w.beginObject().key("role").string("assistant").key("content").string(a.answer).endObject();
    }
    w.beginObject()
      .key("role")
      .string("user")
      .key("content")
      .string("Your previous answer was not accepted: " + a.problem + ". Reply again with only the corrected JSON.")
      .endObject();
  }
  w.endArray();
  w.key("stream").bool(false);
  if (config.jsonObjectFormat) {
    w.key("response_format").beginObject().key("type").string("json_object").endObject();
  }
  if (config.maxTokens > 0) w.key("max_tokens").integer(config.maxTokens);
  if (!isNaN(config.temperature)) w.key("temperature").number(config.temperature);
  w.endObject();
  return w.toBytes();
}

/** What the JSON-mode call produced. */
export class AnswerResult {
  /** The JSON value, compact UTF-8; null on failure. */
  json: Uint8Array | null = null;
  failure: Failure | null = null;
  /** The model's answer text, for a retry. */
  answer: string = "";
  /** A retry with the same request may help (the model answered, but not well). */
  retryable: bool = false;
  /** The answer's `usage` object, if any. */
  usage: JsonValue | null = null;
  get ok(): bool {
    return this.json !== null;
  }
}

function failed(code: string, reason: string, retryable: bool = false): AnswerResult {
  const r = new AnswerResult();
  r.failure = new Failure(code, reason);
  r.retryable = retryable;
  return r;
}

/** The `error.type` of an OpenAI-style error body, for log lines (never its message: it may echo key fragments). */
function errorType(body: Uint8Array): string {
  const parsed = parseJson(body);
  if (!parsed.ok) return "";
  const e = parsed.value!.get("error");
  if (e === null || !e.isObject()) return "";
  const t = e.get("type");
  if (t === null || !t.isString()) return "";
  const s = t.asString();
  return isIdentifier(s) ? s : "";
}

/** 1 to 64 characters of [A-Za-z0-9_.-]: safe to log (a provider's error type, not free text). */
function isIdentifier(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 46 || c == 45;
    if (!ok) return false;
  }
  return true;
}

/** `text` with every occurrence of `secret` replaced by `***` (defence in depth for log lines and error bodies). */
export function redact(text: string, secret: string): string {
  if (secret.length == 0 || !text.includes(secret)) return text;
  return text.replaceAll(secret, "***");
}

/** Turns the JSON-mode call's answer into the new response body, validating it against the schema. */
export function readJsonModeAnswer(config: JsonModeConfig, status: i32, body: Uint8Array): AnswerResult {
  if (status == 0) return failed(FailureCode.CallFailed, "call reset (no answer)");
  if (status != 200) {
    const t = errorType(body);
    return failed(FailureCode.CallFailed, "call answered " + status.toString() + (t.length > 0 ? " (" + t + ")" : ""));
  }
  if (body.length == 0) return failed(FailureCode.InvalidAnswer, "call answered 200 with an empty body");
  const parsed = parseJson(body);
  if (!parsed.ok) return failed(FailureCode.InvalidAnswer, "answer is not JSON: " + parsed.error);
  const completion = parsed.value!;
  const content = contentOf(completion);
  if (!content.ok) {
    const r = failed(
      content.code == FailureCode.EmptyContent ? FailureCode.EmptyContent : FailureCode.InvalidAnswer,
      "answer: " + content.reason,
      content.code == FailureCode.EmptyContent,
    );
    return r;
  }
  const text = content.content!.stringBytes();
  const extracted = extractJson(text);
  if (!extracted.ok) {
    const truncated = finishReason(completion) == "length";
    const r = failed(
      FailureCode.InvalidJson,
      (truncated ? "answer truncated (finish_reason length): " : "answer holds no JSON: ") + extracted.reason,
      true,
    );
    r.answer = content.content!.asString();
    return r;
  }
  const schema = config.schema;
  if (schema !== null) {
    const errors = schema.validate(extracted.value!, 10);
    if (errors.length > 0) {
      const r = failed(FailureCode.SchemaMismatch, "answer does not match jsonSchema: " + formatErrors(errors), true);
      r.answer = content.content!.asString();
      return r;
    }
  }
  const r = new AnswerResult();
  r.json = extracted.json;
  r.usage = completion.get("usage");
  return r;
}

function finishReason(completion: JsonValue): string {
  const choices = completion.get("choices");
  if (choices === null) return "";
  const first = choices.at(0);
  if (first === null) return "";
  const fr = first.get("finish_reason");
  return fr !== null && fr.isString() ? fr.asString() : "";
}

// ---- output -------------------------------------------------------------------

const USAGE_COUNTS: string[] = ["prompt_tokens", "completion_tokens", "total_tokens"];

/** `usage` with the JSON-mode call's token counts added to the upstream's. */
export function writeUsage(w: JsonWriter, upstream: JsonValue | null, extra: JsonValue | null): void {
  if (upstream === null || !upstream.isObject()) {
    if (extra !== null) w.value(extra);
    else w.null();
    return;
  }
  w.beginObject();
  const keys = upstream.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = upstream.get(k)!;
    w.key(k);
    if (USAGE_COUNTS.includes(k) && v.isNumber() && extra !== null && extra.isObject()) {
      const e = extra.get(k);
      if (e !== null && e.isNumber()) {
        w.number(v.asNumber() + e.asNumber());
        continue;
      }
    }
    w.value(v);
  }
  w.endObject();
}

/**
 * `output: openai`: the upstream completion with `choices[0].message.content`
 * set to the JSON text and `usage` including the JSON-mode call's tokens.
 */
export function buildOpenAIOutput(completion: JsonValue, json: Uint8Array, extraUsage: JsonValue | null): Uint8Array {
  const w = new JsonWriter(json.length * 2 + 512);
  w.beginObject();
  const keys = completion.keys();
  let sawUsage = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = completion.get(k)!;
    w.key(k);
    if (k == "choices") {
      writeChoices(w, v, json);
    } else if (k == "usage") {
      sawUsage = true;
      writeUsage(w, v, extraUsage);
    } else {
      w.value(v);
    }
  }
  if (!sawUsage && extraUsage !== null) {
    w.key("usage");
    w.value(extraUsage);
  }
  w.endObject();
  return w.toBytes();
}

function writeChoices(w: JsonWriter, choices: JsonValue, json: Uint8Array): void {
  w.beginArray();
  for (let i = 0; i < choices.length; i++) {
    const c = choices.at(i)!;
    if (i != 0) {
      w.value(c);
      continue;
    }
    w.beginObject();
    const keys = c.keys();
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      w.key(k);
      if (k != "message") {
        w.value(c.get(k)!);
        continue;
      }
      const m = c.get(k)!;
      w.beginObject();
      const mk = m.keys();
      for (let n = 0; n < mk.length; n++) {
        w.key(mk[n]);
        if (mk[n] == "content") w.stringFromUtf8(json);
        else w.value(m.get(mk[n])!);
      }
      w.endObject();
    }
    w.endObject();
  }
  w.endArray();
}

/** An OpenAI-style error body: {"error":{"message":…,"type":"json_mode_error","code":…}}. */
export function buildErrorBody(failure: Failure): Uint8Array {
  const w = new JsonWriter(failure.reason.length + 120);
  w.beginObject().key("error").beginObject();
  w.key("message").string("ai-json-mode: " + failure.reason);
  w.key("type").string("json_mode_error");
  w.key("code").string(failure.code);
  w.endObject().endObject();
  return w.toBytes();
}
