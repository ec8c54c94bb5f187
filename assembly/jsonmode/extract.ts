// Finding the JSON object or array in an LLM's answer text.
//
// Answers come in three shapes, tried in this order:
//   1. the whole (trimmed) text is the JSON value;
//   2. the value sits in a Markdown code fence (```json ... ``` or ``` ... ```);
//   3. the value is embedded in prose: the first '{' or '[' from which a whole
//      object or array parses is taken, and the prose around it is dropped.
// Only objects and arrays are accepted; a bare scalar is not an answer.
//
// Finding the value only validates the text (nothing is built); the compact
// JSON is written straight from the text, and the value is parsed only when
// asked for (a schema check), so each can be released before the other is made.

import {
  JsonValue,
  JsonParseResult,
  byteAt,
  compactInPlace,
  countJsonRange,
  validatePrefix,
  parseCounted,
  parseJsonPrefix,
  serializeSource,
  skipSpaces,
} from "../json";

export class Extracted {
  /** True when a JSON object or array was found. */
  ok: bool = false;
  /** Why nothing was found (empty when ok). */
  reason: string = "";
  /** The text searched, and where the value lies in it. */
  text: Uint8Array = new Uint8Array(0);
  start: i32 = 0;
  end: i32 = 0;
  /** Values in it (counted when it was found valid): the size of its parse. */
  nodes: i32 = 0;
  private _json: Uint8Array | null = null;
  private _value: JsonValue | null = null;

  /** Compact serialization of the value (empty when not ok), made on first use. */
  get json(): Uint8Array {
    let j = this._json;
    if (j !== null) return j;
    let made = this.ok ? serializeSource(this.text, this.start, this.end) : new Uint8Array(0);
    this._json = made;
    return made;
  }

  /** The parsed object or array (null when not ok), parsed on first use; see release(). */
  get value(): JsonValue | null {
    if (!this.ok) return null;
    let v = this._value;
    if (v === null) {
      v =
        this.nodes > 0 ? parseCounted(this.text, this.start, this.nodes) : parseJsonPrefix(this.text, this.start).value;
      this._value = v;
    }
    return v;
  }

  /** Forgets the parsed value (it is parsed again if asked for), so its memory can go. */
  release(): void {
    this._value = null;
  }

  /**
   * The compact JSON written over the text itself (no new buffer): a view of
   * `text`, whose bytes are changed. Use it last: `value` and `json` read the
   * text as it was.
   */
  compactInPlace(): Uint8Array {
    if (!this.ok) return new Uint8Array(0);
    let n = compactInPlace(this.text, this.start, this.end);
    if (n >= 0) return this.text.subarray(this.start, this.start + n);
    // An object repeats a name: written from the parsed value (of the text as it is now).
    if (n < -1) this.end = this.start + (-n - 1);
    this._json = null;
    return this.json;
  }
}

/** Failed '{' / '[' start positions tried in prose before giving up (keeps the scan near linear). */
const MAX_PROSE_ATTEMPTS: i32 = 64;
/** Code fences examined at most. */
const MAX_FENCES: i32 = 32;

export function extractJson(text: Uint8Array): Extracted {
  let len = text.length;
  let start = skipSpace(text, 0, len);
  let end = trimEnd(text, start, len);
  if (start >= end) return failure("empty content");

  // 1. The whole answer.
  let counted = countJsonRange(text, start, end);
  if (counted > 0 && isContainerAt(text, start)) return success(text, start, end, counted);
  let wholeWasScalar = counted > 0;

  // 2. A fenced code block.
  let fenced = extractFenced(text);
  if (fenced !== null) return fenced;

  // 3. Embedded in prose.
  let firstError: JsonParseResult | null = null;
  let failures = 0;
  for (let i = start; i < end && failures < MAX_PROSE_ATTEMPTS; i++) {
    let c = byteAt(text, i);
    if (c != 0x7b && c != 0x5b) continue;
    let r = validatePrefix(text, i);
    if (r.ok) return success(text, i, r.end, r.nodes);
    failures++;
    if (firstError === null) firstError = r;
    // A value cut off by the end of the text: every later '{' or '[' lies
    // inside it, so a match there would only be a fragment.
    if (r.offset >= len) break;
  }

  if (wholeWasScalar || firstError === null) return failure("no JSON object or array in the answer");
  let error = firstError.error;
  if (firstError.offset >= len) return failure("truncated JSON: " + error);
  return failure("invalid JSON: " + error);
}

/** The first fenced block (``` or ```json, any case) whose body is an object or array. */
function extractFenced(text: Uint8Array): Extracted | null {
  let len = text.length;
  let pos = 0;
  for (let fences = 0; fences < MAX_FENCES; fences++) {
    let open = findFence(text, pos);
    if (open < 0) return null;
    // The info string runs to the end of the line; accept "" or "json".
    let infoStart = open + 3;
    let lineEnd = infoStart;
    while (lineEnd < len && byteAt(text, lineEnd) != 0x0a) lineEnd++;
    let info = infoKind(text, infoStart, lineEnd);
    let bodyStart = lineEnd < len ? lineEnd + 1 : lineEnd;
    if (info == INFO_INLINE)
      bodyStart = infoStart + 4 <= len && isJsonWord(text, infoStart) ? infoStart + 4 : infoStart;
    let close = findFence(text, bodyStart);
    let bodyEnd = close < 0 ? len : close;
    let counted = info != INFO_OTHER && bodyEnd > bodyStart ? countJsonRange(text, bodyStart, bodyEnd) : -1;
    if (counted > 0) {
      let first = bodyStart;
      if (
        bodyEnd - first >= 3 &&
        byteAt(text, first) == 0xef &&
        byteAt(text, first + 1) == 0xbb &&
        byteAt(text, first + 2) == 0xbf
      )
        first += 3;
      first = skipSpaces(text, first, bodyEnd);
      if (isContainerAt(text, first)) return success(text, first, bodyEnd, counted);
    }
    if (close < 0) return null;
    pos = close + 3;
  }
  return null;
}

const INFO_PLAIN: i32 = 0; // ``` or ```json followed by a newline
const INFO_INLINE: i32 = 1; // ```{...} or ```json{...} on one line
const INFO_OTHER: i32 = 2; // another language: skip

/** Classifies the info string of a fence: bytes [start, end) up to the end of its line. */
function infoKind(text: Uint8Array, start: i32, end: i32): i32 {
  let s = skipSpace(text, start, end);
  let e = trimEnd(text, s, end);
  if (s >= e) return INFO_PLAIN;
  if (e - s == 4 && isJsonWord(text, s)) return INFO_PLAIN;
  // The JSON itself may start on the fence line.
  let first = s;
  if (e - s > 4 && isJsonWord(text, s)) first = skipSpace(text, s + 4, e);
  let c = byteAt(text, first);
  if (c == 0x7b || c == 0x5b) return INFO_INLINE;
  return INFO_OTHER;
}

/** True when the 4 bytes at `pos` spell "json" in any case. */
function isJsonWord(text: Uint8Array, pos: i32): bool {
  if (pos + 4 > text.length) return false;
  return (
    (byteAt(text, pos) | 0x20) == 0x6a &&
    (byteAt(text, pos + 1) | 0x20) == 0x73 &&
    (byteAt(text, pos + 2) | 0x20) == 0x6f &&
    (byteAt(text, pos + 3) | 0x20) == 0x6e
  );
}

/** Offset of the next "```" at or after `pos`, or -1. */
function findFence(text: Uint8Array, pos: i32): i32 {
  let len = text.length;
  for (let i = pos; i + 3 <= len; i++) {
    if (byteAt(text, i) == 0x60 && byteAt(text, i + 1) == 0x60 && byteAt(text, i + 2) == 0x60) return i;
  }
  return -1;
}

/** Whether the JSON value starting at `pos` (valid text) is an object or array. */
function isContainerAt(text: Uint8Array, pos: i32): bool {
  let c = byteAt(text, pos);
  return c == 0x7b || c == 0x5b;
}

function success(text: Uint8Array, start: i32, end: i32, nodes: i32): Extracted {
  let r = new Extracted();
  r.ok = true;
  r.text = text;
  r.start = start;
  r.end = end;
  r.nodes = nodes;
  return r;
}

function failure(reason: string): Extracted {
  let r = new Extracted();
  r.reason = reason;
  return r;
}

/** ASCII whitespace, and the bytes of a UTF-8 byte order mark. */
// @ts-ignore: decorator
@inline function isSpaceByte(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 || c == 0x0c || c == 0x0b;
}

/** First offset in [pos, end) that is not whitespace (a leading BOM counts as whitespace). */
function skipSpace(text: Uint8Array, pos: i32, end: i32): i32 {
  while (pos < end) {
    let c = byteAt(text, pos);
    if (isSpaceByte(c)) {
      pos++;
    } else if (c == 0xef && pos + 2 < end && byteAt(text, pos + 1) == 0xbb && byteAt(text, pos + 2) == 0xbf) {
      pos += 3;
    } else {
      break;
    }
  }
  return pos;
}

/** End of [start, end) with trailing whitespace removed. */
function trimEnd(text: Uint8Array, start: i32, end: i32): i32 {
  while (end > start && isSpaceByte(byteAt(text, end - 1))) end--;
  return end;
}

/**
 * extractJson without the search in prose: the whole (trimmed) text, or a
 * fenced code block. For an answer that was asked to be JSON and is taken as
 * it is (strategy inject): an object or array that merely appears in prose
 * does not make the answer JSON.
 */
export function extractWholeOrFenced(text: Uint8Array): Extracted {
  let start = skipSpace(text, 0, text.length);
  let end = trimEnd(text, start, text.length);
  if (start >= end) return failure("empty content");
  let counted = countJsonRange(text, start, end);
  let whole = counted > 0;
  if (whole && isContainerAt(text, start)) return success(text, start, end, counted);
  let fenced = extractFenced(text);
  if (fenced !== null) return fenced;
  return failure(
    whole ? "a JSON scalar, not an object or array" : "no JSON object or array as the whole answer or in a code fence",
  );
}
