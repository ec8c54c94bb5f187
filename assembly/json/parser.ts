// The JSON parser itself (strict RFC 8259 over UTF-8 bytes): validates one
// value, counting its nodes or recording them on a tape, and notes what lies
// along a JsonPath. Iterative: open containers live on an explicit stack, so
// nesting is limited by maxDepth, not by the call stack. The entry points are
// in parse.ts.

import { JsonKind } from "./value";
import { TAPE_FLAG, TAPE_SHIFT, TAPE_MAX } from "./tape";
import { byteAt, skipPlainBytes, utf8SequenceLength, hexValue, byteHex } from "./utf8";
import { JsonPath } from "./path";
import { grownArray } from "./bytes";

/** Failure reasons. */
export const enum Failure {
  None = 0,
  UnexpectedByte,
  EndOfInput,
  InvalidUtf8,
  TooDeep,
  TrailingData,
  InvalidEscape,
  ControlCharacter,
  BadStart,
  TooLarge,
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
@inline export function skipSpace(base: usize, pos: i32, len: i32): i32 {
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

export class Parser {
  src: Uint8Array;
  base: usize;
  /** End of the input: src.length, or less when reading a range. */
  len: i32;
  /** Offset error messages count from (the start of a range being read). */
  origin: i32 = 0;
  maxDepth: i32;
  /** False: only validate (and count nodes), record no nodes. */
  build: bool;

  failure: Failure = Failure.None;
  failurePos: i32 = 0;

  /** The node tape (one word per node) and the number of nodes in it. */
  tape: StaticArray<i32>;
  nodes: i32 = 0;
  /**
   * Open containers, FRAME words each: their node, the children counted so
   * far, their level on the path being looked for (or -1), and whether the
   * member name just read matches that path's next step.
   */
  frames: StaticArray<i32>;
  depth: i32 = 0;

  /** Whether the last string scanned holds escapes. */
  lastStringEscaped: bool = false;

  /** The path being looked for (scanPath), or null. */
  path: JsonPath | null = null;

  constructor(
    src: Uint8Array,
    maxDepth: i32,
    build: bool,
    tape: StaticArray<i32> | null = null,
    frames: StaticArray<i32> | null = null,
  ) {
    this.tape = tape !== null ? tape : new StaticArray<i32>(0);
    this.frames = frames !== null ? frames : new StaticArray<i32>(32 * FRAME);
    this.src = src;
    this.base = src.dataStart;
    this.len = src.length;
    this.maxDepth = maxDepth;
    this.build = build;
  }

  /** Makes the parser ready for another document, keeping its tape and frames (JsonReader). */
  reset(src: Uint8Array, maxDepth: i32): void {
    this.src = src;
    this.base = src.dataStart;
    this.len = src.length;
    this.origin = 0;
    this.maxDepth = maxDepth;
    this.failure = Failure.None;
    this.failurePos = 0;
    this.nodes = 0;
    this.depth = 0;
    this.lastStringEscaped = false;
    this.path = null;
  }

  /** Records a failure; returns -1 so callers can `return this.fail(...)`. */
  fail(failure: Failure, pos: i32): i32 {
    this.failure = failure;
    this.failurePos = pos;
    return -1;
  }

  message(): string {
    let pos = this.failurePos;
    let at = " at offset " + (pos - this.origin).toString();
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
      case Failure.TooLarge:
        return (
          "document too large to index (" +
          this.len.toString() +
          " bytes, " +
          this.nodes.toString() +
          " values; at most " +
          TAPE_MAX.toString() +
          " bytes and " +
          MAX_NODES.toString() +
          " values)"
        );
    }
    return "invalid JSON" + at;
  }

  // --- tape and container stack ---------------------------------------------

  /** Appends a node (or only counts it when not building); returns its index. */
  // @ts-ignore: decorator
  @inline node(word: i32): i32 {
    let index = this.nodes;
    if (this.build) {
      let tape = this.tape;
      if (index >= tape.length) tape = this.growTape();
      unchecked((tape[index] = word));
    }
    this.nodes = index + 1;
    return index;
  }

  /** Doubles the tape (a tape sized from a counting pass never grows). */
  growTape(): StaticArray<i32> {
    let grown = grownArray(this.tape, this.tape.length * 2 + 64, this.nodes);
    this.tape = grown;
    return grown;
  }

  /** Opens a container whose bracket is at `pos`; returns pos + 1, or -1 past maxDepth. */
  open(isObject: bool, pos: i32, level: i32): i32 {
    let depth = this.depth;
    if (depth >= this.maxDepth) return this.fail(Failure.TooDeep, pos);
    let frames = this.frames;
    if ((depth + 1) * FRAME > frames.length) {
      frames = grownArray(frames, frames.length * 2, depth * FRAME);
      this.frames = frames;
    }
    let node = this.node(isObject ? JsonKind.Object : JsonKind.Array);
    let at = depth * FRAME;
    unchecked((frames[at] = node));
    unchecked((frames[at + 1] = isObject ? -1 : 0)); // objects: bit 31 marks the kind
    unchecked((frames[at + 2] = level));
    unchecked((frames[at + 3] = 0));
    this.depth = depth + 1;
    return pos + 1;
  }

  // @ts-ignore: decorator
  @inline topIsObject(): bool {
    return unchecked(this.frames[(this.depth - 1) * FRAME + 1]) < 0;
  }

  /** Counts one more child of the innermost container. */
  // @ts-ignore: decorator
  @inline countChild(): void {
    let at = (this.depth - 1) * FRAME + 1;
    let c = unchecked(this.frames[at]);
    unchecked((this.frames[at] = c < 0 ? c - 1 : c + 1));
  }

  /** Closes the innermost container, whose closing bracket is at `pos`: records where its subtree ends. */
  close(pos: i32): void {
    let depth = this.depth - 1;
    this.depth = depth;
    let at = depth * FRAME;
    let path = this.path;
    if (path !== null) {
      let level = unchecked(this.frames[at + 2]);
      if (level >= 0) unchecked((path.ends[level] = pos + 1));
    }
    if (!this.build) return;
    let node = unchecked(this.frames[at]);
    let tape = this.tape;
    unchecked((tape[node] = unchecked(tape[node]) | (this.nodes << TAPE_SHIFT)));
  }

  // --- the path being looked for ----------------------------------------------

  /**
   * The path level of the value starting at `pos` (byte `c`): 0 for the root,
   * parent's level + 1 when it is the parent's next step, else -1. A value on
   * the path is recorded (a later member of the same name replaces an earlier one).
   */
  levelOf(pos: i32, c: u32): i32 {
    let path = this.path;
    if (path === null) return -1;
    let level = -1;
    let depth = this.depth;
    if (depth == 0) {
      level = 0;
    } else {
      let at = (depth - 1) * FRAME;
      let parent = unchecked(this.frames[at + 2]);
      if (parent < 0 || parent >= path.steps) return -1;
      let count = unchecked(this.frames[at + 1]);
      let hit = count < 0 ? unchecked(this.frames[at + 3]) != 0 : count == unchecked(path.indexes[parent]);
      if (!hit) return -1;
      level = parent + 1;
    }
    path.found(level, kindOfByte(c), pos);
    return level;
  }

  /** For a member name [start, end) of the innermost object: does it match that object's next path step? */
  matchName(start: i32, end: i32): void {
    let path = this.path;
    if (path === null) return;
    let at = (this.depth - 1) * FRAME;
    let level = unchecked(this.frames[at + 2]);
    let hit = 0;
    if (level >= 0 && level < path.steps && unchecked(path.indexes[level]) < 0) {
      hit = path.nameIs(level, this.src, start, end, this.lastStringEscaped) ? 1 : 0;
    }
    unchecked((this.frames[at + 3] = hit));
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
      let level = this.path !== null ? this.levelOf(pos, c) : -1;
      if (c == 0x7b || c == 0x5b) {
        let isObject = c == 0x7b;
        pos = this.open(isObject, pos, level);
        if (pos < 0) return -1;
        pos = skipSpace(base, pos, len);
        if (pos >= len) return this.fail(Failure.EndOfInput, pos);
        let d = byteAt(base + <usize>pos);
        if (d == (isObject ? 0x7d : 0x5d)) {
          this.close(pos);
          pos++;
        } else if (isObject) {
          pos = this.memberName(pos);
          if (pos < 0) return -1;
          continue;
        } else {
          continue;
        }
      } else if (c - 0x30 < 10 && level < 0) {
        // Digits: the common case of large arrays. A plain integer is recorded here; anything else is number()'s.
        let start = pos;
        let stop = c == 0x30 ? pos + 1 : skipDigits(base, pos + 1, len);
        let next: u32 = stop < len ? byteAt(base + <usize>stop) : 0;
        if (next != 0x2e && (next | 0x20) != 0x65 && next - 0x30 >= 10) {
          this.node(JsonKind.Number | TAPE_FLAG | (start << TAPE_SHIFT));
          pos = stop;
        } else {
          pos = this.number(start);
          if (pos < 0) return -1;
        }
      } else {
        let start = pos;
        pos = this.scalar(pos, c);
        if (pos < 0) return -1;
        if (level >= 0) this.path!.ended(level, start, pos, this.lastStringEscaped);
      }
      // A value just ended: hand it to its container, or finish.
      while (true) {
        if (this.depth == 0) return pos;
        // Children are counted for the path only (index steps); the count's sign tells objects from arrays.
        if (this.path !== null) this.countChild();
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
          this.close(pos);
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
    this.stringNode(pos + 1);
    if (this.path !== null) this.matchName(pos + 1, close);
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
      this.stringNode(pos + 1);
      return close + 1;
    }
    if (c == 0x2d || c - 0x30 < 10) return this.number(pos);
    if (c == 0x74) return this.literal(pos, 0x65757274, 4, JsonKind.Bool, true); // "true"
    if (c == 0x66) return this.literal(pos, 0x736c6166, 5, JsonKind.Bool, false); // "fals" + "e"
    if (c == 0x6e) return this.literal(pos, 0x6c6c756e, 4, JsonKind.Null, false); // "null"
    return this.fail(Failure.UnexpectedByte, pos);
  }

  // @ts-ignore: decorator
  @inline stringNode(start: i32): void {
    this.node(JsonKind.String | (this.lastStringEscaped ? TAPE_FLAG : 0) | (start << TAPE_SHIFT));
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
      pos = skipPlainBytes(base, pos, len);
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
    let plain = true;
    if (pos < len && byteAt(base + <usize>pos) == 0x2e) {
      plain = false;
      pos++;
      if (pos >= len) return this.fail(Failure.EndOfInput, pos);
      if (byteAt(base + <usize>pos) - 0x30 >= 10) return this.fail(Failure.UnexpectedByte, pos);
      pos = skipDigits(base, pos + 1, len);
    }
    if (pos < len && (byteAt(base + <usize>pos) | 0x20) == 0x65) {
      plain = false;
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
    this.node(JsonKind.Number | (plain ? TAPE_FLAG : 0) | (start << TAPE_SHIFT));
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
    this.node(kind | (truth ? TAPE_FLAG : 0));
    return pos + size;
  }
}

/**
 * Most nodes a built document may have (a 256 MiB tape): past it parsing
 * fails with a reason instead of asking for more memory than a module can have
 * (which would trap). A 64 MiB body has at most 32 Mi nodes.
 */
export const MAX_NODES: i32 = 1 << 26;

/** Words per open container in Parser.frames. */
export const FRAME: i32 = 4;

/** The kind of the value whose first byte is `c` (the parser checks the rest). */
export function kindOfByte(c: u32): JsonKind {
  if (c == 0x7b) return JsonKind.Object;
  if (c == 0x5b) return JsonKind.Array;
  if (c == 0x22) return JsonKind.String;
  if (c == 0x74 || c == 0x66) return JsonKind.Bool;
  if (c == 0x6e) return JsonKind.Null;
  return JsonKind.Number;
}
