// The parse tape: the parser records a document as a flat list of nodes, and
// parsed containers read their children from it; and what is decided on the
// tape's raw bytes alone (whether an object repeats a member name).

import { JsonValue, JsonKind, FLAG_ESCAPED, FLAG_LAZY_NUMBER, FLAG_TRUE, SMALL_OBJECT } from "./value";

// The parser records a document as a flat list of nodes, TAPE_WORDS i32 each,
// in document order (an object's members appear as name node, value subtree,
// name node, value subtree...):
//   word 0: kind (low 3 bits) | TAPE_* flags
//   String, Number: words 1, 2 = source byte range (string content without quotes)
//   Array, Object:  word 1 = element / member count, word 2 = node just past the subtree
//   Bool, Null:     words 1, 2 unused

export const TAPE_WORDS: i32 = 3;
export const TAPE_KIND_MASK: i32 = 7;
/** String node: the text holds escapes. */
export const TAPE_ESCAPED: i32 = 8;
/** Bool node: true. */
export const TAPE_TRUE: i32 = 16;

/** A parsed document: the source bytes and the node tape. */
export class JsonDoc {
  src: Uint8Array;
  tape: StaticArray<i32>;

  constructor(src: Uint8Array, tape: StaticArray<i32>) {
    this.src = src;
    this.tape = tape;
  }

  // @ts-ignore: decorator
  @inline word(node: i32, k: i32): i32 {
    return unchecked(this.tape[node * TAPE_WORDS + k]);
  }

  // @ts-ignore: decorator
  @inline kindOf(node: i32): JsonKind {
    return <JsonKind>(this.word(node, 0) & TAPE_KIND_MASK);
  }

  /** The node after `node` and its subtree. */
  // @ts-ignore: decorator
  @inline next(node: i32): i32 {
    let kind = this.word(node, 0) & TAPE_KIND_MASK;
    return kind >= JsonKind.Array ? this.word(node, 2) : node + 1;
  }
}

/** A JsonValue for tape node `node` of `doc`; containers get their children on first access. */
export function wrapNode(doc: JsonDoc, node: i32): JsonValue {
  let w0 = doc.word(node, 0);
  let kind = <JsonKind>(w0 & TAPE_KIND_MASK);
  let v = new JsonValue(kind);
  switch (kind) {
    case JsonKind.String: {
      v._src = doc.src;
      v._start = doc.word(node, 1);
      v._end = doc.word(node, 2);
      if ((w0 & TAPE_ESCAPED) != 0) v._flags = FLAG_ESCAPED;
      break;
    }
    case JsonKind.Number: {
      v._src = doc.src;
      v._start = doc.word(node, 1);
      v._end = doc.word(node, 2);
      v._flags = FLAG_LAZY_NUMBER;
      break;
    }
    case JsonKind.Bool: {
      if ((w0 & TAPE_TRUE) != 0) v._flags = FLAG_TRUE;
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

/** Reused buffers: name nodes of the object being checked, and an open-addressing table. */
let nameNodes = new StaticArray<i32>(64);
let dupTable = new StaticArray<i32>(128);

/**
 * Whether a parsed object (tape node `node`) repeats a member name, decided on
 * the raw name bytes (equal bytes <=> equal strings for unescaped valid UTF-8).
 */
export function tapeObjectDuplicates(doc: JsonDoc, node: i32): i32 {
  let n = doc.word(node, 1);
  if (n <= 1) return DUPS_NONE;
  let list = nameNodes;
  if (list.length < n) {
    list = new StaticArray<i32>(n);
    nameNodes = list;
  }
  let child = node + 1;
  for (let i = 0; i < n; i++) {
    if ((doc.word(child, 0) & TAPE_ESCAPED) != 0) return DUPS_UNDECIDED;
    unchecked((list[i] = child));
    child = doc.next(child + 1);
  }
  let base = doc.src.dataStart;
  if (n <= SMALL_OBJECT) {
    // Compare cheap fingerprints (length and first byte) before bytes.
    for (let i = 1; i < n; i++) {
      let a = unchecked(list[i]);
      let fa = nameFingerprint(doc, a, base);
      for (let j = 0; j < i; j++) {
        let b = unchecked(list[j]);
        if (fa == nameFingerprint(doc, b, base) && sameNameBytes(doc, a, b, base)) return DUPS_FOUND;
      }
    }
    return DUPS_NONE;
  }
  let size = 128;
  while (size < n * 2) size <<= 1;
  let table = dupTable;
  if (table.length < size) {
    table = new StaticArray<i32>(size);
    dupTable = table;
  } else {
    memory.fill(changetype<usize>(table), 0, (<usize>size) << 2);
  }
  let mask = <u32>(size - 1);
  for (let i = 0; i < n; i++) {
    let a = unchecked(list[i]);
    let start = doc.word(a, 1);
    let h = hashBytes(base + <usize>start, doc.word(a, 2) - start) & mask;
    while (true) {
      let slot = unchecked(table[h]);
      if (slot == 0) {
        unchecked((table[h] = a + 1));
        break;
      }
      if (sameNameBytes(doc, a, slot - 1, base)) return DUPS_FOUND;
      h = (h + 1) & mask;
    }
  }
  return DUPS_NONE;
}

/** Length and first byte of a name node, packed. */
// @ts-ignore: decorator
@inline function nameFingerprint(doc: JsonDoc, node: i32, base: usize): i32 {
  let start = doc.word(node, 1);
  let len = doc.word(node, 2) - start;
  return len == 0 ? 0 : (len << 8) | (<i32>load<u8>(base + <usize>start));
}

/** Byte equality of two name nodes. */
// @ts-ignore: decorator
@inline function sameNameBytes(doc: JsonDoc, a: i32, b: i32, base: usize): bool {
  let start = doc.word(a, 1);
  let len = doc.word(a, 2) - start;
  let other = doc.word(b, 1);
  if (len != doc.word(b, 2) - other) return false;
  return memory.compare(base + <usize>start, base + <usize>other, <usize>len) == 0;
}

/** FNV-1a over `len` bytes. */
function hashBytes(ptr: usize, len: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < len; i++) {
    h = (h ^ (<u32>load<u8>(ptr + <usize>i))) * 0x01000193;
  }
  return h;
}
