// Equality of JSON values, as JSON Schema defines it (enum, const, uniqueItems).

import { JsonValue, JsonKind, FLAG_ESCAPED } from "./value";
import { utf8EqualsString } from "./utf8";

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
