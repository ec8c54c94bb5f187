// JsonValue: one node of a parsed (or built) JSON document.
//
// The parser produces a JsonDoc: the source bytes plus a flat tape of nodes.
// A JsonValue for a parsed node keeps the source reference and the byte range
// of its text, so strings and numbers are decoded only when asked for; a
// parsed container creates JsonValues for its children (one level) on first
// access. Values built with the json* factories hold decoded data instead.

import { utf8ToString, utf8EqualsString, utf16LengthOfUtf8, stringToUtf8, copyBytes } from "./utf8";
import { unescapeToString, unescapeToUtf8 } from "./unescape";
import { parseNumberText, numberTextIsInteger } from "./number";
import { stringifyJson } from "./writer";
import { parseJsonPrefix } from "./parse";
import { kindOfByte } from "./parser";
import { JsonDoc, wrapNode, tapeObjectDuplicates, DUPS_FOUND, DUPS_UNDECIDED } from "./tape";
import { ObjectIndex, sortNameNodes, findSorted, nodeString, nameEquals } from "./members";

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
export const SMALL_OBJECT: i32 = 8;

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
  /**
   * Parsed containers: the document and node. Children are read from the
   * tape and wrapped on each access, never all kept: a parsed document costs
   * its tape, plus the values in use.
   */
  _doc: JsonDoc | null = null;
  _node: i32 = 0;
  /** Parsed containers: elements or members (repeated names included); -1 until counted. */
  _count: i32 = -1;
  /** Parsed arrays: the element at() returned last and its node, so a walk in order is linear. */
  _curIndex: i32 = -1;
  _curNode: i32 = 0;
  /** Large parsed objects: name nodes in name order (see sortedNames). */
  _sorted: StaticArray<i32> | null = null;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  /** Makes this object a fresh value of `kind` (for a JsonValue reused as scratch: see wrapNodeInto). */
  reset(kind: JsonKind): void {
    this.kind = kind;
    this._flags = 0;
    this._start = 0;
    this._end = 0;
    this._num = 0;
    this._src = null;
    this._text = null;
    this._items = null;
    this._names = null;
    this._index = null;
    this._doc = null;
    this._node = 0;
    this._count = -1;
    this._curIndex = -1;
    this._curNode = 0;
    this._sorted = null;
  }

  isNull(): bool {
    return this.kind == JsonKind.Null;
  }
  isBool(): bool {
    return this.kind == JsonKind.Bool;
  }
  isNumber(): bool {
    return this.kind == JsonKind.Number;
  }
  isString(): bool {
    return this.kind == JsonKind.String;
  }
  isArray(): bool {
    return this.kind == JsonKind.Array;
  }
  isObject(): bool {
    return this.kind == JsonKind.Object;
  }

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
        return this.childCount();
      }
      case JsonKind.Object:
        return this.memberCount();
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
    this.loadDoc();
    let doc = this._doc;
    if (doc !== null) {
      if (this._index === null && this.childCount() <= SMALL_OBJECT) {
        let found = doc.member(this._node, key);
        return found < 0 ? null : wrapNode(doc, found);
      }
      if (this._index === null) {
        let sorted = this.sortedNames();
        if (sorted !== null) {
          let found = findSorted(doc, sorted, stringToUtf8(key));
          return found < 0 || !doc.nameIs(found, key) ? null : wrapNode(doc, found + 1);
        }
      }
      let index = this.objectIndex();
      let pos = index.find(key);
      return pos < 0 ? null : wrapNode(doc, unchecked(index.last[pos]));
    }
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

  /** Array element; null when out of range or not an Array. In order, parsed arrays are walked once. */
  at(index: i32): JsonValue | null {
    if (this.kind != JsonKind.Array) return null;
    this.loadDoc();
    let doc = this._doc;
    if (doc !== null) {
      if (index < 0 || index >= this.childCount()) return null;
      let i = 0;
      let node = this._node + 1;
      if (this._curIndex >= 0 && index >= this._curIndex) {
        i = this._curIndex;
        node = this._curNode;
      }
      while (i < index) {
        node = doc.next(node);
        i++;
      }
      this._curIndex = index;
      this._curNode = node;
      return wrapNode(doc, node);
    }
    let items = this._items;
    if (items === null || index < 0 || index >= items.length) return null;
    return unchecked(items[index]);
  }

  /** Object member names in source order, each once; empty when not an Object. */
  keys(): string[] {
    if (this.kind != JsonKind.Object) return [];
    this.loadDoc();
    if (this._doc === null && this._names === null) return [];
    return this.objectIndex().names.slice(0);
  }

  has(key: string): bool {
    if (this.kind != JsonKind.Object) return false;
    this.loadDoc();
    let doc = this._doc;
    if (doc !== null && this._index === null && this.childCount() <= SMALL_OBJECT) {
      // A small parsed object: its names are compared on the tape, nothing is wrapped.
      return doc.member(this._node, key, false) >= 0;
    }
    return this.get(key) !== null;
  }

  // --- internal helpers -----------------------------------------------------

  /**
   * Parsed objects larger than SMALL_OBJECT whose names hold no escapes: the
   * name nodes sorted by name bytes, then position (4 bytes per member, made
   * on the first get()); null when some name holds escapes (get() then
   * decodes the names into an ObjectIndex).
   */
  sortedNames(): StaticArray<i32> | null {
    let sorted = this._sorted;
    if (sorted !== null) return sorted;
    let doc = this._doc;
    if (doc === null) return null;
    let n = this.childCount();
    let list = new StaticArray<i32>(n);
    let child = this._node + 1;
    for (let i = 0; i < n; i++) {
      if (doc.flag(child)) return null;
      unchecked((list[i] = child));
      child = doc.next(child + 1);
    }
    sortNameNodes(doc, list);
    this._sorted = list;
    return list;
  }

  /**
   * A container made by sourceValue() (valid text, not parsed yet) is parsed
   * on its first structural access; writing it (JsonWriter.value) needs no parse.
   */
  // @ts-ignore: decorator
  @inline loadDoc(): void {
    if (this._doc === null && this._src !== null && this.kind >= JsonKind.Array) this.parseSource();
  }

  /** Parses the text of a sourceValue() container (once). */
  parseSource(): void {
    let src = this._src;
    if (src === null) return;
    let r = parseJsonPrefix(src, this._start);
    let v = r.value;
    if (r.ok && v !== null && v._doc !== null) {
      this._doc = v._doc;
      this._node = v._node;
    } else {
      this._src = null; // cannot happen for valid text: read as empty
    }
  }

  /** True for a container made by sourceValue() and not parsed yet. */
  isUnparsed(): bool {
    return this._doc === null && this._src !== null && this.kind >= JsonKind.Array;
  }

  /** Parsed containers: elements, or members with repeated names counted each time. */
  childCount(): i32 {
    this.loadDoc();
    let n = this._count;
    if (n >= 0) return n;
    let doc = this._doc;
    n = doc === null ? 0 : doc.childCount(this._node);
    this._count = n;
    return n;
  }

  /** Address of this value's first source byte. */
  sourcePtr(src: Uint8Array): usize {
    return src.dataStart + <usize>this._start;
  }

  /** Number of distinct member names. */
  memberCount(): i32 {
    this.loadDoc();
    let n = 0;
    let names = this._names;
    if (names !== null) {
      n = names.length;
    } else {
      if (this._doc === null) return 0;
      n = this.childCount();
    }
    if (n <= 1 || !this.hasDuplicateNames()) return n;
    return this.objectIndex().names.length;
  }

  /** The object's name index, building it on first use. */
  objectIndex(): ObjectIndex {
    let index = this._index;
    if (index !== null) return index;
    index = new ObjectIndex();
    this.loadDoc();
    let doc = this._doc;
    if (doc !== null) {
      let node = this._node;
      let end = doc.payload(node);
      let map: Map<string, i32> | null = null;
      if (this.childCount() > SMALL_OBJECT) {
        map = new Map<string, i32>();
        index.map = map;
      }
      let child = node + 1;
      let n = 0;
      while (child < end) {
        let name = nodeString(doc, child);
        let pos = index.find(name);
        if (pos < 0) {
          index.names.push(name);
          index.last.push(child + 1);
          if (map !== null) map.set(name, index.names.length - 1);
        } else {
          unchecked((index.last[pos] = child + 1));
        }
        child = doc.next(child + 1);
        n++;
      }
      this._flags |= FLAG_DUPS_KNOWN;
      if (index.names.length != n) this._flags |= FLAG_HAS_DUPS;
      this._index = index;
      return index;
    }
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
          unchecked((index.last[pos] = i));
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
    this.loadDoc();
    let flags = this._flags;
    if ((flags & FLAG_DUPS_KNOWN) != 0) return (flags & FLAG_HAS_DUPS) != 0;
    let doc = this._doc;
    let verdict = doc !== null && this._index === null ? tapeObjectDuplicates(doc, this._node) : DUPS_UNDECIDED;
    if (doc === null && this._index === null) return false;
    if (verdict == DUPS_UNDECIDED) {
      this.objectIndex(); // decodes the names and records the answer in the flags
      return (this._flags & FLAG_HAS_DUPS) != 0;
    }
    this._flags = flags | FLAG_DUPS_KNOWN | (verdict == DUPS_FOUND ? FLAG_HAS_DUPS : 0);
    return verdict == DUPS_FOUND;
  }
}

/**
 * A value for the valid JSON text starting at `start` of `src` (e.g. found by
 * scanPath): strings and numbers read their text, containers are parsed on
 * first structural access, and JsonWriter.value() copies them compactly
 * without parsing. `src` must not change while the value is in use.
 */
export function sourceValue(src: Uint8Array, start: i32, end: i32): JsonValue {
  let c: u32 = start >= 0 && start < src.length ? load<u8>(src.dataStart + <usize>start) : 0x6e;
  let kind = kindOfByte(c);
  let v = new JsonValue(kind);
  switch (kind) {
    case JsonKind.String: {
      v._src = src;
      v._start = start + 1;
      v._end = end - 1;
      for (let i = start + 1; i < end - 1; i++) {
        if (load<u8>(src.dataStart + <usize>i) == 0x5c) {
          v._flags = FLAG_ESCAPED;
          break;
        }
      }
      break;
    }
    case JsonKind.Number: {
      v._src = src;
      v._start = start;
      v._end = end;
      v._flags = FLAG_LAZY_NUMBER;
      break;
    }
    case JsonKind.Bool: {
      if (c == 0x74) v._flags = FLAG_TRUE;
      break;
    }
    case JsonKind.Array:
    case JsonKind.Object: {
      v._src = src;
      v._start = start;
      v._end = end;
      break;
    }
  }
  return v;
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
