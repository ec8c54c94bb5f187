// Reading and rewriting valid JSON text without building it: skipping a
// value, walking an object's members, and compacting a value (what
// JsonWriter.value writes for it once parsed) straight from its bytes. The
// text must have been validated (by a parse or scanPath) first: nothing here
// checks the grammar again.
//
// Memory does not depend on the size of the value, except for the names of
// the objects open while compacting (4 bytes per member), which the
// duplicate-name check needs.

import { scanStringEnd, sortedHasEqualNames, sortedHasEqualNamesAt, compareNamesAt } from "./tape";
import { swarStringSpecial, swarFirstIndex, word64At } from "./utf8";
import { grownArray } from "./bytes";

// @ts-ignore: decorator
@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

/** Offset of the first non-whitespace byte at or after `pos` (or `end`). */
export function skipSpaces(src: Uint8Array, pos: i32, end: i32): i32 {
  let base = src.dataStart;
  while (pos < end && isSpace(load<u8>(base + <usize>pos))) pos++;
  return pos;
}

/** Offset just past the valid value whose first byte is at `pos`. */
export function skipValue(src: Uint8Array, pos: i32): i32 {
  let base = src.dataStart;
  let len = src.length;
  if (pos >= len) return len;
  let c = <u32>load<u8>(base + <usize>pos);
  if (c == 0x22) return scanStringEnd(src, pos + 1) + 1;
  if (c != 0x7b && c != 0x5b) {
    // Number or literal: up to the next delimiter.
    while (pos < len) {
      c = load<u8>(base + <usize>pos);
      if (c == 0x2c || c == 0x5d || c == 0x7d || c == 0x3a || isSpace(c)) break;
      pos++;
    }
    return pos;
  }
  // A container: count brackets outside strings.
  let depth = 0;
  while (pos < len) {
    // Eight bytes without quotes, backslashes or brackets at a time.
    while (pos + 8 <= len) {
      let w = word64At(base + <usize>pos);
      if (swarStringSpecial(w) != 0 || hasBracket(w)) break;
      pos += 8;
    }
    if (pos >= len) break;
    c = load<u8>(base + <usize>pos);
    if (c == 0x22) {
      pos = scanStringEnd(src, pos + 1) + 1;
      continue;
    }
    if (c == 0x7b || c == 0x5b) depth++;
    else if (c == 0x7d || c == 0x5d) {
      depth--;
      if (depth == 0) return pos + 1;
    }
    pos++;
  }
  return len;
}

/** True when a lane of `w` is '[' ']' '{' or '}' (0x5B 0x5D 0x7B 0x7D: bit pattern x1x11x11). */
// @ts-ignore: decorator
@inline function hasBracket(w: u64): bool {
  const ONES: u64 = 0x0101010101010101;
  const HIGHS: u64 = 0x8080808080808080;
  // Clearing bits 5, 2 and 1 makes '[' ']' '{' '}' all 0x59 (and '_' 'Y' 'y' DEL: a needless slow step).
  let x = (w & ~(ONES * 0x26)) ^ (ONES * 0x59);
  return ((x - ONES) & ~x & HIGHS) != 0;
}

/**
 * The members of a valid object, one at a time, read from its text:
 *
 *   let m = new SourceMembers(src, objectStart);
 *   while (m.next()) ... m.nameStart, m.nameEnd, m.nameEscaped, m.valueStart, m.valueEnd
 */
export class SourceMembers {
  /** Name content (between the quotes). */
  nameStart: i32 = 0;
  nameEnd: i32 = 0;
  nameEscaped: bool = false;
  /** The value's text. */
  valueStart: i32 = 0;
  valueEnd: i32 = 0;
  private src: Uint8Array;
  private pos: i32;
  private done: bool = false;

  /** `start`: offset of the object's '{'. */
  constructor(src: Uint8Array, start: i32) {
    this.src = src;
    this.pos = start + 1;
  }

  next(): bool {
    if (this.done) return false;
    let src = this.src;
    let len = src.length;
    let pos = skipSpaces(src, this.pos, len);
    if (pos < len && load<u8>(src.dataStart + <usize>pos) == 0x2c) pos = skipSpaces(src, pos + 1, len);
    if (pos >= len || load<u8>(src.dataStart + <usize>pos) != 0x22) {
      this.done = true;
      return false;
    }
    let close = scanStringEnd(src, pos + 1);
    this.nameStart = pos + 1;
    this.nameEnd = close;
    this.nameEscaped = hasBackslash(src, pos + 1, close);
    pos = skipSpaces(src, close + 1, len) + 1; // past ':'
    pos = skipSpaces(src, pos, len);
    this.valueStart = pos;
    this.valueEnd = skipValue(src, pos);
    this.pos = this.valueEnd;
    return true;
  }

  /** Whether the current name is exactly `name` (ASCII, written without escapes). */
  nameIs(name: string): bool {
    let n = name.length;
    if (this.nameEscaped || this.nameEnd - this.nameStart != n) return false;
    let base = this.src.dataStart + <usize>this.nameStart;
    for (let i = 0; i < n; i++) {
      if (<u32>load<u8>(base + <usize>i) != <u32>name.charCodeAt(i)) return false;
    }
    return true;
  }
}

function hasBackslash(src: Uint8Array, start: i32, end: i32): bool {
  let base = src.dataStart;
  for (let i = start; i < end; i++) {
    if (load<u8>(base + <usize>i) == 0x5c) return true;
  }
  return false;
}

/**
 * Whether the valid object at `start` has only distinct names written
 * without escapes (so that each member is written as it is). Takes 4 bytes
 * per member while it runs.
 */
export function objectNamesPlain(src: Uint8Array, start: i32): bool {
  let n = 0;
  let m = new SourceMembers(src, start);
  while (m.next()) {
    if (m.nameEscaped) return false;
    n++;
  }
  if (n < 2) return true;
  let list = new StaticArray<i32>(n);
  m = new SourceMembers(src, start);
  let i = 0;
  while (m.next()) unchecked((list[i++] = m.nameStart));
  return !sortedHasEqualNames(src, list, 0, n);
}

/**
 * The compact form of the valid value in [start, end) of `src` (whitespace
 * around it allowed) is written to `out` (when given) at `at`; returns its
 * length, or -1 when some object in it repeats a name or spells one with
 * escapes (then the value must be parsed: writing it deduplicates names, and
 * only decoded names can tell). Strings and numbers are kept as written.
 */
export function compactInto(src: Uint8Array, start: i32, end: i32, out: usize): i32 {
  return compact(src, start, end, out, false);
}

/**
 * compactInto; with `inPlace` (`out` is where the value starts in `src`), a
 * value found to repeat a name is left valid: the part already compacted,
 * then the rest as it was, and -(its length + 1) is returned.
 */
function compact(src: Uint8Array, start: i32, end: i32, out: usize, inPlace: bool): i32 {
  let base = src.dataStart;
  let o: usize = out;
  // Names are compared where they stay put: in the source on a dry run, in the
  // output when writing (which may be the source itself, compacted in place).
  let namesBase: usize = out != 0 ? out : base + <usize>start;
  let n = 0;
  // Per open container: where its names start in `names`, or -1 for an array.
  let frames = new StaticArray<i32>(64);
  let depth = 0;
  let names = new StaticArray<i32>(64);
  let top = 0;
  let expectName = false;
  let pos = start;
  while (pos < end) {
    let c = <u32>load<u8>(base + <usize>pos);
    if (isSpace(c)) {
      pos++;
      continue;
    }
    if (c == 0x22) {
      let close = scanStringEnd(src, pos + 1);
      if (expectName) {
        if (hasBackslash(src, pos + 1, close)) return inPlace ? keepRest(base, o, pos, end, n) : -1;
        if (top >= names.length) {
          names = grownArray(names, names.length * 2 + 64, top);
        }
        unchecked((names[top++] = out != 0 ? n + 1 : pos + 1 - start));
        expectName = false;
      }
      let size = close + 1 - pos;
      if (out != 0 && o != base + <usize>pos) memory.copy(o, base + <usize>pos, <usize>size);
      o += <usize>size;
      n += size;
      pos = close + 1;
      continue;
    }
    if (c == 0x7b || c == 0x5b) {
      if (depth >= frames.length) {
        frames = grownArray(frames, frames.length * 2, depth);
      }
      unchecked((frames[depth++] = c == 0x7b ? top : -1));
      expectName = c == 0x7b;
    } else if (c == 0x7d || c == 0x5d) {
      depth--;
      let from = unchecked(frames[depth]);
      if (from >= 0) {
        if (hasEqualNames(namesBase, names, from, top)) return inPlace ? keepRest(base, o, pos, end, n) : -1;
        top = from;
      }
      expectName = false;
    } else if (c == 0x2c) {
      expectName = depth > 0 && unchecked(frames[depth - 1]) >= 0;
    } else if (c != 0x3a) {
      // Number or literal.
      let stop = pos + 1;
      while (stop < end) {
        let d = <u32>load<u8>(base + <usize>stop);
        if (d == 0x2c || d == 0x5d || d == 0x7d || isSpace(d)) break;
        stop++;
      }
      let size = stop - pos;
      if (out != 0 && o != base + <usize>pos) memory.copy(o, base + <usize>pos, <usize>size);
      o += <usize>size;
      n += size;
      pos = stop;
      continue;
    }
    if (out != 0 && o != base + <usize>pos) store<u8>(o, <u8>c);
    o++;
    n++;
    pos++;
  }
  return n;
}

/** In-place compaction stopped at `pos` (output at `o`, `n` bytes so far): the rest moves down as it is. */
function keepRest(base: usize, o: usize, pos: i32, end: i32, n: i32): i32 {
  let rest = end - pos;
  if (o != base + <usize>pos) memory.copy(o, base + <usize>pos, <usize>rest);
  return -(n + rest + 1);
}

/** Whether names[from, to) (offsets from `base` of unescaped names) hold two equal names; may reorder them. */
function hasEqualNames(base: usize, names: StaticArray<i32>, from: i32, to: i32): bool {
  let n = to - from;
  if (n < 2) return false;
  if (n <= 8) {
    for (let i = from + 1; i < to; i++) {
      for (let j = from; j < i; j++) {
        if (compareNamesAt(base, unchecked(names[i]), unchecked(names[j])) == 0) return true;
      }
    }
    return false;
  }
  return sortedHasEqualNamesAt(base, names, from, to);
}

/**
 * Compacts the valid value in [start, end) of `buf` in place, in one pass,
 * moving it to `start`; returns its new length. When some object in it
 * repeats a name or spells one with escapes (only a parse can write it),
 * returns -(length + 1): the value at `start` is then still valid JSON of
 * that length, partly compacted. -1 for a range out of bounds.
 */
export function compactInPlace(buf: Uint8Array, start: i32, end: i32): i32 {
  if (start < 0 || end > buf.length || start > end) return -1;
  return compact(buf, start, end, buf.dataStart + <usize>start, true);
}
