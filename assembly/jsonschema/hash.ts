// Hashing consistent with jsonEquals (1 and 1.0 hash alike; object key order
// does not matter), over the whole value at any depth, so that values which
// differ only deep down still hash apart and `uniqueItems` compares only true
// twins. Each node hashed costs a step of the caller's budget. Used for
// `enum` and `uniqueItems`.

import { JsonValue, Members, Steps } from "../json";

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;
const ARRAY_SEED: u64 = 0x165667b19e3779f9;
const OBJECT_SEED: u64 = 0x61c8864680b583eb;
const NAME_FACTOR: u64 = 0x9e3779b97f4a7c15;

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

function hashScalar(v: JsonValue): u64 {
  if (v.isNull()) return 0x9e3779b97f4a7c15;
  if (v.isBool()) return v.asBool() ? 0x2545f4914f6cdd1d : 0x5851f42d4c957f2d;
  if (v.isNumber()) {
    let x = v.asNumber();
    if (x == 0) x = 0; // -0 equals 0
    return mix(reinterpret<u64>(x) ^ 0x27d4eb2f165667c5);
  }
  if (v.isString()) return hashString(v.asString());
  return 0;
}

/** A container being hashed: what is summed so far and the next child. */
class HashFrame {
  v: JsonValue;
  h: u64;
  i: i32 = 0;
  n: i32;
  members: Members | null = null;
  /** Object: hash of the name whose value is being hashed. */
  nameHash: u64 = 0;
  constructor(v: JsonValue) {
    this.v = v;
    if (v.isObject()) {
      this.members = new Members(v);
      this.h = OBJECT_SEED;
      this.n = 0;
    } else {
      this.h = ARRAY_SEED;
      this.n = v.length;
    }
  }
}

/**
 * The hash of `v`. Each node costs one of `steps` (when given); once the
 * budget is exhausted the result is meaningless (the caller sees steps.exhausted).
 */
export function hashValue(v: JsonValue, steps: Steps | null = null): u64 {
  if (steps !== null && !steps.charge()) return 0;
  if (!v.isArray() && !v.isObject()) return hashScalar(v);
  let stack = new Array<HashFrame>();
  stack.push(new HashFrame(v));
  let result: u64 = 0;
  while (stack.length > 0) {
    let f = unchecked(stack[stack.length - 1]);
    let child: JsonValue | null = null;
    let members = f.members;
    if (members !== null) {
      if (members.next()) {
        child = members.value;
        f.nameHash = hashString(members.name);
        f.n++;
      }
    } else if (f.i < f.n) {
      child = f.v.at(f.i);
      f.i++;
    }
    let done: u64;
    if (child === null) {
      // The container is complete.
      stack.pop();
      done = mix(f.h ^ (<u64>f.n));
    } else {
      if (steps !== null && !steps.charge()) return 0;
      if (child.isArray() || child.isObject()) {
        stack.push(new HashFrame(child));
        continue;
      }
      if (steps !== null && child.isString() && !steps.charge(<i64>(child.sourceByteLength() >> 8))) return 0;
      done = hashScalar(child);
      combine(f, done);
      continue;
    }
    if (stack.length == 0) {
      result = done;
      break;
    }
    combine(unchecked(stack[stack.length - 1]), done);
  }
  return result;
}

/** Adds a child's hash to its container's. */
function combine(f: HashFrame, child: u64): void {
  if (f.members !== null) f.h += mix(f.nameHash * NAME_FACTOR + child);
  else f.h = mix(f.h * 31 + child);
}
