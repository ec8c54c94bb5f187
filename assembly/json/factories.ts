// Building values in code (not from JSON text): the json* factories.

import { JsonValue, JsonKind, FLAG_TRUE, FLAG_DUPS_KNOWN, SMALL_OBJECT } from "./value";
import { ObjectIndex } from "./members";

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
  for (let i = 0; i < n; i++) unchecked((out[i] = orNull(unchecked(items[i]))));
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
      unchecked((memberValues[pos] = value));
    }
  }
  let count = index.names.length;
  let names = new StaticArray<JsonValue>(count);
  let items = new StaticArray<JsonValue>(count);
  for (let i = 0; i < count; i++) {
    unchecked((names[i] = jsonString(unchecked(index.names[i]))));
    unchecked((items[i] = unchecked(memberValues[i])));
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
