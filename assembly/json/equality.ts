// Equality of JSON values, as JSON Schema defines it (enum, const, uniqueItems),
// and the work budget (Steps) that such comparisons charge.

import { JsonValue, JsonKind, FLAG_ESCAPED } from "./value";
import { Members } from "./members";
import { utf8EqualsString } from "./utf8";
import { JsonDoc, wrapNode, scanNumberEnd, tapeObjectDuplicates, DUPS_NONE } from "./tape";
import { parseNumberText } from "./number";
import { grownArray } from "./bytes";

/** Steps between two collections of the garbage that walking parsed documents leaves (child wrappers). */
const COLLECT_EVERY: i64 = 32768;

/**
 * A work budget shared by the checks of one operation (one validation): each
 * node visited, hashed or compared costs a step. Past `limit` the operation
 * must stop. Every COLLECT_EVERY steps the garbage made meanwhile is
 * collected, so a long walk over a large parsed document keeps memory flat.
 */
export class Steps {
  used: i64 = 0;
  limit: i64;
  private collectAt: i64 = COLLECT_EVERY;
  constructor(limit: i64 = i64.MAX_VALUE) {
    this.limit = limit;
  }
  /** Charges `n` steps; false once the budget is exhausted. */
  charge(n: i64 = 1): bool {
    let after = this.used + n;
    this.used = after;
    if (after >= this.collectAt) {
      __collect();
      this.collectAt = after + COLLECT_EVERY;
    }
    return after <= this.limit;
  }
  get exhausted(): bool {
    return this.used > this.limit;
  }
}

/** One pair of containers being compared, and the next child to compare. */
class EqFrame {
  a: JsonValue;
  b: JsonValue;
  i: i32 = 0;
  n: i32;
  members: Members | null = null;
  constructor(a: JsonValue, b: JsonValue) {
    this.a = a;
    this.b = b;
    if (a.kind == JsonKind.Object) {
      this.members = new Members(a);
      this.n = 0;
    } else {
      this.n = a.length;
    }
  }
}

/**
 * JSON Schema equality: numbers by value (1 == 1.0), strings by code units,
 * arrays element-wise in order, objects by member set regardless of order.
 * Each pair of values compared costs one of `steps` (when given); an
 * exhausted budget makes the answer false (the caller sees steps.exhausted).
 */
export function jsonEquals(a: JsonValue, b: JsonValue, steps: Steps | null = null): bool {
  if (a.kind >= JsonKind.Array && a.kind == b.kind) {
    a.loadDoc();
    b.loadDoc();
    let da = a._doc;
    let db = b._doc;
    if (da !== null && db !== null) return equalNodes(da, a._node, db, b._node, steps);
  }
  return equalValues(a, b, steps);
}

/** jsonEquals through JsonValues. */
function equalValues(a: JsonValue, b: JsonValue, steps: Steps | null): bool {
  if (steps !== null && !steps.charge()) return false;
  if (!shallowEquals(a, b)) return false;
  if (a.kind != JsonKind.Array && a.kind != JsonKind.Object) return true;
  // Containers: depth-first with an explicit stack (no recursion), children one at a time.
  let stack = new Array<EqFrame>();
  stack.push(new EqFrame(a, b));
  while (stack.length > 0) {
    let f = unchecked(stack[stack.length - 1]);
    let x: JsonValue | null = null;
    let y: JsonValue | null = null;
    let members = f.members;
    if (members !== null) {
      if (members.next()) {
        x = members.value;
        y = f.b.get(members.name);
        if (y === null) return false;
      }
    } else if (f.i < f.n) {
      x = f.a.at(f.i);
      y = f.b.at(f.i);
      f.i++;
    }
    if (x === null || y === null) {
      stack.pop();
      continue;
    }
    if (x.kind >= JsonKind.Array && x.kind == y.kind && x._doc !== null && y._doc !== null) {
      // Parsed containers are compared on their tapes.
      if (!equalNodes(x._doc!, x._node, y._doc!, y._node, steps)) return false;
      continue;
    }
    if (steps !== null && !steps.charge()) return false;
    if (!shallowEquals(x, y)) return false;
    if (x.kind == JsonKind.Array || x.kind == JsonKind.Object) stack.push(new EqFrame(x, y));
  }
  return true;
}

// ---- on the tape -------------------------------------------------------------

/** Objects with more members than this are compared through JsonValues (their name lookups are indexed there). */
const TAPE_OBJECT_MEMBERS: i32 = 8;

/** Whether a container can be compared on the tape: an array, or a small object with plain, distinct names. */
function comparableOnTape(doc: JsonDoc, node: i32): bool {
  if (doc.kindOf(node) == JsonKind.Array) return true;
  return doc.childCount(node) <= TAPE_OBJECT_MEMBERS && tapeObjectDuplicates(doc, node) == DUPS_NONE;
}

// Pairs of containers being compared: next child of each and their ends
// (objects: the member of `a` to look up next; `b`'s first member and end).
// Frames [base, sp) belong to the comparison running.
let eqA = new StaticArray<i32>(64);
let eqEndA = new StaticArray<i32>(64);
let eqB = new StaticArray<i32>(64);
let eqEndB = new StaticArray<i32>(64);
let eqSp = 0;

function growEqStack(): void {
  let n = eqA.length * 2;
  eqA = grownArray(eqA, n);
  eqEndA = grownArray(eqEndA, n);
  eqB = grownArray(eqB, n);
  eqEndB = grownArray(eqEndB, n);
}

/**
 * jsonEquals of tape node `a` of `da` and tape node `b` of `db`, with no
 * allocation for arrays and small objects with plain, distinct names (other
 * objects go through JsonValues). Each pair compared costs a step.
 */
export function equalNodes(da: JsonDoc, a: i32, db: JsonDoc, b: i32, steps: Steps | null = null): bool {
  let base = eqSp;
  let r = walkEqual(da, a, db, b, steps);
  eqSp = base;
  return r;
}

function walkEqual(da: JsonDoc, a: i32, db: JsonDoc, b: i32, steps: Steps | null): bool {
  let base = eqSp;
  if (!pairEqual(da, a, db, b, steps)) return false;
  while (eqSp > base) {
    let top = eqSp - 1;
    let x = unchecked(eqA[top]);
    if (x >= unchecked(eqEndA[top])) {
      eqSp = top;
      continue;
    }
    let y: i32;
    if (unchecked(eqB[top]) < 0) {
      // Object member: the value of `b`'s member with the same name (sizes and names checked when pushed).
      y = findMember(da, x, db, -unchecked(eqB[top]) - 1, unchecked(eqEndB[top]));
      if (y < 0) return false;
      x++;
      unchecked((eqA[top] = da.next(x)));
    } else {
      y = unchecked(eqB[top]);
      if (y >= unchecked(eqEndB[top])) return false;
      unchecked((eqA[top] = da.next(x)));
      unchecked((eqB[top] = db.next(y)));
    }
    if (!pairEqual(da, x, db, y, steps)) return false;
  }
  return true;
}

/**
 * Compares two nodes shallowly (kind, scalar value, container size); a pair
 * of containers to compare further is pushed. False when they differ.
 */
function pairEqual(da: JsonDoc, x: i32, db: JsonDoc, y: i32, steps: Steps | null): bool {
  if (steps !== null && !steps.charge()) return false;
  let k = da.kindOf(x);
  if (k != db.kindOf(y)) return false;
  if (k < JsonKind.Array) return scalarNodesEqual(da, x, db, y);
  if (!comparableOnTape(da, x) || !comparableOnTape(db, y)) {
    return equalValues(wrapNode(da, x), wrapNode(db, y), steps);
  }
  let nx = da.childCount(x);
  if (nx != db.childCount(y)) return false;
  if (nx == 0) return true;
  if (eqSp >= eqA.length) growEqStack();
  let at = eqSp;
  unchecked((eqA[at] = x + 1));
  unchecked((eqEndA[at] = da.endOf(x)));
  // Objects: `b`'s first member, stored negative (-node - 1) to tell lookups from walks.
  unchecked((eqB[at] = k == JsonKind.Object ? -(y + 1) - 1 : y + 1));
  unchecked((eqEndB[at] = db.endOf(y)));
  eqSp = at + 1;
  return true;
}

/** The value node of the member of object `b` (members from `first` to `end`) named as name node `name` of `da`; -1 if none. */
function findMember(da: JsonDoc, name: i32, db: JsonDoc, first: i32, end: i32): i32 {
  let srcA = da.src;
  let startA = da.payload(name);
  let lenA = da.stringEnd(name) - startA;
  let m = first;
  while (m < end) {
    let startB = db.payload(m);
    let lenB = db.stringEnd(m) - startB;
    if (
      lenA == lenB &&
      memory.compare(srcA.dataStart + <usize>startA, db.src.dataStart + <usize>startB, <usize>lenA) == 0
    )
      return m + 1;
    m = db.next(m + 1);
  }
  return -1;
}

/** Equality of two scalar nodes of the same kind. */
function scalarNodesEqual(da: JsonDoc, x: i32, db: JsonDoc, y: i32): bool {
  let k = da.kindOf(x);
  if (k == JsonKind.Null) return true;
  if (k == JsonKind.Bool) return da.flag(x) == db.flag(y);
  let sa = da.src;
  let sb = db.src;
  let ax = da.payload(x);
  let by = db.payload(y);
  if (k == JsonKind.Number) {
    let ea = scanNumberEnd(sa, ax);
    let eb = scanNumberEnd(sb, by);
    return parseNumberText(sa.dataStart + <usize>ax, ea - ax) == parseNumberText(sb.dataStart + <usize>by, eb - by);
  }
  if (da.flag(x) || db.flag(y)) return wrapNode(da, x).asString() == wrapNode(db, y).asString();
  let la = da.stringEnd(x) - ax;
  if (la != db.stringEnd(y) - by) return false;
  return memory.compare(sa.dataStart + <usize>ax, sb.dataStart + <usize>by, <usize>la) == 0;
}

/** Kind, scalar value and container size equality. */
function shallowEquals(a: JsonValue, b: JsonValue): bool {
  if (changetype<usize>(a) == 0 || changetype<usize>(b) == 0) {
    return changetype<usize>(a) == changetype<usize>(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case JsonKind.Null:
      return true;
    case JsonKind.Bool:
      return a.asBool() == b.asBool();
    case JsonKind.Number:
      return a.asNumber() == b.asNumber();
    case JsonKind.String:
      return stringsEqual(a, b);
    case JsonKind.Array:
      return a.length == b.length;
    case JsonKind.Object:
      return a.memberCount() == b.memberCount();
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

/**
 * jsonEquals of scalar tape node `node` of `doc` and the scalar value `v`,
 * with no allocation unless a string holds escapes.
 */
export function scalarNodeEquals(doc: JsonDoc, node: i32, v: JsonValue): bool {
  let k = doc.kindOf(node);
  if (k != v.kind) return false;
  if (k == JsonKind.Null) return true;
  if (k == JsonKind.Bool) return doc.flag(node) == v.asBool();
  if (k == JsonKind.Number) return doc.numberValue(node) == v.asNumber();
  if (k != JsonKind.String) return false;
  let src = v._src;
  let start = doc.payload(node);
  if (!doc.flag(node) && src !== null && v._text === null && (v._flags & FLAG_ESCAPED) == 0) {
    let len = doc.stringEnd(node) - start;
    if (len != v._end - v._start) return false;
    return memory.compare(doc.src.dataStart + <usize>start, v.sourcePtr(src), <usize>len) == 0;
  }
  return wrapNode(doc, node).asString() == v.asString();
}
