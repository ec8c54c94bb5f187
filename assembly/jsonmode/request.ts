// strategy: inject. The chat request itself asks for JSON, so a model that
// complies needs no second call.
//
// Request phase: a POST with content-type application/json (no
// content-encoding, no trailers, a body of at most maxBodyBytes) is held and
// its body collected; when the body is a JSON object with a `messages` array,
//   - the JSON instruction (config.prompt: the configured system prompt, with
//     the schema when jsonSchema is set, the text the JSON-mode call sends) is
//     added as a system message: appended to the content of a leading
//     `system` (or `developer`) message after a blank line; a leading system
//     message whose content is an array of parts gets a text part appended;
//     without a leading system message a new one is put first;
//   - `response_format: {"type": "json_object"}` is added when the request has
//     none (absent or null) and responseFormat is json_object; a request that
//     carries one keeps it;
//   - every other member is copied as it was (numbers and strings from their
//     source text; the output is compact).
// Anything else goes upstream byte for byte. The caller removes
// content-length from the held headers once the new body is written.
//
// Response phase: an answer that is JSON as a whole or in a code fence, and
// satisfies jsonSchema, is the output as it is (no JSON-mode call); otherwise
// the JSON-mode model repairs it as in strategy rewrite.
//
// Every function here is pure apart from reading the held request headers, and
// never traps on any input.

import { HttpContext, contentLengthOf } from "../higress";
import { ByteBuilder, JsonValue, JsonWriter, asciiLower, jsonString, parseJson, serializeJson } from "../json";
import { formatErrors } from "../jsonschema";
import { JsonModeConfig } from "./config";
import { extractWholeOrFenced } from "./extract";

/** Put between a leading system message's own text and the JSON instruction. */
export const INSTRUCTION_SEPARATOR = "\n\n";
/** INSTRUCTION_SEPARATOR as the inside of a JSON string (no quotes). */
const SEPARATOR_ESCAPED: Uint8Array = escapedText(INSTRUCTION_SEPARATOR);

function escapedText(s: string): Uint8Array {
  const token = serializeJson(jsonString(s));
  return token.subarray(1, token.length - 1);
}

/** The media type of a content-type value, lower-case, without parameters. */
export function mediaType(value: string): string {
  let media = value;
  const semi = media.indexOf(";");
  if (semi >= 0) media = media.substring(0, semi);
  return asciiLower(media.trim());
}

/** A request whose body is not looked at, and why: a metric name part and a log text. */
export class SkipReason {
  constructor(
    public code: string,
    public text: string,
  ) {}
}

/**
 * Why the request's body is not a candidate for the JSON instruction, from
 * its (held) headers; null when it is.
 */
export function injectSkipReason(ctx: HttpContext<JsonModeConfig>, config: JsonModeConfig): SkipReason | null {
  if (ctx.requestHeadersEndOfStream) return new SkipReason("no_body", "no body");
  const method = ctx.getRequestHeader(":method");
  if (method === null || method != "POST") {
    return new SkipReason("method", "method " + (method === null ? "missing" : method));
  }
  const type = ctx.getRequestHeader("content-type");
  if (type === null || mediaType(type) != "application/json") {
    return new SkipReason("content_type", "content-type " + (type === null ? "missing" : type));
  }
  const encoding = ctx.getRequestHeader("content-encoding");
  if (encoding !== null && encoding.length > 0 && asciiLower(encoding) != "identity") {
    return new SkipReason("content_encoding", "content-encoding " + encoding);
  }
  const length = contentLengthOf(ctx.getRequestHeader("content-length"));
  if (length > config.maxBodyBytes) {
    return new SkipReason(
      "too_large",
      "content-length " + length.toString() + " over maxBodyBytes " + config.maxBodyBytes.toString(),
    );
  }
  if (ctx.getRequestHeader("trailer") !== null) {
    // Trailers end the request instead of a last body callback: the body could not be written.
    return new SkipReason("trailers", "trailers announced");
  }
  return null;
}

/** The chat request with the JSON instruction, or why it stays as it is. */
export class Injection {
  /** The new body; null: the request goes on untouched. */
  body: Uint8Array | null = null;
  /** Why not (a metric name part): not_json, not_chat, system_content. */
  code: string = "";
  /** Why not, or what was done, for the log line. */
  text: string = "";
}

function untouched(code: string, text: string): Injection {
  const r = new Injection();
  r.code = code;
  r.text = text;
  return r;
}

/** Whether a message is a leading instruction the JSON instruction may join: role system or developer. */
function isSystemMessage(m: JsonValue | null): bool {
  if (m === null || !m.isObject()) return false;
  const role = m.get("role");
  if (role === null || !role.isString()) return false;
  const r = role.asString();
  return r == "system" || r == "developer";
}

/** Adds the JSON instruction to a chat request body (see the top of this file). */
export function injectJsonInstruction(config: JsonModeConfig, body: Uint8Array): Injection {
  const parsed = parseJson(body);
  if (!parsed.ok) return untouched("not_json", "body is not JSON: " + parsed.error);
  const request = parsed.value!;
  if (!request.isObject()) return untouched("not_chat", "body is not a JSON object");
  const messages = request.get("messages");
  if (messages === null || !messages.isArray()) return untouched("not_chat", "no messages array");
  const prompt = config.promptJson;

  const first = messages.at(0);
  const merge = isSystemMessage(first);
  if (merge) {
    const content = first!.get("content");
    if (content !== null && !content.isString() && !content.isArray() && !content.isNull()) {
      return untouched(
        "system_content",
        "the leading " + first!.get("role")!.asString() + " message's content is neither a string nor an array",
      );
    }
  }
  const format = request.get("response_format");
  const addFormat = config.jsonObjectFormat && (format === null || format.isNull());

  const w = new JsonWriter(body.length + prompt.length + 128);
  w.beginObject();
  const keys = request.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = request.get(k)!;
    w.key(k);
    if (k == "messages") {
      writeMessages(w, v, merge, prompt);
    } else if (k == "response_format" && addFormat) {
      writeJsonObjectFormat(w);
    } else {
      w.value(v);
    }
  }
  if (addFormat && format === null) {
    w.key("response_format");
    writeJsonObjectFormat(w);
  }
  w.endObject();

  const r = new Injection();
  r.body = w.toBytes();
  r.text =
    (merge
      ? "JSON instruction appended to the leading " + first!.get("role")!.asString() + " message"
      : "JSON instruction added as a new leading system message") +
    (addFormat ? "; response_format json_object added" : format !== null ? "; the request's response_format kept" : "");
  return r;
}

function writeJsonObjectFormat(w: JsonWriter): void {
  w.beginObject().key("type").string("json_object").endObject();
}

/** `prompt`: the JSON instruction as a JSON string token (config.promptJson). */
function writeMessages(w: JsonWriter, messages: JsonValue, merge: bool, prompt: Uint8Array): void {
  w.beginArray();
  if (merge) {
    writeMergedSystem(w, messages.at(0)!, prompt);
  } else {
    w.beginObject().key("role").string("system").key("content").raw(prompt).endObject();
  }
  for (let i = merge ? 1 : 0; i < messages.length; i++) w.value(messages.at(i)!);
  w.endArray();
}

/** The leading system message with the instruction joined to its content; its other members as they were. */
function writeMergedSystem(w: JsonWriter, message: JsonValue, prompt: Uint8Array): void {
  w.beginObject();
  const keys = message.keys();
  let sawContent = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = message.get(k)!;
    w.key(k);
    if (k != "content") {
      w.value(v);
      continue;
    }
    sawContent = true;
    if (v.isString() && !v.isBlankString()) {
      w.raw(appendedString(v, prompt));
    } else if (v.isArray()) {
      w.beginArray();
      for (let j = 0; j < v.length; j++) w.value(v.at(j)!);
      w.beginObject().key("type").string("text").key("text").raw(prompt).endObject();
      w.endArray();
    } else {
      // null, or only whitespace: nothing to keep.
      w.raw(prompt);
    }
  }
  if (!sawContent) w.key("content").raw(prompt);
  w.endObject();
}

/**
 * One JSON string token: the parsed String `value` (its source text, escapes
 * included, copied as it was), INSTRUCTION_SEPARATOR, then the text of the
 * JSON string token `prompt`.
 */
function appendedString(value: JsonValue, prompt: Uint8Array): Uint8Array {
  const head = new JsonWriter(value.sourceByteLength() + 8).value(value).toBytes();
  const out = new ByteBuilder(head.length + SEPARATOR_ESCAPED.length + prompt.length);
  out.pushBytes(head.subarray(0, head.length - 1)); // without the closing quote
  out.pushBytes(SEPARATOR_ESCAPED);
  out.pushBytes(prompt.subarray(1)); // without the opening quote
  return out.takeBytes();
}

/** The chat model's own answer, taken as the output when it is usable JSON. */
export class DirectAnswer {
  /** The JSON, compact UTF-8; null when the answer needs the JSON-mode model. */
  json: Uint8Array | null = null;
  /** Why it is not usable as it is. */
  reason: string = "";
  get ok(): bool {
    return this.json !== null;
  }
}

/**
 * Reads the chat model's answer (`content`: a JSON string value): JSON as a
 * whole or in a code fence, valid against jsonSchema when one is set.
 */
export function readDirectAnswer(config: JsonModeConfig, content: JsonValue): DirectAnswer {
  const r = new DirectAnswer();
  const extracted = extractWholeOrFenced(content.stringBytes());
  if (!extracted.ok) {
    r.reason = "the answer is not JSON: " + extracted.reason;
    return r;
  }
  const schema = config.schema;
  if (schema !== null) {
    const errors = schema.validate(extracted.value!, 10);
    if (errors.length > 0) {
      r.reason = "the answer does not match jsonSchema: " + formatErrors(errors);
      return r;
    }
  }
  r.json = extracted.json;
  return r;
}
