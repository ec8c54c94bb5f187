// The parse tape: the parser records a document as a flat list of nodes, one
// 32-bit word each, and parsed containers read their children from it; and
// what is decided on the tape's raw bytes alone (whether an object repeats a
// member name).
//
// One word per node keeps a parsed document at most about twice the size of
// its text (`[0,0,0,...]`: 2 bytes of text, 4 bytes of tape per value). A
// string's or number's end is not stored: it is found again in the (already
// validated) source when the value is read, which costs a scan of that value.

import { JsonValue, JsonKind, FLAG_ESCAPED, FLAG_LAZY_NUMBER, FLAG_TRUE } from "./value";
import { skipPlainBytes, utf8EqualsString } from "./utf8";
import { unescapeToString } from "./unescape";
import { numberTextIsInteger, parseNumberText } from "./number";

// A node word:
//   bits 0-2  kind (JsonKind)
//   bit 3     TAPE_FLAG: String: the text holds escapes; Bool: true;
//             Number: an integer written without fraction or exponent
//   bits 4-31 String: offset of the first content byte (after the quote)
//             Number: offset of its first byte
//             Array, Object: the node just past the subtree
//             Bool, Null: 0
// Object children are name node, value subtree, name node, value subtree...

export const TAPE_KIND_MASK: i32 = 7;
export const TAPE_FLAG: i32 = 8;
export const TAPE_SHIFT: i32 = 4;
/** Largest offset or node index a word holds: documents up to 256 MiB. */
export const TAPE_MAX: i32 = 0x0fffffff;

/** A parsed document: the source bytes and the node tape. */
export class JsonDoc {
  src: Uint8Array;
  tape: StaticArray<i32>;

  constructor(src: Uint8Array, tape: StaticArray<i32>) {
    this.src = src;
    this.tape = tape;
  }

  // @ts-ignore: decorator
  @inline word(node: i32): i32 {
    return unchecked(this.tape[node]);
  }

  // @ts-ignore: decorator
  @inline kindOf(node: i32): JsonKind {
    return <JsonKind>(this.word(node) & TAPE_KIND_MASK);
  }

  /** Offset (strings, numbers) or end node (containers) of `node`. */
  // @ts-ignore: decorator
  @inline payload(node: i32): i32 {
    return <i32>((<u32>this.word(node)) >> TAPE_SHIFT);
  }

  // @ts-ignore: decorator
  @inline flag(node: i32): bool {
    return (this.word(node) & TAPE_FLAG) != 0;
  }

  /** The node after `node` and its subtree. */
  // @ts-ignore: decorator
  @inline next(node: i32): i32 {
    let w = this.word(node);
    return (w & TAPE_KIND_MASK) >= JsonKind.Array ? <i32>((<u32>w) >> TAPE_SHIFT) : node + 1;
  }

  /** Source offset of the closing quote of String node `node`. */
  stringEnd(node: i32): i32 {
    return scanStringEnd(this.src, this.payload(node));
  }

  /**
   * The value node of the last member of Object node `node` named `key` (as
   * JsonValue.get), or with `last` false of the first; -1 when there is none.
   */
  member(node: i32, key: string, last: bool = true): i32 {
    if (this.kindOf(node) != JsonKind.Object) return -1;
    let end = this.payload(node);
    let child = node + 1;
    let found = -1;
    while (child < end) {
      if (this.nameIs(child, key)) {
        found = child + 1;
        if (!last) break;
      }
      child = this.next(child + 1);
    }
    return found;
  }

  /** Whether String node `node` decodes to exactly `key`. */
  nameIs(node: i32, key: string): bool {
    let start = this.payload(node);
    let ptr = this.src.dataStart + <usize>start;
    let len = this.stringEnd(node) - start;
    return this.flag(node) ? unescapeToString(ptr, len) == key : utf8EqualsString(ptr, len, key);
  }

  /**
   * Whether name (String) node `node` is `key`: compared byte for byte with
   * `utf8` (the key's UTF-8) when written without escapes, decoded otherwise.
   */
  nameEquals(node: i32, utf8: Uint8Array, key: string): bool {
    if (this.flag(node)) return this.nameIs(node, key);
    let start = this.payload(node);
    let n = utf8.length;
    let src = this.src;
    if (start + n >= src.length) return false;
    // The name ends at its quote, which no key byte matches: no read past it.
    return (
      memory.compare(src.dataStart + <usize>start, utf8.dataStart, <usize>n) == 0 &&
      load<u8>(src.dataStart + <usize>(start + n)) == 0x22
    );
  }

  /** Whether Number node `node` is a mathematical integer (as JsonValue.isInteger). */
  numberIsInteger(node: i32): bool {
    if (this.flag(node)) return true;
    let src = this.src;
    let pos = this.payload(node);
    return numberTextIsInteger(src.dataStart + <usize>pos, scanNumberEnd(src, pos) - pos);
  }

  /** The value of Number node `node`. */
  numberValue(node: i32): f64 {
    let src = this.src;
    let pos = this.payload(node);
    return parseNumberText(src.dataStart + <usize>pos, scanNumberEnd(src, pos) - pos);
  }

  /** Whether Number node `node` is zero (its value compares equal to 0). */
  numberIsZero(node: i32): bool {
    let src = this.src;
    let pos = this.payload(node);
    let end = scanNumberEnd(src, pos);
    let base = src.dataStart;
    if (pos < end && load<u8>(base + <usize>pos) == 0x2d) pos++;
    if (end - pos == 1) return load<u8>(base + <usize>pos) == 0x30;
    let c = load<u8>(base + <usize>pos);
    let plain = true;
    for (let i = pos; i < end; i++) {
      let d = load<u8>(base + <usize>i);
      if (d < 0x30 || d > 0x39) plain = false;
    }
    // A plain integer is zero only when it is "0" (no leading zeros in JSON).
    if (plain) return false;
    if (c >= 0x31 && c <= 0x39 && !hasExponent(base, pos, end)) return false;
    return wrapNode(this, node).asNumber() == 0;
  }

  /** The first child of a container node (its end when empty). */
  // @ts-ignore: decorator
  @inline firstChild(node: i32): i32 {
    return node + 1;
  }

  /** The node just past a container's subtree. */
  // @ts-ignore: decorator
  @inline endOf(node: i32): i32 {
    return this.payload(node);
  }

  /** Elements of an Array node, or members (names counted once each occurrence) of an Object node. */
  childCount(node: i32): i32 {
    let end = this.payload(node);
    let isObject = this.kindOf(node) == JsonKind.Object;
    let child = node + 1;
    let n = 0;
    while (child < end) {
      if (isObject) child++;
      child = this.next(child);
      n++;
    }
    return n;
  }
}

/** Offset of the closing quote of a validated string whose content starts at `pos`. */
export function scanStringEnd(src: Uint8Array, pos: i32): i32 {
  let base = src.dataStart;
  let len = src.length;
  while (pos < len) {
    pos = skipPlainBytes(base, pos, len);
    if (pos >= len) break;
    let c = load<u8>(base + <usize>pos);
    if (c == 0x22) return pos;
    pos += c == 0x5c ? 2 : 1;
  }
  return len;
}

/** Whether the number text [pos, end) at `base` has an exponent. */
function hasExponent(base: usize, pos: i32, end: i32): bool {
  for (let i = pos; i < end; i++) {
    if ((load<u8>(base + <usize>i) | 0x20) == 0x65) return true;
  }
  return false;
}

/** Offset just past a validated number starting at `pos`. */
export function scanNumberEnd(src: Uint8Array, pos: i32): i32 {
  let base = src.dataStart;
  let len = src.length;
  while (pos < len) {
    let c = <u32>load<u8>(base + <usize>pos);
    if (c - 0x30 < 10 || c == 0x2e || c == 0x2d || c == 0x2b || (c | 0x20) == 0x65) {
      pos++;
      continue;
    }
    break;
  }
  return pos;
}

/** A JsonValue for tape node `node` of `doc`; containers read their children from the tape on access. */
export function wrapNode(doc: JsonDoc, node: i32): JsonValue {
  return fillNode(doc, node, new JsonValue(<JsonKind>(doc.word(node) & TAPE_KIND_MASK)));
}

/**
 * wrapNode into an existing JsonValue (reset first), for walks that look at
 * one value at a time without allocating one per node. Returns `v`.
 */
export function wrapNodeInto(doc: JsonDoc, node: i32, v: JsonValue): JsonValue {
  v.reset(<JsonKind>(doc.word(node) & TAPE_KIND_MASK));
  return fillNode(doc, node, v);
}

function fillNode(doc: JsonDoc, node: i32, v: JsonValue): JsonValue {
  let w0 = doc.word(node);
  let kind = <JsonKind>(w0 & TAPE_KIND_MASK);
  switch (kind) {
    case JsonKind.String: {
      let start = doc.payload(node);
      v._src = doc.src;
      v._start = start;
      v._end = scanStringEnd(doc.src, start);
      if ((w0 & TAPE_FLAG) != 0) v._flags = FLAG_ESCAPED;
      break;
    }
    case JsonKind.Number: {
      let start = doc.payload(node);
      v._src = doc.src;
      v._start = start;
      v._end = scanNumberEnd(doc.src, start);
      v._flags = FLAG_LAZY_NUMBER;
      break;
    }
    case JsonKind.Bool: {
      if ((w0 & TAPE_FLAG) != 0) v._flags = FLAG_TRUE;
      break;
    }
    case JsonKind.Array:
    case JsonKind.Object: {
      v._doc = doc;
      v._node = node;
      break;
    }
  }
  return v;
}

export const DUPS_NONE: i32 = 0;
export const DUPS_FOUND: i32 = 1;
/** Some name holds escapes: raw bytes cannot decide, decoded names must. */
export const DUPS_UNDECIDED: i32 = 2;

/** Objects with at most this many members are checked pairwise. */
const PAIRWISE_MEMBERS: i32 = 8;

/**
 * Whether a parsed object (tape node `node`) repeats a member name, decided on
 * the raw name bytes (equal bytes <=> equal strings for unescaped valid UTF-8).
 * Large objects sort their names' offsets in place (4 bytes per member, freed
 * afterwards) instead of keeping a table.
 */
export function tapeObjectDuplicates(doc: JsonDoc, node: i32): i32 {
  let end = doc.payload(node);
  let first = node + 1;
  if (first >= end) return DUPS_NONE;
  let n = 0;
  let child = first;
  while (child < end) {
    if (doc.flag(child)) return DUPS_UNDECIDED;
    child = doc.next(child + 1);
    n++;
  }
  if (n <= 1) return DUPS_NONE;
  let src = doc.src;
  if (n <= PAIRWISE_MEMBERS) {
    let a = first;
    while (a < end) {
      let b = doc.next(a + 1);
      let sa = doc.payload(a);
      while (b < end) {
        if (compareNames(src, sa, doc.payload(b)) == 0) return DUPS_FOUND;
        b = doc.next(b + 1);
      }
      a = doc.next(a + 1);
    }
    return DUPS_NONE;
  }
  let starts = new StaticArray<i32>(n);
  child = first;
  for (let i = 0; i < n; i++) {
    unchecked((starts[i] = doc.payload(child)));
    child = doc.next(child + 1);
  }
  return sortedHasEqualNames(src, starts, 0, n) ? DUPS_FOUND : DUPS_NONE;
}

/**
 * Sorts name offsets list[from, to) by their (unescaped) bytes, in place, and
 * tells whether two of them are equal. Heap sort: no allocation, n log n.
 */
export function sortedHasEqualNames(src: Uint8Array, list: StaticArray<i32>, from: i32, to: i32): bool {
  return sortedHasEqualNamesAt(src.dataStart, list, from, to);
}

/** sortedHasEqualNames for names given as offsets from `base` (valid, unescaped, each ending at its quote). */
export function sortedHasEqualNamesAt(base: usize, list: StaticArray<i32>, from: i32, to: i32): bool {
  let n = to - from;
  if (n < 2) return false;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(base, list, from, i, n);
  for (let size = n - 1; size > 0; size--) {
    let top = unchecked(list[from]);
    unchecked((list[from] = list[from + size]));
    unchecked((list[from + size] = top));
    siftDown(base, list, from, 0, size);
  }
  for (let i = from + 1; i < to; i++) {
    if (compareNamesAt(base, unchecked(list[i - 1]), unchecked(list[i])) == 0) return true;
  }
  return false;
}

function siftDown(base: usize, list: StaticArray<i32>, from: i32, root: i32, size: i32): void {
  while (true) {
    let child = root * 2 + 1;
    if (child >= size) return;
    if (child + 1 < size && compareNamesAt(base, unchecked(list[from + child]), unchecked(list[from + child + 1])) < 0)
      child++;
    if (compareNamesAt(base, unchecked(list[from + root]), unchecked(list[from + child])) >= 0) return;
    let t = unchecked(list[from + root]);
    unchecked((list[from + root] = list[from + child]));
    unchecked((list[from + child] = t));
    root = child;
  }
}

/** Orders two unescaped strings of `src` whose contents start at `a` and `b` (each ends at its quote). */
export function compareNames(src: Uint8Array, a: i32, b: i32): i32 {
  return compareNamesAt(src.dataStart, a, b);
}

/** compareNames for offsets from `base` (the strings are valid: each ends at its quote). */
export function compareNamesAt(base: usize, a: i32, b: i32): i32 {
  if (a == b) return 0;
  while (true) {
    let ca = <i32>load<u8>(base + <usize>a);
    let cb = <i32>load<u8>(base + <usize>b);
    if (ca == 0x22 || cb == 0x22) {
      if (ca == cb) return 0;
      return ca == 0x22 ? -1 : 1;
    }
    if (ca != cb) return ca - cb;
    a++;
    b++;
  }
  return 0;
}
