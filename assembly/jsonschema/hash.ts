// Hashing consistent with jsonEquals (1 and 1.0 hash alike; object key order
// does not matter). Deep values stop contributing below a fixed depth, which
// keeps equal values hashing equally. Used for `enum` and `uniqueItems`.

import { JsonValue } from "../json";

const HASH_DEPTH: i32 = 32;
const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

function mix(h: u64): u64 {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return h;
}

function hashString(s: string): u64 {
  let h = FNV_OFFSET;
  let n = s.length;
  for (let i = 0; i < n; i++) {
    h ^= <u64>s.charCodeAt(i);
    h *= FNV_PRIME;
  }
  return mix(h ^ (<u64>n));
}

export function hashValue(v: JsonValue, depth: i32): u64 {
  if (v.isNull()) return 0x9e3779b97f4a7c15;
  if (v.isBool()) return v.asBool() ? 0x2545f4914f6cdd1d : 0x5851f42d4c957f2d;
  if (v.isNumber()) {
    let x = v.asNumber();
    if (x == 0) x = 0; // -0 equals 0
    return mix(reinterpret<u64>(x) ^ 0x27d4eb2f165667c5);
  }
  if (v.isString()) return hashString(v.asString());
  if (depth >= HASH_DEPTH) return v.isArray() ? 0x1234567 : 0x7654321;
  if (v.isArray()) {
    let h: u64 = 0x165667b19e3779f9;
    let n = v.length;
    for (let i = 0; i < n; i++) {
      let item = v.at(i);
      if (item === null) continue;
      h = mix(h * 31 + hashValue(item, depth + 1));
    }
    return mix(h ^ (<u64>n));
  }
  if (v.isObject()) {
    let keys = v.keys();
    let h: u64 = 0x61c8864680b583eb;
    for (let i = 0; i < keys.length; i++) {
      let item = v.get(keys[i]);
      if (item === null) continue;
      h += mix(hashString(keys[i]) * 0x9e3779b97f4a7c15 + hashValue(item, depth + 1));
    }
    return mix(h ^ (<u64>keys.length));
  }
  return 0;
}
