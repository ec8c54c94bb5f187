// Server-Sent Events of a streamed chat completion (`stream: true`):
// collecting the content of choice 0 across the events, and writing the
// converted answer back as a stream.
//
// The body is read whole (the plugin buffers it to end of stream), so an
// event split across chunks at any byte is no different from one that is not.
// Collection is linear: each event is read into one reused tape, and the
// deltas' text goes into one growing buffer, decoded once at the end.

import {
  ByteBuilder,
  ByteSink,
  CollectingSink,
  JsonDoc,
  JsonKind,
  JsonReader,
  JsonValue,
  JsonWriter,
  byteAt,
  bytesEqual,
  indexOfByte,
  lineEnd as lineEndAt,
  parseJson,
  sourceValue,
  stringToUtf8,
} from "../json";
import { writeUsage } from "./output";

/**
 * The content of choice 0's deltas, as their escaped text (what lies between
 * the quotes in the events), in order: pieces of the body itself, or of an
 * event joined from several `data:` lines (copied aside). Together they are
 * the inside of one JSON string, written as such into the JSON-mode request
 * without being decoded or copied whole; a surrogate pair split across two
 * deltas (`"\ud83d"` then `"\ude00"`) stays one character.
 */
export class SseText {
  /** Bytes of deltas from joined events. */
  private aside: ByteBuilder = new ByteBuilder(64);
  /** Per piece: start and end in the body, or (start < 0) at -start - 1 in `aside`. */
  private starts: i32[] = [];
  private ends: i32[] = [];
  private size: i32 = 0;

  constructor(public body: Uint8Array) {}

  /** Adds bytes [start, end) of `src` (the body, or a joined event: then copied). */
  add(src: Uint8Array, start: i32, end: i32): void {
    if (end <= start) return;
    if (src === this.body) {
      this.starts.push(start);
      this.ends.push(end);
    } else {
      const at = this.aside.length;
      this.aside.pushRange(src, start, end);
      this.starts.push(-at - 1);
      this.ends.push(this.aside.length);
    }
    this.size += end - start;
  }

  /** Bytes of escaped text. */
  get byteLength(): i32 {
    return this.size;
  }

  /** Writes the content as a JSON string value. */
  writeTo(w: JsonWriter): void {
    w.beginEscapedString();
    const aside = this.aside.view();
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i];
      if (s >= 0) w.escapedPart(this.body, s, this.ends[i]);
      else w.escapedPart(aside, -s - 1, this.ends[i]);
    }
    w.endEscapedString();
  }

  /** The content as a JSON string value of its own (a copy: the plugin writes writeTo into its request instead). */
  toValue(): JsonValue {
    const w = new JsonWriter(this.size + 2);
    this.writeTo(w);
    const text = w.takeBytes();
    return sourceValue(text, 0, text.length);
  }

  /** Whether the content is only JSON whitespace (space, tab, LF, CR), escaped or not; true when empty. */
  isBlank(): bool {
    const aside = this.aside.view();
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i];
      if (!escapedBlank(s >= 0 ? this.body : aside, s >= 0 ? s : -s - 1, this.ends[i])) return false;
    }
    return true;
  }
}

export class SseResult {
  /** The deltas of choice 0 (see SseText). */
  text: SseText;
  /** The content decoded (for tests and logs: the plugin never decodes it). */
  get content(): string {
    return this.text.toValue().asString();
  }
  /** The first chunk (for id, model, created of the converted stream); null when there was none. */
  first: JsonValue | null = null;
  /** The last `usage` object seen, if any. */
  usage: JsonValue | null = null;
  events: i32 = 0;
  reason: string = "";
  get ok(): bool {
    return this.reason.length == 0;
  }
  constructor(body: Uint8Array) {
    this.text = new SseText(body);
  }
}

/** One collection: the reused reader, the result so far, and the events worth keeping. */
class Collector {
  r: SseResult;
  reader: JsonReader = new JsonReader();
  /** A copy of the last event carrying a `usage` object. */
  usageEvent: Uint8Array | null = null;
  constructor(body: Uint8Array) {
    this.r = new SseResult(body);
  }
}

/** Whether escaped string text [start, end) of `src` decodes to JSON whitespace only. */
function escapedBlank(src: Uint8Array, start: i32, end: i32): bool {
  let i = start;
  while (i < end) {
    const c = byteAt(src, i);
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) {
      i++;
      continue;
    }
    if (c != 0x5c) return false;
    const e = byteAt(src, i + 1);
    if (e == 0x6e || e == 0x74 || e == 0x72) {
      i += 2;
      continue;
    }
    if (e != 0x75 || i + 6 > end) return false;
    // \u0020, \u0009, \u000a, \u000d (any case)
    if (byteAt(src, i + 2) != 0x30 || byteAt(src, i + 3) != 0x30) return false;
    const hi = byteAt(src, i + 4);
    const lo = byteAt(src, i + 5) | 0x20;
    const blank = (hi == 0x32 && lo == 0x30) || (hi == 0x30 && (lo == 0x39 || lo == 0x61 || lo == 0x64));
    if (!blank) return false;
    i += 6;
  }
  return true;
}

const DATA = stringToUtf8("data");
const EVENT = stringToUtf8("event");
const ERROR = stringToUtf8("error");
const DONE = stringToUtf8("[DONE]");
const CHOICES = stringToUtf8("choices");
const USAGE = stringToUtf8("usage");
const INDEX = stringToUtf8("index");
const DELTA = stringToUtf8("delta");
const CONTENT = stringToUtf8("content");

/**
 * Parses an SSE body and collects the deltas of choice 0 (the choice whose
 * `index` is 0; a choice without an index counts by its position). Lines end
 * in LF, CRLF or CR; a leading UTF-8 byte order mark is ignored; an event's
 * `data:` lines are joined with LF; `data: [DONE]` ends the stream; comments
 * and other fields are ignored. An event whose data is not JSON, one carrying
 * an `error` member, or one of type `error` (`event: error`, whatever its
 * data) makes the whole stream unusable (reason set).
 */
export function collectSse(body: Uint8Array): SseResult {
  const c = new Collector(body);
  const r = c.r;
  const data = new ByteBuilder();
  let dataStart = -1; // a single data line is read where it is, without a copy
  let dataEnd = -1;
  let lines = 0;
  let isError = false;
  let done = false;
  const n = body.length;
  let i = n >= 3 && byteAt(body, 0) == 0xef && byteAt(body, 1) == 0xbb && byteAt(body, 2) == 0xbf ? 3 : 0;
  while (i <= n && !done) {
    // One line: [i, lineEnd)
    const lineEnd = lineEndAt(body, i, n);
    let end = lineEnd;
    if (end < n && byteAt(body, end) == 0x0d && end + 1 < n && byteAt(body, end + 1) == 0x0a) end++;
    const next = end + 1;
    if (lineEnd == i) {
      // Blank line (or end of input): dispatch the event.
      if (lines > 0 || isError) {
        const verdict = dispatch(c, body, data, lines, dataStart, dataEnd, isError);
        if (verdict < 0) return r;
        if (verdict == 0) done = true;
      }
      data.clear();
      lines = 0;
      isError = false;
    } else if (byteAt(body, i) != 0x3a /* ':' comment */) {
      const colon = indexOfByte(body, 0x3a, i, lineEnd);
      let v = colon + 1;
      if (v < lineEnd && byteAt(body, v) == 0x20) v++;
      if (v > lineEnd) v = lineEnd;
      if (bytesEqual(body, i, colon, DATA)) {
        if (lines == 0) {
          dataStart = v;
          dataEnd = lineEnd;
        } else {
          if (lines == 1) data.pushRange(body, dataStart, dataEnd);
          data.pushByte(0x0a);
          data.pushRange(body, v, lineEnd);
        }
        lines++;
      } else if (bytesEqual(body, i, colon, EVENT)) {
        isError = bytesEqual(body, v, lineEnd, ERROR);
      }
    }
    if (lineEnd >= n) {
      // Input ended: dispatch a last event not followed by a blank line.
      if ((lines > 0 || isError) && !done) {
        const verdict = dispatch(c, body, data, lines, dataStart, dataEnd, isError);
        if (verdict < 0) return r;
      }
      break;
    }
    i = next;
  }
  const usageEvent = c.usageEvent;
  if (usageEvent !== null) {
    const parsed = parseJson(usageEvent);
    if (parsed.ok) r.usage = parsed.value!.get("usage");
  }
  if (r.events == 0) r.reason = "no data events in the stream";
  return r;
}

/** Hands an event's data (one line in place, or several joined in `data`) to takeEvent. */
function dispatch(
  c: Collector,
  body: Uint8Array,
  data: ByteBuilder,
  lines: i32,
  start: i32,
  end: i32,
  isError: bool,
): i32 {
  if (isError) {
    c.r.reason = "stream event " + c.r.events.toString() + " is an error event (event: error)";
    return -1;
  }
  if (lines == 1) return takeEvent(c, body, start, end);
  const joined = data.view();
  return takeEvent(c, joined, 0, joined.length);
}

/** Handles one event's data, bytes [start, end) of `src`. Returns 1 to go on, 0 at [DONE], -1 on error (reason set). */
function takeEvent(c: Collector, src: Uint8Array, start: i32, end: i32): i32 {
  const r = c.r;
  if (bytesEqual(src, start, end, DONE)) return 0;
  const doc = c.reader.read(src, start, end);
  if (doc === null) {
    r.reason = "stream event " + r.events.toString() + " is not JSON: " + c.reader.error;
    return -1;
  }
  if (doc.kindOf(0) != JsonKind.Object) {
    r.reason = "stream event " + r.events.toString() + " is not a JSON object";
    return -1;
  }
  // One pass over the members; the last of a repeated name counts (as JsonValue.get does).
  let error = -1;
  let usage = -1;
  let choices = -1;
  let member = doc.firstChild(0);
  const last = doc.endOf(0);
  while (member < last) {
    const value = member + 1;
    if (doc.nameEquals(member, CHOICES, "choices")) choices = value;
    else if (doc.nameEquals(member, USAGE, "usage")) usage = value;
    else if (doc.nameEquals(member, ERROR, "error")) error = value;
    member = doc.next(value);
  }
  if (error >= 0) {
    r.reason = "stream event " + r.events.toString() + " carries an error";
    return -1;
  }
  r.events++;
  if (r.first === null) {
    const parsed = parseJson(src.slice(start, end));
    if (parsed.ok) r.first = parsed.value;
  }
  if (usage >= 0 && doc.kindOf(usage) == JsonKind.Object) c.usageEvent = src.slice(start, end);
  if (choices < 0 || doc.kindOf(choices) != JsonKind.Array) return 1;
  let position = 0;
  let el = doc.firstChild(choices);
  const stop = doc.endOf(choices);
  while (el < stop) {
    if (doc.kindOf(el) == JsonKind.Object) takeChoice(c, doc, el, position);
    el = doc.next(el);
    position++;
  }
  return 1;
}

/** Adds a choice's delta content to the text when it is choice 0 (`index` 0, or position 0 without an index). */
function takeChoice(c: Collector, doc: JsonDoc, choice: i32, position: i32): void {
  let index = -1;
  let delta = -1;
  let member = doc.firstChild(choice);
  const last = doc.endOf(choice);
  while (member < last) {
    const value = member + 1;
    if (doc.nameEquals(member, INDEX, "index")) index = value;
    else if (doc.nameEquals(member, DELTA, "delta")) delta = value;
    member = doc.next(value);
  }
  if (index >= 0) {
    if (doc.kindOf(index) != JsonKind.Number || !doc.numberIsZero(index)) return;
  } else if (position != 0) {
    return;
  }
  if (delta < 0 || doc.kindOf(delta) != JsonKind.Object) return;
  let text = -1;
  member = doc.firstChild(delta);
  const end = doc.endOf(delta);
  while (member < end) {
    const value = member + 1;
    if (doc.nameEquals(member, CONTENT, "content")) text = value;
    member = doc.next(value);
  }
  if (text >= 0 && doc.kindOf(text) == JsonKind.String) c.r.text.add(doc.src, doc.payload(text), doc.stringEnd(text));
}

// Around the converted answer's one event.
const SSE_HEAD = stringToUtf8("data: ");
const SSE_TAIL = stringToUtf8("\n\ndata: [DONE]\n\n");

/** writeSseOutput into one buffer. */
export function buildSseOutput(
  first: JsonValue | null,
  json: Uint8Array,
  usage: JsonValue | null,
  callUsage: JsonValue | null,
): Uint8Array {
  const out = new CollectingSink();
  writeSseOutput(first, json, usage, callUsage, out);
  return out.bytes.takeBytes();
}

/**
 * The converted answer as a stream, written to `sink` in pieces: one chunk
 * carrying the JSON text with `finish_reason: "stop"` (and `usage`: the
 * stream's plus the JSON-mode call's tokens, when known), then
 * `data: [DONE]`. False when the sink refused part of it.
 */
export function writeSseOutput(
  first: JsonValue | null,
  json: Uint8Array,
  usage: JsonValue | null,
  callUsage: JsonValue | null,
  sink: ByteSink,
): bool {
  const w = new JsonWriter(65536).sendTo(sink);
  w.framing(SSE_HEAD);
  w.beginObject();
  if (first !== null) {
    const id = first.get("id");
    if (id !== null) w.key("id").value(id);
    w.key("object").string("chat.completion.chunk");
    const created = first.get("created");
    if (created !== null) w.key("created").value(created);
    const model = first.get("model");
    if (model !== null) w.key("model").value(model);
  } else {
    w.key("object").string("chat.completion.chunk");
  }
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
  w.framing(SSE_TAIL);
  return w.flush();
}
