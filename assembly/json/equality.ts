// Equality of JSON values, as JSON Schema defines it (enum, const, uniqueItems),
// and the work budget (Steps) that such comparisons charge.

import { JsonValue, JsonKind, FLAG_ESCAPED, Members } from "./value";
import { utf8EqualsString } from "./utf8";

/** Steps between two collections of the garbage that walking parsed documents leaves (child wrappers). */
const COLLECT_EVERY: i64 = 8192;

/**
 * A work budget shared by the checks of one operation (one validation): each
 * node visited, hashed or compared costs a step. Past `limit` the operation
 * must stop. Every COLLECT_EVERY steps the garbage made meanwhile is
 * collected, so a long walk over a large parsed document keeps memory flat.
 */
export class Steps {
  used: i64 = 0;
  limit: i64;
  constructor(limit: i64 = i64.MAX_VALUE) {
    this.limit = limit;
  }
  /** Charges `n` steps; false once the budget is exhausted. */
  charge(n: i64 = 1): bool {
    let before = this.used;
    let after = before + n;
    this.used = after;
    if (after / COLLECT_EVERY != before / COLLECT_EVERY) __collect();
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
    if (steps !== null && !steps.charge()) return false;
    if (!shallowEquals(x, y)) return false;
    if (x.kind == JsonKind.Array || x.kind == JsonKind.Object) stack.push(new EqFrame(x, y));
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
