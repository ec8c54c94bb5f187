// Reading OpenAI-compatible chat completions and writing the JSON-mode
// request and the converted response. Every function here is pure and never
// traps on any input.

import {
  JsonKind,
  JsonPath,
  JsonValue,
  JsonWriter,
  parseJson,
  scanPath,
  sourceValue,
  unescapeInPlace,
  hasLoneSurrogateEscape,
  quotedLength,
} from "../json";
import { Extracted, extractJson } from "./extract";
import { JsonModeConfig } from "./config";
import { Schema, formatErrors, stepsFor } from "../jsonschema";
import { Failure, FailureCode } from "./failure";
import { SseText } from "./sse";

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

/** The path of a completion's content, and the names of the kinds scanPath reports. */
const CONTENT_STEPS: string[] = ["choices", "#0", "message", "content"];
const KIND_NAMES: string[] = ["null", "boolean", "number", "string", "array", "object"];

function kindName(kind: i32): string {
  return kind >= 0 && kind < KIND_NAMES.length ? KIND_NAMES[kind] : "null";
}

/**
 * `choices[0].message.content` of a completion whose text `body` was scanned
 * along CONTENT_STEPS into `path`, or why there is none. The content
 * and the completion read the body's bytes: nothing is built.
 */
function contentAt(body: Uint8Array, path: JsonPath): ContentResult {
  const root = path.kindAt(0);
  if (root != JsonKind.Object)
    return new ContentResult(null, "not a chat completion (JSON " + kindName(root) + ")", NOT_COMPLETION);
  const choices = path.kindAt(1);
  if (choices < 0) return new ContentResult(null, "not a chat completion (no choices)", NOT_COMPLETION);
  if (choices != JsonKind.Array) return new ContentResult(null, "choices is not an array", FailureCode.NoContent);
  const first = path.kindAt(2);
  if (first < 0) return new ContentResult(null, "no choices (empty array)", FailureCode.NoContent);
  if (first != JsonKind.Object) return new ContentResult(null, "choices[0] is not an object", FailureCode.NoContent);
  if (path.kindAt(3) != JsonKind.Object)
    return new ContentResult(null, "choices[0].message missing", FailureCode.NoContent);
  const kind = path.kindAt(4);
  if (kind < 0 || kind == JsonKind.Null)
    return new ContentResult(null, "choices[0].message.content missing", FailureCode.NoContent);
  if (kind != JsonKind.String)
    return new ContentResult(
      null,
      "choices[0].message.content is not a string (" + kindName(kind) + ")",
      FailureCode.NoContent,
    );
  const content = sourceValue(body, path.starts[4], path.ends[4]);
  if (content.isBlankString())
    return new ContentResult(null, "choices[0].message.content is empty", FailureCode.EmptyContent);
  return new ContentResult(content, "");
}

/**
 * Reads the content of an upstream response body (raw bytes). The body is
 * validated and scanned for the content without being built (its memory does
 * not grow with the document's size); the completion is kept as its text,
 * parsed only if something asks for its members.
 */
export function readCompletionContent(body: Uint8Array): ContentResult {
  if (body.length == 0) return new ContentResult(null, "empty body", FailureCode.UpstreamNotJson);
  const path = new JsonPath(CONTENT_STEPS);
  const scanned = scanPath(body, path);
  if (!scanned.ok) return new ContentResult(null, "body is not JSON: " + scanned.error, FailureCode.UpstreamNotJson);
  const r = contentAt(body, path);
  if (r.ok) r.completion = sourceValue(body, path.starts[0], path.ends[0]);
  return r;
}

/**
 * The text of an answer, replayed on a retry: its decoded UTF-8 bytes, or
 * (when it holds a lone surrogate, which UTF-8 cannot carry) the string.
 */
export class AnswerText {
  constructor(
    public bytes: Uint8Array,
    public text: string | null = null,
  ) {}
  static empty(): AnswerText {
    return new AnswerText(new Uint8Array(0));
  }
  get length(): i32 {
    const t = this.text;
    return t !== null ? t.length : this.bytes.length;
  }
  /** Writes it as a JSON string (as JsonWriter.string of the decoded text would). */
  writeTo(w: JsonWriter): void {
    const t = this.text;
    if (t !== null) w.string(t);
    else w.stringFromUtf8(this.bytes);
  }
  /** Upper bound of what writeTo writes. */
  get writtenSize(): i32 {
    const t = this.text;
    return t !== null ? quotedLength(t) : this.bytes.length * 6 + 2;
  }
}

/** One failed attempt, replayed to the model on the next try. */
export class Attempt {
  constructor(
    /** The model's previous answer text (empty when it gave none). */
    public answer: AnswerText,
    /** What was wrong with it. */
    public problem: string,
  ) {}
}

/**
 * The JSON-mode request:
 * {"model":…,"messages":[{"role":"system","content":…},{"role":"user","content":…}, …retries],
 *  "stream":false, "response_format":{"type":"json_object"}, "max_tokens":…, "temperature":…}
 * `content` is the upstream's JSON string value; a parsed value is copied without re-encoding.
 * A streamed upstream's content may be given as its deltas' text instead (`text`, when
 * `content` is null), written straight from the stream's body.
 */
export function buildJsonModeRequest(
  config: JsonModeConfig,
  content: JsonValue | null,
  history: Attempt[] = [],
  text: SseText | null = null,
): Uint8Array {
  // Sized for the request (a view of the buffer is sent, so no capacity is wasted twice).
  let size = config.promptJson.length + quotedLength(config.model) + 200;
  if (content !== null) {
    size +=
      content.isString() && content.sourceByteLength() == 0
        ? quotedLength(content.asString())
        : content.sourceByteLength() + 2;
  } else if (text !== null) {
    size += text.byteLength + 2;
  }
  for (let i = 0; i < history.length; i++)
    size += history[i].answer.writtenSize + quotedLength(history[i].problem) + 200;
  const w = new JsonWriter(size);
  w.beginObject();
  w.key("model").string(config.model);
  w.key("messages").beginArray();
  w.beginObject().key("role").string("system").key("content").raw(config.promptJson).endObject();
  w.beginObject().key("role").string("user").key("content");
  if (content !== null) w.value(content);
  else if (text !== null) text.writeTo(w);
  else w.string("");
  w.endObject();
  for (let i = 0; i < history.length; i++) {
    const a = history[i];
    if (a.answer.length > 0) {
      w.beginObject().key("role").string("assistant").key("content");
      a.answer.writeTo(w);
      w.endObject();
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
  return w.takeBytes();
}

/** What the JSON-mode call produced. */
export class AnswerResult {
  /** The JSON value, compact UTF-8; null on failure. */
  json: Uint8Array | null = null;
  failure: Failure | null = null;
  /** The model's answer text, for a retry. */
  answer: AnswerText = AnswerText.empty();
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

/**
 * Turns the JSON-mode call's answer into the new response body, validating it
 * against the schema. Memory stays within a few times the answer's size: the
 * answer is scanned for its content without being built, the content is
 * decoded in place (`body`'s bytes are overwritten), the JSON in it is found
 * by validating, parsed only for the schema check (and released before the
 * compact output is written straight from the text).
 */
export function readJsonModeAnswer(config: JsonModeConfig, status: i32, body: Uint8Array): AnswerResult {
  if (status == 0) return failed(FailureCode.CallFailed, "call reset (no answer)");
  if (status != 200) {
    const t = errorType(body);
    return failed(FailureCode.CallFailed, "call answered " + status.toString() + (t.length > 0 ? " (" + t + ")" : ""));
  }
  if (body.length == 0) return failed(FailureCode.InvalidAnswer, "call answered 200 with an empty body");
  const path = new JsonPath(CONTENT_STEPS);
  const scanned = scanPath(body, path);
  if (!scanned.ok) return failed(FailureCode.InvalidAnswer, "answer is not JSON: " + scanned.error);
  const content = contentAt(body, path);
  if (!content.ok) {
    const r = failed(
      content.code == FailureCode.EmptyContent ? FailureCode.EmptyContent : FailureCode.InvalidAnswer,
      "answer: " + content.reason,
      content.code == FailureCode.EmptyContent,
    );
    return r;
  }
  // What else the answer's text holds is read before the content is decoded over it.
  const truncated = finishReason(body) == "length";
  const usage = usageOf(body);
  const c = content.content!;
  // A lone surrogate escape would be lost by decoding to UTF-8: keep the text as it is then.
  const lone = hasLoneSurrogateEscape(body, c._start, c._end);
  const text = lone ? c.stringBytes() : decodeContent(body, c);
  const replay = lone ? new AnswerText(text, c.asString()) : new AnswerText(text);
  __collect();
  const extracted = extractJson(text);
  if (!extracted.ok) {
    const r = failed(
      FailureCode.InvalidJson,
      (truncated ? "answer truncated (finish_reason length): " : "answer holds no JSON: ") + extracted.reason,
      true,
    );
    r.answer = replay;
    return r;
  }
  const schema = config.schema;
  if (schema !== null) {
    const problems = schemaProblems(schema, extracted);
    __collect(); // the parsed answer is garbage now
    if (problems.length > 0) {
      const r = failed(FailureCode.SchemaMismatch, "answer does not match jsonSchema: " + problems, true);
      r.answer = replay;
      return r;
    }
  }
  const r = new AnswerResult();
  r.json = extracted.compactInPlace();
  r.usage = usage;
  return r;
}

/** What is wrong with the extracted answer ("" when it matches); the parsed answer is released on return. */
function schemaProblems(schema: Schema, extracted: Extracted): string {
  // The step limit grows with the answer, so checking it costs time in proportion to its size.
  const errors = schema.validate(extracted.value!, 10, stepsFor(extracted.end - extracted.start));
  extracted.release();
  return errors.length > 0 ? formatErrors(errors) : "";
}

/** The content string's text, decoded (UTF-8) in place in `body`. */
function decodeContent(body: Uint8Array, content: JsonValue): Uint8Array {
  const start = content._start;
  const end = content._end;
  const n = unescapeInPlace(body, start, end);
  return body.subarray(start, start + n);
}

/** `choices[0].finish_reason` of an answer's text ("" when absent or not a string). */
function finishReason(body: Uint8Array): string {
  const path = new JsonPath(["choices", "#0", "finish_reason"]);
  if (!scanPath(body, path).ok || path.kindAt(3) != JsonKind.String) return "";
  return sourceValue(body, path.starts[3], path.ends[3]).asString();
}

/** The answer's `usage` (any kind), or null; a copy, independent of the answer's bytes. */
function usageOf(body: Uint8Array): JsonValue | null {
  const path = new JsonPath(["usage"]);
  if (!scanPath(body, path).ok || path.kindAt(1) < 0) return null;
  const parsed = parseJson(body.slice(path.starts[1], path.ends[1]));
  return parsed.ok ? parsed.value : null;
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
