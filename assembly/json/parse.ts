// Strict RFC 8259 JSON parser over UTF-8 bytes.
//
// - Never traps: every problem becomes a JsonParseResult with ok = false, a
//   short English reason and the byte offset.
// - Iterative: open containers live on explicit stacks, so nesting depth is
//   limited by `maxDepth`, not by the call stack.
// - Lazy: the parser only records a tape of nodes (see JsonDoc) holding source
//   ranges; JsonValue objects, decoded strings and numbers are made on access.

import { JsonValue, JsonKind } from "./value";
import { JsonDoc, wrapNode, TAPE_WORDS, TAPE_ESCAPED, TAPE_TRUE } from "./tape";
import {
  byteAt,
  word64At,
  swarStringSpecial,
  swarFirstIndex,
  utf8SequenceLength,
  hexValue,
  byteHex,
  stringToUtf8,
} from "./utf8";

export class JsonParseResult {
  /** True when a value was parsed. */
  ok: bool = false;
  /** The value when ok. */
  value: JsonValue | null = null;
  /** Why parsing failed, e.g. "unexpected byte 0x7d at offset 12"; "" when ok. */
  error: string = "";
  /** Byte offset of the failure; 0 when ok. */
  offset: i32 = 0;
  /** Byte offset just past the parsed value (when ok). */
  end: i32 = 0;
}

/** Failure reasons. */
const enum Failure {
  None = 0,
  UnexpectedByte,
  EndOfInput,
  InvalidUtf8,
  TooDeep,
  TrailingData,
  InvalidEscape,
  ControlCharacter,
  BadStart,
}

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;

/** Whitespace per RFC 8259: space, tab, line feed, carriage return. */
// @ts-ignore: decorator
@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

/** Offset of the first non-whitespace byte at or after `pos`. */
// @ts-ignore: decorator
@inline function skipSpace(base: usize, pos: i32, len: i32): i32 {
  while (pos < len) {
    let c = byteAt(base + <usize>pos);
    if (c > 0x20 || !isSpace(c)) break;
    pos++;
  }
  return pos;
}

/** Offset of the first non-digit at or after `pos`. */
// @ts-ignore: decorator
@inline function skipDigits(base: usize, pos: i32, len: i32): i32 {
  while (pos < len && byteAt(base + <usize>pos) - 0x30 < 10) pos++;
  return pos;
}

/** The byte after a backslash that forms a two-character escape. */
// @ts-ignore: decorator
@inline function isShortEscape(c: u32): bool {
  return c == 0x22 || c == 0x5c || c == 0x2f || c == 0x62 || c == 0x66 || c == 0x6e || c == 0x72 || c == 0x74;
}

class Parser {
  src: Uint8Array;
  base: usize;
  len: i32;
  maxDepth: i32;
  /** False: only validate, record no nodes. */
  build: bool;

  failure: Failure = Failure.None;
  failurePos: i32 = 0;

  /** The node tape (TAPE_WORDS words per node) and the number of nodes in it. */
  tape: StaticArray<i32>;
  nodes: i32 = 0;
  /** Open containers, two words each: their node and the children counted so far. */
  frames: StaticArray<i32>;
  depth: i32 = 0;

  /** Whether the last string scanned holds escapes. */
  lastStringEscaped: bool = false;

  constructor(src: Uint8Array, maxDepth: i32, build: bool) {
    // The tape starts small and doubles as needed; finish() trims it.
    this.tape = new StaticArray<i32>(build ? 64 * TAPE_WORDS : 0);
    this.frames = new StaticArray<i32>(32);
    this.src = src;
    this.base = src.dataStart;
    this.len = src.length;
    this.maxDepth = maxDepth;
    this.build = build;
  }

  /** Records a failure; returns -1 so callers can `return this.fail(...)`. */
  fail(failure: Failure, pos: i32): i32 {
    this.failure = failure;
    this.failurePos = pos;
    return -1;
  }

  message(): string {
    let pos = this.failurePos;
    let at = " at offset " + pos.toString();
    switch (this.failure) {
      case Failure.UnexpectedByte: {
        let b: u32 = pos >= 0 && pos < this.len ? byteAt(this.base + <usize>pos) : 0;
        return "unexpected byte " + byteHex(b) + at;
      }
      case Failure.EndOfInput:
        return "unexpected end of input" + at;
      case Failure.InvalidUtf8:
        return "invalid UTF-8" + at;
      case Failure.TooDeep:
        return "nesting deeper than " + this.maxDepth.toString() + at;
      case Failure.TrailingData:
        return "trailing data" + at;
      case Failure.InvalidEscape:
        return "invalid escape" + at;
      case Failure.ControlCharacter: {
        let b: u32 = pos >= 0 && pos < this.len ? byteAt(this.base + <usize>pos) : 0;
        return "control character " + byteHex(b) + " in string" + at;
      }
      case Failure.BadStart:
        return "start offset out of range" + at;
    }
    return "invalid JSON" + at;
  }

  // --- tape and container stack ---------------------------------------------

  /** Appends a node; returns its index. */
  node(word0: i32, a: i32, b: i32): i32 {
    let index = this.nodes;
    let at = index * TAPE_WORDS;
    let tape = this.tape;
    if (at + TAPE_WORDS > tape.length) {
      let grown = new StaticArray<i32>(tape.length * 2 + 64 * TAPE_WORDS);
      memory.copy(changetype<usize>(grown), changetype<usize>(tape), (<usize>at) << 2);
      this.tape = grown;
      tape = grown;
    }
    unchecked((tape[at] = word0));
    unchecked((tape[at + 1] = a));
    unchecked((tape[at + 2] = b));
    this.nodes = index + 1;
    return index;
  }

  /** The tape, copied to its exact size when much of it is unused. */
  finish(): StaticArray<i32> {
    let used = this.nodes * TAPE_WORDS;
    let tape = this.tape;
    if (tape.length - used <= 256) return tape;
    let exact = new StaticArray<i32>(used);
    memory.copy(changetype<usize>(exact), changetype<usize>(tape), (<usize>used) << 2);
    return exact;
  }

  /** Opens a container whose bracket is at `pos`; returns pos + 1, or -1 past maxDepth. */
  open(isObject: bool, pos: i32): i32 {
    let depth = this.depth;
    if (depth >= this.maxDepth) return this.fail(Failure.TooDeep, pos);
    let frames = this.frames;
    if ((depth << 1) + 2 > frames.length) {
      let grown = new StaticArray<i32>(frames.length * 2);
      memory.copy(changetype<usize>(grown), changetype<usize>(frames), (<usize>depth) << 3);
      this.frames = grown;
      frames = grown;
    }
    let node = this.build ? this.node(isObject ? JsonKind.Object : JsonKind.Array, 0, 0) : 0;
    unchecked((frames[depth << 1] = node));
    unchecked((frames[(depth << 1) + 1] = isObject ? -1 : 0)); // objects: bit 31 marks the kind
    this.depth = depth + 1;
    return pos + 1;
  }

  // @ts-ignore: decorator
  @inline topIsObject(): bool {
    return unchecked(this.frames[(this.depth << 1) - 1]) < 0;
  }

  /** Counts one more child of the innermost container. */
  // @ts-ignore: decorator
  @inline countChild(): void {
    let at = (this.depth << 1) - 1;
    let c = unchecked(this.frames[at]);
    unchecked((this.frames[at] = c < 0 ? c - 1 : c + 1));
  }

  /** Closes the innermost container: fills in its child count and extent. */
  close(): void {
    let depth = this.depth - 1;
    this.depth = depth;
    if (!this.build) return;
    let node = unchecked(this.frames[depth << 1]);
    let c = unchecked(this.frames[(depth << 1) + 1]);
    let count = c < 0 ? -1 - c : c;
    let at = node * TAPE_WORDS;
    unchecked((this.tape[at + 1] = count));
    unchecked((this.tape[at + 2] = this.nodes));
  }

  // --- grammar --------------------------------------------------------------

  /**
   * Parses one value whose first byte is at or after `pos` (after whitespace).
   * Returns the offset just past it (its nodes are on the tape); -1 on failure.
   */
  parseValue(pos: i32): i32 {
    let base = this.base;
    let len = this.len;
    while (true) {
      // A value is expected.
      pos = skipSpace(base, pos, len);
      if (pos >= len) return this.fail(Failure.EndOfInput, pos);
      let c = byteAt(base + <usize>pos);
      if (c == 0x7b || c == 0x5b) {
        let isObject = c == 0x7b;
        pos = this.open(isObject, pos);
        if (pos < 0) return -1;
        pos = skipSpace(base, pos, len);
        if (pos >= len) return this.fail(Failure.EndOfInput, pos);
        let d = byteAt(base + <usize>pos);
        if (d == (isObject ? 0x7d : 0x5d)) {
          this.close();
          pos++;
        } else if (isObject) {
          pos = this.memberName(pos);
          if (pos < 0) return -1;
          continue;
        } else {
          continue;
        }
      } else {
        pos = this.scalar(pos, c);
        if (pos < 0) return -1;
      }
      // A value just ended: hand it to its container, or finish.
      while (true) {
        if (this.depth == 0) return pos;
        this.countChild();
        pos = skipSpace(base, pos, len);
        if (pos >= len) return this.fail(Failure.EndOfInput, pos);
        let d = byteAt(base + <usize>pos);
        let isObject = this.topIsObject();
        if (d == 0x2c) {
          pos++;
          if (isObject) {
            pos = this.memberName(pos);
            if (pos < 0) return -1;
          }
          break;
        }
        if (d == (isObject ? 0x7d : 0x5d)) {
          this.close();
          pos++;
          continue;
        }
        return this.fail(Failure.UnexpectedByte, pos);
      }
    }
    return -1;
  }

  /** Parses `"name" :` at or after `pos`; returns the offset after the colon. */
  memberName(pos: i32): i32 {
    let base = this.base;
    let len = this.len;
    pos = skipSpace(base, pos, len);
    if (pos >= len) return this.fail(Failure.EndOfInput, pos);
    if (byteAt(base + <usize>pos) != QUOTE) return this.fail(Failure.UnexpectedByte, pos);
    let close = this.scanString(pos + 1);
    if (close < 0) return -1;
    if (this.build) this.stringNode(pos + 1, close);
    pos = skipSpace(base, close + 1, len);
    if (pos >= len) return this.fail(Failure.EndOfInput, pos);
    if (byteAt(base + <usize>pos) != 0x3a) return this.fail(Failure.UnexpectedByte, pos);
    return pos + 1;
  }

  /** Parses a string, number or literal starting with byte `c` at `pos`. */
  scalar(pos: i32, c: u32): i32 {
    if (c == QUOTE) {
      let close = this.scanString(pos + 1);
      if (close < 0) return -1;
      if (this.build) this.stringNode(pos + 1, close);
      return close + 1;
    }
    if (c == 0x2d || c - 0x30 < 10) return this.number(pos);
    if (c == 0x74) return this.literal(pos, 0x65757274, 4, JsonKind.Bool, true); // "true"
    if (c == 0x66) return this.literal(pos, 0x736c6166, 5, JsonKind.Bool, false); // "fals" + "e"
    if (c == 0x6e) return this.literal(pos, 0x6c6c756e, 4, JsonKind.Null, false); // "null"
    return this.fail(Failure.UnexpectedByte, pos);
  }

  stringNode(start: i32, end: i32): void {
    this.node(JsonKind.String | (this.lastStringEscaped ? TAPE_ESCAPED : 0), start, end);
  }

  /**
   * Scans string content from `pos` (just after the opening quote) and returns
   * the offset of the closing quote. Checks escapes, control characters and
   * UTF-8; sets lastStringEscaped.
   */
  scanString(pos: i32): i32 {
    let base = this.base;
    let len = this.len;
    let escaped = false;
    while (true) {
      // Skip eight plain bytes at a time.
      while (pos + 8 <= len) {
        let mask = swarStringSpecial(word64At(base + <usize>pos));
        if (mask != 0) {
          pos += swarFirstIndex(mask);
          break;
        }
        pos += 8;
      }
      if (pos >= len) return this.fail(Failure.EndOfInput, len);
      let c = byteAt(base + <usize>pos);
      if (c == QUOTE) {
        this.lastStringEscaped = escaped;
        return pos;
      }
      if (c == BACKSLASH) {
        escaped = true;
        pos = this.escape(pos);
        if (pos < 0) return -1;
        continue;
      }
      if (c < 0x20) return this.fail(Failure.ControlCharacter, pos);
      if (c >= 0x80) {
        let n = utf8SequenceLength(base, pos, len);
        if (n == 0) return this.fail(Failure.InvalidUtf8, pos);
        pos += n;
        continue;
      }
      pos++;
    }
    return -1;
  }

  /** Checks the escape whose backslash is at `pos`; returns the offset after it. */
  escape(pos: i32): i32 {
    let base = this.base;
    let len = this.len;
    if (pos + 1 >= len) return this.fail(Failure.EndOfInput, len);
    let e = byteAt(base + <usize>pos + 1);
    if (isShortEscape(e)) return pos + 2;
    if (e != 0x75) return this.fail(Failure.InvalidEscape, pos);
    for (let i = 2; i < 6; i++) {
      if (pos + i >= len) return this.fail(Failure.EndOfInput, len);
      if (hexValue(byteAt(base + <usize>(pos + i))) < 0) return this.fail(Failure.InvalidEscape, pos);
    }
    return pos + 6;
  }

  /** Parses a number at `start`: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (its value is computed on access). */
  number(start: i32): i32 {
    let base = this.base;
    let len = this.len;
    let pos = start;
    if (byteAt(base + <usize>pos) == 0x2d) {
      pos++;
      if (pos >= len) return this.fail(Failure.EndOfInput, pos);
    }
    let c = byteAt(base + <usize>pos);
    if (c == 0x30) {
      pos++;
    } else if (c - 0x31 < 9) {
      pos = skipDigits(base, pos + 1, len);
    } else {
      return this.fail(Failure.UnexpectedByte, pos);
    }
    if (pos < len && byteAt(base + <usize>pos) == 0x2e) {
      pos++;
      if (pos >= len) return this.fail(Failure.EndOfInput, pos);
      if (byteAt(base + <usize>pos) - 0x30 >= 10) return this.fail(Failure.UnexpectedByte, pos);
      pos = skipDigits(base, pos + 1, len);
    }
    if (pos < len && (byteAt(base + <usize>pos) | 0x20) == 0x65) {
      pos++;
      if (pos >= len) return this.fail(Failure.EndOfInput, pos);
      let sign = byteAt(base + <usize>pos);
      if (sign == 0x2b || sign == 0x2d) {
        pos++;
        if (pos >= len) return this.fail(Failure.EndOfInput, pos);
      }
      if (byteAt(base + <usize>pos) - 0x30 >= 10) return this.fail(Failure.UnexpectedByte, pos);
      pos = skipDigits(base, pos + 1, len);
    }
    if (this.build) this.node(JsonKind.Number, start, pos);
    return pos;
  }

  /** Matches the literal whose first 4 bytes are `word` (5 bytes for "false"). */
  literal(pos: i32, word: u32, size: i32, kind: JsonKind, truth: bool): i32 {
    let base = this.base;
    let len = this.len;
    let ok =
      pos + size <= len && load<u32>(base + <usize>pos) == word && (size == 4 || byteAt(base + <usize>pos + 4) == 0x65);
    if (!ok) {
      // Report the first byte that differs, or the end of input.
      for (let i = 0; i < size; i++) {
        if (pos + i >= len) return this.fail(Failure.EndOfInput, len);
        let expected: u32 = i < 4 ? (word >> ((<u32>i) << 3)) & 0xff : 0x65;
        if (byteAt(base + <usize>(pos + i)) != expected) return this.fail(Failure.UnexpectedByte, pos + i);
      }
    }
    if (this.build) this.node(kind | (truth ? TAPE_TRUE : 0), 0, 0);
    return pos + size;
  }
}

// ---------------------------------------------------------------------------
// Public entry points.

/** Runs the parser from `start`; with `whole`, only whitespace may follow the value. */
function run(src: Uint8Array, start: i32, maxDepth: i32, build: bool, whole: bool): JsonParseResult {
  let result = new JsonParseResult();
  let parser = new Parser(src, maxDepth, build);
  let len = src.length;
  let end: i32;
  if (start < 0 || start > len) end = parser.fail(Failure.BadStart, start);
  else end = parser.parseValue(start);
  if (end >= 0 && whole) {
    let rest = skipSpace(src.dataStart, end, len);
    if (rest < len) end = parser.fail(Failure.TrailingData, rest);
  }
  if (end < 0) {
    result.ok = false;
    result.error = parser.message();
    result.offset = parser.failurePos;
    result.end = parser.failurePos;
    return result;
  }
  result.ok = true;
  if (build) result.value = wrapNode(new JsonDoc(src, parser.finish()), 0);
  result.end = end;
  return result;
}

/** Offset where the value starts: 3 past a leading UTF-8 byte order mark, else 0. */
function afterBom(src: Uint8Array): i32 {
  if (src.length >= 3) {
    let p = src.dataStart;
    if (byteAt(p) == 0xef && byteAt(p + 1) == 0xbb && byteAt(p + 2) == 0xbf) return 3;
  }
  return 0;
}

/** Parses `src`, which must hold exactly one JSON value (plus whitespace; a leading BOM is skipped). */
export function parseJson(src: Uint8Array, maxDepth: i32 = 512): JsonParseResult {
  return run(src, afterBom(src), maxDepth, true, true);
}

/** parseJson on the UTF-8 encoding of `s` (offsets in errors are UTF-8 byte offsets). */
export function parseJsonString(s: string, maxDepth: i32 = 512): JsonParseResult {
  return parseJson(stringToUtf8(s), maxDepth);
}

/**
 * Parses one value starting at `start` (after optional whitespace); bytes after
 * it are allowed. result.end is the offset just past the value.
 */
export function parseJsonPrefix(src: Uint8Array, start: i32, maxDepth: i32 = 512): JsonParseResult {
  return run(src, start, maxDepth, true, false);
}

/** True when `src` is exactly one valid JSON value (builds no values). */
export function isValidJson(src: Uint8Array): bool {
  return run(src, afterBom(src), 512, false, true).ok;
}
