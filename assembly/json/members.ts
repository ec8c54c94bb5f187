// Object members of parsed and built values: the name index an object
// builds on first need, the sorted name list of a large parsed object, name
// comparisons on the tape, and Members, the walk over an object's members
// that each name once with its last value.

import { utf8ToString, utf8EqualsString } from "./utf8";
import { unescapeToString } from "./unescape";
import { JsonDoc, wrapNode, wrapNodeInto, compareNames } from "./tape";
import { JsonValue, JsonKind, FLAG_ESCAPED } from "./value";

/** Distinct member names of an object, built on first need. */
export class ObjectIndex {
  /** Distinct names, in order of first appearance. */
  names: string[] = [];
  /**
   * For each distinct name, its last member (the one that counts): the
   * position in `_items` (built objects) or the value's tape node (parsed ones).
   */
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
/** Orders name nodes by name bytes, then by position. */
function compareNameNodes(doc: JsonDoc, a: i32, b: i32): i32 {
  let c = compareNames(doc.src, doc.payload(a), doc.payload(b));
  return c != 0 ? c : a - b;
}

/** Heap sort of name nodes (no allocation). */
export function sortNameNodes(doc: JsonDoc, list: StaticArray<i32>): void {
  let n = list.length;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftNames(doc, list, i, n);
  for (let size = n - 1; size > 0; size--) {
    let top = unchecked(list[0]);
    unchecked((list[0] = list[size]));
    unchecked((list[size] = top));
    siftNames(doc, list, 0, size);
  }
}

function siftNames(doc: JsonDoc, list: StaticArray<i32>, root: i32, size: i32): void {
  while (true) {
    let child = root * 2 + 1;
    if (child >= size) return;
    if (child + 1 < size && compareNameNodes(doc, unchecked(list[child]), unchecked(list[child + 1])) < 0) child++;
    if (compareNameNodes(doc, unchecked(list[root]), unchecked(list[child])) >= 0) return;
    let t = unchecked(list[root]);
    unchecked((list[root] = list[child]));
    unchecked((list[child] = t));
    root = child;
  }
}

/** Orders the name of node `node` against the UTF-8 `key`. */
function compareNameToKey(doc: JsonDoc, node: i32, key: Uint8Array): i32 {
  let src = doc.src;
  let base = src.dataStart;
  let pos = doc.payload(node);
  let len = src.length;
  let kn = key.length;
  for (let i = 0; i < kn; i++) {
    let c = pos + i < len ? <i32>load<u8>(base + <usize>(pos + i)) : 0x22;
    if (c == 0x22) return -1;
    let k = <i32>unchecked(key[i]);
    if (c != k) return c - k;
  }
  let c = pos + kn < len ? <i32>load<u8>(base + <usize>(pos + kn)) : 0x22;
  return c == 0x22 ? 0 : 1;
}

/** The last name node equal to `key` in a sorted name list, or -1. */
export function findSorted(doc: JsonDoc, sorted: StaticArray<i32>, key: Uint8Array): i32 {
  let lo = 0;
  let hi = sorted.length;
  // First position whose name is greater than the key.
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (compareNameToKey(doc, unchecked(sorted[mid]), key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return -1;
  let node = unchecked(sorted[lo - 1]);
  return compareNameToKey(doc, node, key) == 0 ? node : -1;
}

/** The decoded text of String node `node`. */
export function nodeString(doc: JsonDoc, node: i32): string {
  let start = doc.payload(node);
  let ptr = doc.src.dataStart + <usize>start;
  let len = doc.stringEnd(node) - start;
  return doc.flag(node) ? unescapeToString(ptr, len) : utf8ToString(ptr, len);
}

/**
 * The members of an object in keys() order, each name once with the value
 * that counts (its last), read one at a time: a parsed object without
 * repeated names is walked on its tape, without building a name index, and
 * a name is decoded only when asked for.
 *
 *   let m = new Members(obj);
 *   while (m.next()) use(m.name, m.value);
 *
 * With `scratch`, every value is written into that one JsonValue instead of
 * a new one: the caller must be done with a value before asking for the next.
 */
export class Members {
  /** Tape walks: the document and the current member's name node (else null and -1); its value is node + 1. */
  doc: JsonDoc | null = null;
  nameNode: i32 = -1;
  private _name: string | null = null;
  private _value: JsonValue | null = null;
  private obj: JsonValue;
  private scratch: JsonValue | null;
  private index: ObjectIndex | null = null;
  private pos: i32 = 0;
  private end: i32 = 0;

  constructor(obj: JsonValue, scratch: JsonValue | null = null) {
    this.obj = obj;
    this.scratch = scratch;
    this.start(obj);
  }

  /** Starts over on another object (a walker reused instead of a new one per object). */
  restart(obj: JsonValue): Members {
    this.obj = obj;
    this.doc = null;
    this.nameNode = -1;
    this._name = null;
    this._value = null;
    this.index = null;
    this.pos = 0;
    this.end = 0;
    this.start(obj);
    return this;
  }

  private start(obj: JsonValue): void {
    if (obj.kind != JsonKind.Object) return;
    obj.loadDoc();
    let doc = obj._doc;
    if (doc !== null && !obj.hasDuplicateNames()) {
      this.doc = doc;
      this.pos = obj._node + 1;
      this.end = doc.payload(obj._node);
      return;
    }
    if (doc === null && obj._names === null) return;
    let index = obj.objectIndex();
    this.index = index;
    this.end = index.names.length;
  }

  /** The current member's name (decoded on first use). */
  get name(): string {
    let known = this._name;
    if (known !== null) return known;
    let doc = this.doc;
    let n = doc !== null && this.nameNode >= 0 ? nodeString(doc, this.nameNode) : "";
    this._name = n;
    return n;
  }

  /** The current member's value (on a tape walk, made on first use). */
  get value(): JsonValue {
    let known = this._value;
    if (known !== null) return known;
    let doc = this.doc!;
    let scratch = this.scratch;
    let v = scratch !== null ? wrapNodeInto(doc, this.nameNode + 1, scratch) : wrapNode(doc, this.nameNode + 1);
    this._value = v;
    return v;
  }

  /** Moves to the next member; false when there is none. */
  next(): bool {
    let doc = this.doc;
    if (doc !== null) {
      let pos = this.pos;
      if (pos >= this.end) return false;
      this.nameNode = pos;
      this._name = null;
      this._value = null;
      this.pos = doc.next(pos + 1);
      return true;
    }
    let index = this.index;
    if (index === null || this.pos >= this.end) return false;
    let i = this.pos++;
    this._name = unchecked(index.names[i]);
    let at = unchecked(index.last[i]);
    let objDoc = this.obj._doc;
    if (objDoc !== null) {
      let scratch = this.scratch;
      this._value = scratch !== null ? wrapNodeInto(objDoc, at, scratch) : wrapNode(objDoc, at);
    } else {
      let items = this.obj._items;
      this._value = items !== null && at < items.length ? unchecked(items[at]) : new JsonValue(JsonKind.Null);
    }
    return true;
  }
}

/** True when the String value `name` decodes to exactly `key`. */
export function nameEquals(name: JsonValue, key: string): bool {
  let text = name._text;
  if (text !== null) return text == key;
  let src = name._src;
  if (src === null) return key.length == 0;
  let len = name._end - name._start;
  if ((name._flags & FLAG_ESCAPED) != 0) return name.asString() == key;
  return utf8EqualsString(name.sourcePtr(src), len, key);
}
