// Hashing consistent with jsonEquals (1 and 1.0 hash alike; object key order
// does not matter), over the whole value at any depth, so that values which
// differ only deep down still hash apart and `uniqueItems` compares only true
// twins. Each node hashed costs a step of the caller's budget (long strings
// one more per 256 bytes). Used for `enum` and `uniqueItems`.
//
// A parsed value is hashed on its tape without allocating: numbers from their
// text, strings from their UTF-8 (as the UTF-16 code units they decode to),
// containers with an explicit stack kept between calls. An object whose names
// repeat or hold escapes, and a string holding escapes, are hashed through
// JsonValues instead (the same hash: names once each, decoded text).

import { JsonValue, JsonKind } from "./value";
import { Members } from "./members";
import { Steps } from "./equality";
import {
  JsonDoc,
  wrapNode,
  scanStringEnd,
  scanNumberEnd,
  tapeObjectDuplicates,
  DUPS_NONE,
  TAPE_KIND_MASK,
  TAPE_SHIFT,
} from "./tape";
import { parseNumberText } from "./number";
import { grownArray } from "./bytes";

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;
const ARRAY_SEED: u64 = 0x165667b19e3779f9;
const OBJECT_SEED: u64 = 0x61c8864680b583eb;
const NAME_FACTOR: u64 = 0x9e3779b97f4a7c15;
/** An array's running hash takes each element's (already mixed) hash in: xor, then times this odd constant. */
const ELEMENT_FACTOR: u64 = 0xbf58476d1ce4e5b9;

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

/** hashString of the text that valid, unescaped UTF-8 bytes [start, end) of `src` decode to. */
function hashUtf8(src: Uint8Array, start: i32, end: i32): u64 {
  let h = FNV_OFFSET;
  let n: u64 = 0;
  let base = src.dataStart;
  let pos = start;
  while (pos < end) {
    let b0 = <u32>load<u8>(base + <usize>pos);
    let cp: u32;
    if (b0 < 0x80) {
      cp = b0;
      pos++;
    } else if (b0 < 0xe0) {
      cp = ((b0 & 0x1f) << 6) | ((<u32>load<u8>(base + <usize>pos + 1)) & 0x3f);
      pos += 2;
    } else if (b0 < 0xf0) {
      cp =
        ((b0 & 0x0f) << 12) |
        (((<u32>load<u8>(base + <usize>pos + 1)) & 0x3f) << 6) |
        ((<u32>load<u8>(base + <usize>pos + 2)) & 0x3f);
      pos += 3;
    } else {
      cp =
        ((b0 & 0x07) << 18) |
        (((<u32>load<u8>(base + <usize>pos + 1)) & 0x3f) << 12) |
        (((<u32>load<u8>(base + <usize>pos + 2)) & 0x3f) << 6) |
        ((<u32>load<u8>(base + <usize>pos + 3)) & 0x3f);
      pos += 4;
    }
    if (cp < 0x10000) {
      h ^= <u64>cp;
      h *= FNV_PRIME;
      n++;
    } else {
      let c = cp - 0x10000;
      h ^= <u64>(0xd800 + (c >> 10));
      h *= FNV_PRIME;
      h ^= <u64>(0xdc00 + (c & 0x3ff));
      h *= FNV_PRIME;
      n += 2;
    }
  }
  return mix(h ^ n);
}

function hashNumber(x: f64): u64 {
  if (x == 0) x = 0; // -0 equals 0
  return mix(reinterpret<u64>(x) ^ 0x27d4eb2f165667c5);
}

const NULL_HASH: u64 = 0x9e3779b97f4a7c15;
const TRUE_HASH: u64 = 0x2545f4914f6cdd1d;
const FALSE_HASH: u64 = 0x5851f42d4c957f2d;

function hashScalar(v: JsonValue): u64 {
  if (v.isNull()) return NULL_HASH;
  if (v.isBool()) return v.asBool() ? TRUE_HASH : FALSE_HASH;
  if (v.isNumber()) return hashNumber(v.asNumber());
  if (v.isString()) return hashString(v.asString());
  return 0;
}

/** A scalar node's hash (as hashScalar of its JsonValue). */
function hashScalarNode(doc: JsonDoc, node: i32): u64 {
  let kind = doc.kindOf(node);
  if (kind == JsonKind.Null) return NULL_HASH;
  if (kind == JsonKind.Bool) return doc.flag(node) ? TRUE_HASH : FALSE_HASH;
  let src = doc.src;
  let start = doc.payload(node);
  if (kind == JsonKind.Number) {
    let end = scanNumberEnd(src, start);
    return hashNumber(parseNumberText(src.dataStart + <usize>start, end - start));
  }
  if (doc.flag(node)) return hashScalar(wrapNode(doc, node)); // escapes: decoded
  return hashUtf8(src, start, scanStringEnd(src, start));
}

/** A container being hashed through JsonValues: what is summed so far and the next child. */
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
  if (v.kind >= JsonKind.Array) {
    v.loadDoc();
    let doc = v._doc;
    if (doc !== null) return hashNode(doc, v._node, steps);
  }
  return hashValues(v, steps);
}

/** hashValue through JsonValues (built values, objects whose names repeat or hold escapes). */
function hashValues(v: JsonValue, steps: Steps | null): u64 {
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
        let doc = child._doc;
        if (doc !== null) {
          // A parsed child is hashed on its tape.
          combine(f, hashNode(doc, child._node, steps));
          if (steps !== null && steps.exhausted) return 0;
          continue;
        }
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
  else f.h = (f.h ^ child) * ELEMENT_FACTOR;
}

// The tape walk's stack, kept between calls: per saved container its next
// child node, end node, child count (times two, plus one for an object), its
// running hash and the hash of the member name being hashed. Frames from a
// walk's base up belong to it; a walk that starts another (an object hashed
// through JsonValues holding a parsed child) pushes its frames above them.
let tapeNext = new StaticArray<i32>(64);
let tapeEnd = new StaticArray<i32>(64);
let tapeCount = new StaticArray<i32>(64);
let tapeHash = new StaticArray<u64>(64);
let tapeName = new StaticArray<u64>(64);
let sp = 0;

function growTapeStack(): void {
  let n = tapeNext.length * 2;
  tapeNext = grownArray(tapeNext, n);
  tapeEnd = grownArray(tapeEnd, n);
  tapeCount = grownArray(tapeCount, n);
  tapeHash = grownArray(tapeHash, n);
  tapeName = grownArray(tapeName, n);
}

/** Whether a container node can be hashed on the tape: an array, or an object whose names are plain and distinct. */
function onTape(doc: JsonDoc, node: i32): bool {
  return doc.kindOf(node) == JsonKind.Array || tapeObjectDuplicates(doc, node) == DUPS_NONE;
}

/** hashValue of tape node `node` of `doc`, with no allocation for arrays and objects with plain, distinct names. */
export function hashNode(doc: JsonDoc, node: i32, steps: Steps | null = null): u64 {
  let kind = doc.kindOf(node);
  if (kind < JsonKind.Array) {
    if (steps !== null && !steps.charge()) return 0;
    return hashScalarNode(doc, node);
  }
  if (!onTape(doc, node)) return hashValues(wrapNode(doc, node), steps);
  let base = sp;
  let h = walkTape(doc, node, steps);
  sp = base;
  return h;
}

/**
 * hashNode's walk. The container being hashed lives in locals; its parents'
 * frames are saved from `sp` up while a child container is hashed. The steps
 * of its nodes are counted in a local and charged once, at the end: a walk
 * is as long as its value, and the caller sees the budget exhausted after it.
 */
function walkTape(doc: JsonDoc, node: i32, steps: Steps | null): u64 {
  let base = sp;
  let cost: i64 = 1;
  // The open container: next child, end, children so far, object or not, running hash, name hash.
  let next = node + 1;
  let end = doc.endOf(node);
  let count = 0;
  let isObject = doc.kindOf(node) == JsonKind.Object;
  let h: u64 = isObject ? OBJECT_SEED : ARRAY_SEED;
  let nameHash: u64 = 0;
  while (true) {
    if (next >= end) {
      // The container is complete: its hash goes to its parent.
      let done = mix(h ^ (<u64>count));
      if (sp == base) {
        if (steps !== null && !steps.charge(cost)) return 0;
        return done;
      }
      let at = sp - 1;
      sp = at;
      next = unchecked(tapeNext[at]);
      end = unchecked(tapeEnd[at]);
      let c = unchecked(tapeCount[at]);
      count = c >> 1;
      isObject = (c & 1) != 0;
      h = unchecked(tapeHash[at]);
      nameHash = unchecked(tapeName[at]);
      h = isObject ? h + mix(nameHash * NAME_FACTOR + done) : (h ^ done) * ELEMENT_FACTOR;
      continue;
    }
    let valueNode = next;
    if (isObject) {
      let start = doc.payload(next);
      nameHash = hashUtf8(doc.src, start, doc.stringEnd(next));
      valueNode = next + 1;
    }
    let w = doc.word(valueNode);
    let k = <JsonKind>(w & TAPE_KIND_MASK);
    next = k >= JsonKind.Array ? <i32>((<u32>w) >> TAPE_SHIFT) : valueNode + 1;
    count++;
    cost++;
    let child: u64;
    if (k >= JsonKind.Array) {
      if (k == JsonKind.Array || tapeObjectDuplicates(doc, valueNode) == DUPS_NONE) {
        // Save this container and open the child.
        if (sp >= tapeNext.length) growTapeStack();
        let at = sp;
        unchecked((tapeNext[at] = next));
        unchecked((tapeEnd[at] = end));
        unchecked((tapeCount[at] = (count << 1) | (isObject ? 1 : 0)));
        unchecked((tapeHash[at] = h));
        unchecked((tapeName[at] = nameHash));
        sp = at + 1;
        end = next;
        next = valueNode + 1;
        count = 0;
        isObject = k == JsonKind.Object;
        h = isObject ? OBJECT_SEED : ARRAY_SEED;
        continue;
      }
      // Repeated or escaped names: through JsonValues (its frames above this walk's).
      child = hashValues(wrapNode(doc, valueNode), steps);
      if (steps !== null && steps.exhausted) return 0;
    } else {
      if (steps !== null && k == JsonKind.String) {
        let start = doc.payload(valueNode);
        cost += <i64>((doc.stringEnd(valueNode) - start) >> 8);
      }
      child = hashScalarNode(doc, valueNode);
    }
    h = isObject ? h + mix(nameHash * NAME_FACTOR + child) : (h ^ child) * ELEMENT_FACTOR;
  }
  return 0;
}
