// Server-Sent Events of a streamed chat completion (`stream: true`):
// collecting `choices[0].delta.content` across the events, and writing the
// converted answer back as a stream.
//
// The body is read whole (the plugin buffers it to end of stream), so an
// event split across chunks at any byte is no different from one that is not.

import { ByteBuilder, JsonValue, JsonWriter, parseJson } from "../json";
import { writeUsage } from "./completion";

export class SseResult {
  /**
   * The concatenated delta contents. Joined as UTF-16 text, so a surrogate
   * pair split across two deltas (`"\ud83d"` then `"\ude00"`) stays one character.
   */
  content: string = "";
  /** The first chunk (for id, model, created of the converted stream); null when there was none. */
  first: JsonValue | null = null;
  /** The last `usage` object seen, if any. */
  usage: JsonValue | null = null;
  events: i32 = 0;
  reason: string = "";
  get ok(): bool {
    return this.reason.length == 0;
  }
}

function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x09;
}

/**
 * Parses an SSE body and collects the deltas. Lines end in LF, CRLF or CR;
 * an event's `data:` lines are joined with LF; `data: [DONE]` ends the stream;
 * comments and other fields are ignored. An event whose data is not JSON, or
 * an error event, makes the whole stream unusable (reason set).
 */
export function collectSse(body: Uint8Array): SseResult {
  const r = new SseResult();
  const content = new Array<string>();
  const data = new ByteBuilder();
  let hasData = false;
  let done = false;
  const n = body.length;
  let i = 0;
  while (i <= n && !done) {
    // One line: [i, end)
    let end = i;
    while (end < n && body[end] != 0x0a && body[end] != 0x0d) end++;
    const lineEnd = end;
    if (end < n && body[end] == 0x0d && end + 1 < n && body[end + 1] == 0x0a) end++;
    const next = end + 1;
    if (lineEnd == i) {
      // Blank line (or end of input): dispatch the event.
      if (hasData) {
        const ev = data.toBytes();
        const verdict = takeEvent(r, content, ev);
        if (verdict < 0) return r;
        if (verdict == 0) done = true;
      }
      data.clear();
      hasData = false;
    } else if (body[i] != 0x3a /* ':' comment */) {
      let colon = i;
      while (colon < lineEnd && body[colon] != 0x3a) colon++;
      const isData =
        colon - i == 4 && body[i] == 0x64 && body[i + 1] == 0x61 && body[i + 2] == 0x74 && body[i + 3] == 0x61;
      if (isData) {
        let v = colon + 1;
        if (v < lineEnd && body[v] == 0x20) v++;
        if (hasData) data.pushByte(0x0a);
        data.pushRange(body, v, lineEnd);
        hasData = true;
      }
    }
    if (lineEnd >= n) {
      // Input ended: dispatch a last event not followed by a blank line.
      if (hasData && !done) {
        const verdict = takeEvent(r, content, data.toBytes());
        if (verdict < 0) return r;
      }
      break;
    }
    i = next;
  }
  r.content = content.join("");
  if (r.events == 0) r.reason = "no data events in the stream";
  return r;
}

/** Handles one event's data. Returns 1 to go on, 0 at [DONE], -1 on error (reason set). */
function takeEvent(r: SseResult, content: string[], ev: Uint8Array): i32 {
  if (
    ev.length == 6 &&
    ev[0] == 0x5b &&
    ev[1] == 0x44 &&
    ev[2] == 0x4f &&
    ev[3] == 0x4e &&
    ev[4] == 0x45 &&
    ev[5] == 0x5d
  )
    return 0;
  const parsed = parseJson(ev);
  if (!parsed.ok) {
    r.reason = "stream event " + r.events.toString() + " is not JSON: " + parsed.error;
    return -1;
  }
  const chunk = parsed.value!;
  if (!chunk.isObject()) {
    r.reason = "stream event " + r.events.toString() + " is not a JSON object";
    return -1;
  }
  if (chunk.has("error")) {
    r.reason = "stream event " + r.events.toString() + " carries an error";
    return -1;
  }
  r.events++;
  if (r.first === null) r.first = chunk;
  const usage = chunk.get("usage");
  if (usage !== null && usage.isObject()) r.usage = usage;
  const choices = chunk.get("choices");
  if (choices === null || !choices.isArray() || choices.length == 0) return 1;
  const c0 = choices.at(0)!;
  const delta = c0.get("delta");
  if (delta === null || !delta.isObject()) return 1;
  const text = delta.get("content");
  if (text === null || !text.isString()) return 1;
  content.push(text.asString());
  return 1;
}

// Around the converted answer's one event (ASCII: as many bytes as characters).
const SSE_HEAD = "data: ";
const SSE_TAIL = "\n\ndata: [DONE]\n\n";

/**
 * The converted answer as a stream: one chunk carrying the JSON text with
 * `finish_reason: "stop"` (and `usage`: the stream's plus the JSON-mode
 * call's tokens, when known), then `data: [DONE]`.
 */
export function buildSseOutput(
  first: JsonValue | null,
  json: Uint8Array,
  usage: JsonValue | null,
  callUsage: JsonValue | null,
): Uint8Array {
  const w = new JsonWriter(json.length * 2 + 400);
  w.beginObject();
  let wroteObject = false;
  if (first !== null) {
    const id = first.get("id");
    if (id !== null) w.key("id").value(id);
    w.key("object").string("chat.completion.chunk");
    wroteObject = true;
    const created = first.get("created");
    if (created !== null) w.key("created").value(created);
    const model = first.get("model");
    if (model !== null) w.key("model").value(model);
  }
  if (!wroteObject) w.key("object").string("chat.completion.chunk");
  w.key("choices").beginArray().beginObject();
  w.key("index").integer(0);
  w.key("delta").beginObject().key("role").string("assistant").key("content").stringFromUtf8(json).endObject();
  w.key("finish_reason").string("stop");
  w.endObject().endArray();
  if (usage !== null || callUsage !== null) {
    w.key("usage");
    writeUsage(w, usage, callUsage);
  }
  w.endObject();
  const event = w.toBytes();
  const out = new ByteBuilder(SSE_HEAD.length + event.length + SSE_TAIL.length);
  out.pushString(SSE_HEAD);
  out.pushBytes(event);
  out.pushString(SSE_TAIL);
  return out.takeBytes();
}
