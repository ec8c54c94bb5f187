// JsonValue: one node of a parsed (or built) JSON document.
//
// The parser produces a JsonDoc: the source bytes plus a flat tape of nodes.
// A JsonValue for a parsed node keeps the source reference and the byte range
// of its text, so strings and numbers are decoded only when asked for; a
// parsed container creates JsonValues for its children (one level) on first
// access. Values built with the json* factories hold decoded data instead.

import {
  utf8ToString, utf8EqualsString, utf16LengthOfUtf8, stringToUtf8, copyBytes,
} from "./utf8";
import { unescapeToString, unescapeToUtf8 } from "./unescape";
import { parseNumberText, numberTextIsInteger } from "./number";
import { stringifyJson } from "./writer";

export const enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

// Internal flag bits of JsonValue._flags.
/** String from the source whose text holds backslash escapes. */
export const FLAG_ESCAPED: i32 = 1;
/** Number from the source whose f64 has not been computed yet. */
export const FLAG_LAZY_NUMBER: i32 = 2;
/** Object: the duplicate-name check has been done. */
export const FLAG_DUPS_KNOWN: i32 = 4;
/** Object: some member name occurs more than once. */
export const FLAG_HAS_DUPS: i32 = 8;
/** Bool: the value is true. */
export const FLAG_TRUE: i32 = 16;

/** Objects with at most this many members are searched linearly, without an index. */
const SMALL_OBJECT: i32 = 8;

// ---------------------------------------------------------------------------
// The parse tape.
//
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

/** Distinct member names of an object, built on first need. */
export class ObjectIndex {
  /** Distinct names, in order of first appearance. */
  names: string[] = [];
  /** For each distinct name, the position of its last member (the one that counts). */
  last: i32[] = [];
  /** Name -> position in `names`; only for objects larger than SMALL_OBJECT. */
  map: Map<string, i32> | null = null;

  find(name: string): i32 {
    let map = this.map;
    if (map !== null) return map.has(name) ? map.get(name) : -1;
    let names = this.names;
    for (let i = 0, n = names.length; i < n; i++) {
      if (unchecked(names[i]) == name) return i;
    }
    return -1;
  }
}

export class JsonValue {
  kind: JsonKind;

  // Internal representation; read through the methods below.
  /** FLAG_* bits. */
  _flags: i32 = 0;
  /** Source byte range: string content between the quotes, or number text. */
  _start: i32 = 0;
  _end: i32 = 0;
  /** Number value (valid unless FLAG_LAZY_NUMBER). */
  _num: f64 = 0;
  /** Source bytes, for values produced by the parser. */
  _src: Uint8Array | null = null;
  /** Decoded string, for strings built with jsonString(). */
  _text: string | null = null;
  /** Array elements, or object member values. */
  _items: StaticArray<JsonValue> | null = null;
  /** Object member names (String values), parallel to _items. */
  _names: StaticArray<JsonValue> | null = null;
  /** Object name index, built on first need. */
  _index: ObjectIndex | null = null;
  /** Parsed containers: the document and node; children are created on first access. */
  _doc: JsonDoc | null = null;
  _node: i32 = 0;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isString(): bool { return this.kind == JsonKind.String; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** The boolean; false when not a Bool. */
  asBool(): bool {
    return this.kind == JsonKind.Bool && (this._flags & FLAG_TRUE) != 0;
  }

  /** The number; NaN when not a Number. Out-of-range source numbers give +-Infinity or +-0. */
  asNumber(): f64 {
    if (this.kind != JsonKind.Number) return NaN;
    if ((this._flags & FLAG_LAZY_NUMBER) != 0) {
      let src = this._src;
      if (src !== null) this._num = parseNumberText(this.sourcePtr(src), this._end - this._start);
      this._flags &= ~FLAG_LAZY_NUMBER;
    }
    return this._num;
  }

  /**
   * True for a Number that is mathematically an integer (1, 1.0, 1e2, -0, 1e400);
   * false for 1.5 and for non-numbers. Source numbers are judged on their text.
   */
  isInteger(): bool {
    if (this.kind != JsonKind.Number) return false;
    let src = this._src;
    if (src !== null) return numberTextIsInteger(this.sourcePtr(src), this._end - this._start);
    let x = this._num;
    return isFinite(x) && Math.floor(x) == x;
  }

  /** The decoded string (UTF-16); "" when not a String. */
  asString(): string {
    if (this.kind != JsonKind.String) return "";
    let text = this._text;
    if (text !== null) return text;
    let src = this._src;
    if (src === null) return "";
    let ptr = this.sourcePtr(src);
    let len = this._end - this._start;
    if ((this._flags & FLAG_ESCAPED) != 0) return unescapeToString(ptr, len);
    return utf8ToString(ptr, len);
  }

  /** The decoded string as UTF-8 bytes; empty when not a String. Lone surrogates become U+FFFD. */
  stringBytes(): Uint8Array {
    if (this.kind != JsonKind.String) return new Uint8Array(0);
    let text = this._text;
    if (text !== null) return stringToUtf8(text);
    let src = this._src;
    if (src === null) return new Uint8Array(0);
    let ptr = this.sourcePtr(src);
    let len = this._end - this._start;
    if ((this._flags & FLAG_ESCAPED) != 0) return unescapeToUtf8(ptr, len);
    return copyBytes(ptr, len);
  }

  /**
   * True for a String made only of JSON whitespace (space, tab, LF, CR),
   * including the empty string. Decides on the first non-blank source byte
   * without decoding the rest.
   */
  isBlankString(): bool {
    if (this.kind != JsonKind.String) return false;
    let src = this._src;
    if (src === null || this._text !== null) return isBlankUtf8(this.stringBytes());
    let ptr = this.sourcePtr(src);
    let len = this._end - this._start;
    for (let i = 0; i < len; i++) {
      let c = load<u8>(ptr + <usize>i);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) continue;
      if (c == 0x5c) return isBlankUtf8(this.stringBytes()); // an escape: decide on the decoded text
      return false;
    }
    return true;
  }

  /** Size in bytes of a parsed String's source text (escapes included); an upper bound of its UTF-8 size. */
  sourceByteLength(): i32 {
    return this._src !== null ? this._end - this._start : 0;
  }

  /** A Number's exact source text (e.g. "1e400"); otherwise the compact JSON text of the value. */
  rawText(): string {
    if (this.kind == JsonKind.Number) {
      let src = this._src;
      if (src !== null) return utf8ToString(this.sourcePtr(src), this._end - this._start);
    }
    return stringifyJson(this);
  }

  /** Array: element count; Object: distinct member count; String: UTF-16 length; else 0. */
  get length(): i32 {
    switch (this.kind) {
      case JsonKind.Array: {
        let items = this._items;
        if (items !== null) return items.length;
        let doc = this._doc;
        return doc === null ? 0 : doc.word(this._node, 1);
      }
      case JsonKind.Object: return this.memberCount();
      case JsonKind.String: {
        let text = this._text;
        if (text !== null) return text.length;
        let src = this._src;
        if (src === null) return 0;
        if ((this._flags & FLAG_ESCAPED) != 0) return this.asString().length;
        return utf16LengthOfUtf8(this.sourcePtr(src), this._end - this._start);
      }
    }
    return 0;
  }

  /** Object member by name (the last one when a name repeats); null if absent or not an Object. */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    this.materialize();
    let names = this._names;
    let items = this._items;
    if (names === null || items === null) return null;
    let n = names.length;
    if (this._index === null && n <= SMALL_OBJECT) {
      for (let i = n - 1; i >= 0; i--) {
        if (nameEquals(unchecked(names[i]), key)) return unchecked(items[i]);
      }
      return null;
    }
    let index = this.objectIndex();
    let pos = index.find(key);
    if (pos < 0) return null;
    return unchecked(items[unchecked(index.last[pos])]);
  }

  /** Array element; null when out of range or not an Array. */
  at(index: i32): JsonValue | null {
    if (this.kind != JsonKind.Array) return null;
    this.materialize();
    let items = this._items;
    if (items === null || index < 0 || index >= items.length) return null;
    return unchecked(items[index]);
  }

  /** Object member names in source order, each once; empty when not an Object. */
  keys(): string[] {
    if (this.kind != JsonKind.Object) return [];
    this.materialize();
    if (this._names === null) return [];
    return this.objectIndex().names.slice(0);
  }

  has(key: string): bool {
    return this.get(key) !== null;
  }

  // --- internal helpers -----------------------------------------------------

  /** Creates the children of a parsed container (once). */
  materialize(): void {
    let doc = this._doc;
    if (doc === null || this._items !== null) return;
    let node = this._node;
    let count = doc.word(node, 1);
    let items = new StaticArray<JsonValue>(count);
    let child = node + 1;
    if (this.kind == JsonKind.Object) {
      let names = new StaticArray<JsonValue>(count);
      for (let i = 0; i < count; i++) {
        unchecked(names[i] = wrapNode(doc, child));
        child++;
        unchecked(items[i] = wrapNode(doc, child));
        child = doc.next(child);
      }
      this._names = names;
    } else {
      for (let i = 0; i < count; i++) {
        unchecked(items[i] = wrapNode(doc, child));
        child = doc.next(child);
      }
    }
    this._items = items;
  }

  /** Address of this value's first source byte. */
  sourcePtr(src: Uint8Array): usize {
    return src.dataStart + <usize>this._start;
  }

  /** Number of distinct member names. */
  memberCount(): i32 {
    let n = 0;
    let names = this._names;
    if (names !== null) {
      n = names.length;
    } else {
      let doc = this._doc;
      if (doc === null) return 0;
      n = doc.word(this._node, 1);
    }
    if (n <= 1 || !this.hasDuplicateNames()) return n;
    return this.objectIndex().names.length;
  }

  /** The object's name index, building it on first use. */
  objectIndex(): ObjectIndex {
    let index = this._index;
    if (index !== null) return index;
    index = new ObjectIndex();
    this.materialize();
    let names = this._names;
    if (names !== null) {
      let n = names.length;
      let map: Map<string, i32> | null = null;
      if (n > SMALL_OBJECT) {
        map = new Map<string, i32>();
        index.map = map;
      }
      for (let i = 0; i < n; i++) {
        let name = unchecked(names[i]).asString();
        let pos = index.find(name);
        if (pos < 0) {
          index.names.push(name);
          index.last.push(i);
          if (map !== null) map.set(name, index.names.length - 1);
        } else {
          unchecked(index.last[pos] = i);
        }
      }
      this._flags |= FLAG_DUPS_KNOWN;
      if (index.names.length != n) this._flags |= FLAG_HAS_DUPS;
    }
    this._index = index;
    return index;
  }

  /** True when some member name occurs more than once. Cheap for parsed objects with plain names. */
  hasDuplicateNames(): bool {
    let flags = this._flags;
    if ((flags & FLAG_DUPS_KNOWN) != 0) return (flags & FLAG_HAS_DUPS) != 0;
    let doc = this._doc;
    let verdict = doc !== null && this._index === null ? tapeObjectDuplicates(doc, this._node) : DUPS_UNDECIDED;
    if (verdict == DUPS_UNDECIDED) {
      this.objectIndex(); // decodes the names and records the answer in the flags
      return (this._flags & FLAG_HAS_DUPS) != 0;
    }
    this._flags = flags | FLAG_DUPS_KNOWN | (verdict == DUPS_FOUND ? FLAG_HAS_DUPS : 0);
    return verdict == DUPS_FOUND;
  }
}

/** True when the String value `name` decodes to exactly `key`. */
function nameEquals(name: JsonValue, key: string): bool {
  let text = name._text;
  if (text !== null) return text == key;
  let src = name._src;
  if (src === null) return key.length == 0;
  let len = name._end - name._start;
  if ((name._flags & FLAG_ESCAPED) != 0) return name.asString() == key;
  return utf8EqualsString(name.sourcePtr(src), len, key);
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
    unchecked(list[i] = child);
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
    memory.fill(changetype<usize>(table), 0, <usize>size << 2);
  }
  let mask = <u32>(size - 1);
  for (let i = 0; i < n; i++) {
    let a = unchecked(list[i]);
    let start = doc.word(a, 1);
    let h = hashBytes(base + <usize>start, doc.word(a, 2) - start) & mask;
    while (true) {
      let slot = unchecked(table[h]);
      if (slot == 0) {
        unchecked(table[h] = a + 1);
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
  return len == 0 ? 0 : (len << 8) | <i32>load<u8>(base + <usize>start);
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
  let h: u32 = 0x811C9DC5;
  for (let i = 0; i < len; i++) {
    h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193;
  }
  return h;
}

// ---------------------------------------------------------------------------
// Factories.

export function jsonNull(): JsonValue {
  return new JsonValue(JsonKind.Null);
}

export function jsonBool(b: bool): JsonValue {
  let v = new JsonValue(JsonKind.Bool);
  if (b) v._flags = FLAG_TRUE;
  return v;
}

export function jsonNumber(n: f64): JsonValue {
  let v = new JsonValue(JsonKind.Number);
  v._num = n;
  return v;
}

export function jsonString(s: string): JsonValue {
  let v = new JsonValue(JsonKind.String);
  v._text = s;
  return v;
}

/** An Array holding `items` (copied; a null slot becomes a JSON null). */
export function jsonArray(items: JsonValue[]): JsonValue {
  let n = items.length;
  let out = new StaticArray<JsonValue>(n);
  for (let i = 0; i < n; i++) unchecked(out[i] = orNull(unchecked(items[i])));
  let v = new JsonValue(JsonKind.Array);
  v._items = out;
  return v;
}

/**
 * An Object with members keys[i]: values[i] (extra entries of the longer array
 * are ignored). A repeated name keeps its first position and its last value.
 */
export function jsonObject(keys: string[], values: JsonValue[]): JsonValue {
  let n = keys.length < values.length ? keys.length : values.length;
  let index = new ObjectIndex();
  if (n > SMALL_OBJECT) index.map = new Map<string, i32>();
  let memberValues = new Array<JsonValue>();
  for (let i = 0; i < n; i++) {
    let key = unchecked(keys[i]);
    if (changetype<usize>(key) == 0) key = "";
    let value = orNull(unchecked(values[i]));
    let pos = index.find(key);
    if (pos < 0) {
      index.names.push(key);
      index.last.push(index.names.length - 1);
      let map = index.map;
      if (map !== null) map.set(key, index.names.length - 1);
      memberValues.push(value);
    } else {
      unchecked(memberValues[pos] = value);
    }
  }
  let count = index.names.length;
  let names = new StaticArray<JsonValue>(count);
  let items = new StaticArray<JsonValue>(count);
  for (let i = 0; i < count; i++) {
    unchecked(names[i] = jsonString(unchecked(index.names[i])));
    unchecked(items[i] = unchecked(memberValues[i]));
  }
  let v = new JsonValue(JsonKind.Object);
  v._names = names;
  v._items = items;
  v._index = index;
  v._flags = FLAG_DUPS_KNOWN;
  return v;
}

/** `v`, or a JSON null when the reference is actually null. */
// @ts-ignore: decorator
@inline function orNull(v: JsonValue): JsonValue {
  return changetype<usize>(v) == 0 ? jsonNull() : v;
}

// ---------------------------------------------------------------------------
// Equality.

/**
 * JSON Schema equality: numbers by value (1 == 1.0), strings by code units,
 * arrays element-wise in order, objects by member set regardless of order.
 */
export function jsonEquals(a: JsonValue, b: JsonValue): bool {
  if (!shallowEquals(a, b)) return false;
  if (a.kind != JsonKind.Array && a.kind != JsonKind.Object) return true;
  // Containers: compare children with an explicit stack (no recursion).
  let left = new Array<JsonValue>();
  let right = new Array<JsonValue>();
  if (!pushChildren(a, b, left, right)) return false;
  while (left.length > 0) {
    let x = left.pop();
    let y = right.pop();
    if (!shallowEquals(x, y)) return false;
    if (x.kind == JsonKind.Array || x.kind == JsonKind.Object) {
      if (!pushChildren(x, y, left, right)) return false;
    }
  }
  return true;
}

/** Kind, scalar value and container size equality. */
function shallowEquals(a: JsonValue, b: JsonValue): bool {
  if (changetype<usize>(a) == 0 || changetype<usize>(b) == 0) {
    return changetype<usize>(a) == changetype<usize>(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case JsonKind.Null: return true;
    case JsonKind.Bool: return a.asBool() == b.asBool();
    case JsonKind.Number: return a.asNumber() == b.asNumber();
    case JsonKind.String: return stringsEqual(a, b);
    case JsonKind.Array: return a.length == b.length;
    case JsonKind.Object: return a.memberCount() == b.memberCount();
  }
  return false;
}

function stringsEqual(a: JsonValue, b: JsonValue): bool {
  let sa = a._src;
  let sb = b._src;
  let plainA = a._text === null && sa !== null && (a._flags & FLAG_ESCAPED) == 0;
  let plainB = b._text === null && sb !== null && (b._flags & FLAG_ESCAPED) == 0;
  if (plainA && plainB && sa !== null && sb !== null) {
    let len = a._end - a._start;
    if (len != b._end - b._start) return false;
    return memory.compare(a.sourcePtr(sa), b.sourcePtr(sb), <usize>len) == 0;
  }
  if (plainA && sa !== null) return utf8EqualsString(a.sourcePtr(sa), a._end - a._start, b.asString());
  if (plainB && sb !== null) return utf8EqualsString(b.sourcePtr(sb), b._end - b._start, a.asString());
  return a.asString() == b.asString();
}

/** Queues the child pairs of two containers of equal kind and size; false on a missing member. */
function pushChildren(a: JsonValue, b: JsonValue, left: JsonValue[], right: JsonValue[]): bool {
  a.materialize();
  b.materialize();
  if (a.kind == JsonKind.Array) {
    let ia = a._items;
    let ib = b._items;
    if (ia === null || ib === null) return ia === ib;
    for (let i = 0, n = ia.length; i < n; i++) {
      left.push(unchecked(ia[i]));
      right.push(unchecked(ib[i]));
    }
    return true;
  }
  let ia = a._items;
  if (ia === null) return true;
  let index = a.objectIndex();
  let names = index.names;
  for (let i = 0, n = names.length; i < n; i++) {
    let other = b.get(unchecked(names[i]));
    if (other === null) return false;
    left.push(unchecked(ia[unchecked(index.last[i])]));
    right.push(other);
  }
  return true;
}

/** The JSON type name of a value: "null", "boolean", "number", "string", "array" or "object". */
export function jsonKindName(v: JsonValue): string {
  if (v.isNull()) return "null";
  if (v.isBool()) return "boolean";
  if (v.isNumber()) return "number";
  if (v.isString()) return "string";
  if (v.isArray()) return "array";
  return "object";
}

function isBlankUtf8(b: Uint8Array): bool {
  for (let i = 0; i < b.length; i++) {
    let c = unchecked(b[i]);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return false;
  }
  return true;
}
