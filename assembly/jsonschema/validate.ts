// Validation: applies a compiled SchemaNode to an instance. Every check
// returns whether the value matched and reports each failure to its sink
// (Sink.fail), which decides whether the check goes on, and whether a message
// is written at all (reasons.ts).

import {
  JsonDoc,
  JsonKind,
  JsonValue,
  Members,
  equalNodes,
  hashNode,
  hashValue,
  jsonEquals,
  jsonString,
  wrapNodeInto,
} from "../json";
import { SchemaNode, T_ARRAY, T_BOOLEAN, T_INTEGER, T_NULL, T_NUMBER, T_OBJECT, T_STRING } from "./node";
import { Context, PathSeg, Sink, quietSink, stop } from "./sink";
import { Why } from "./reasons";
import { MAX_VALIDATION_DEPTH } from "./schema";

/** Applies `n` to `v`; returns whether it matched. Errors go to `s`. */
export function checkNode(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
  let ctx = s.ctx;
  if (ctx.stopped) return false;
  if (depth > MAX_VALIDATION_DEPTH) {
    stop(
      ctx,
      path,
      "value nested too deeply for the schema (more than " + MAX_VALIDATION_DEPTH.toString() + " levels)",
    );
    return false;
  }
  if (!ctx.charge()) {
    stopAtLimit(ctx, path);
    return false;
  }
  if (n.boolSchema >= 0) {
    if (n.boolSchema == 1) return true;
    s.fail(path, Why.NoValue, n, v);
    return false;
  }
  let ref = n.ref;
  if (ref !== null) return checkNode(ref, v, path, depth + 1, s);

  let ok = true;
  if (n.types != 0 && !typeMatches(n.types, v)) {
    ok = false;
    if (s.fail(path, Why.Type, n, v)) return false;
  }

  let enumValues = n.enumValues;
  if (enumValues !== null && !inEnum(n, enumValues, v, ctx)) {
    if (ctx.exhausted) {
      stopAtLimit(ctx, path);
      return false;
    }
    ok = false;
    if (s.fail(path, Why.Enum, n, v)) return false;
  }
  let constValue = n.constValue;
  if (constValue !== null && !jsonEquals(constValue, v, ctx)) {
    if (ctx.exhausted) {
      stopAtLimit(ctx, path);
      return false;
    }
    ok = false;
    if (s.fail(path, Why.Const, n, v)) return false;
  }

  let typed = true;
  if (v.isNumber()) typed = checkNumber(n, v, path, s);
  else if (v.isString()) typed = checkString(n, v, path, s);
  else if (v.isArray()) typed = checkArray(n, v, path, depth, s);
  else if (v.isObject()) typed = checkObject(n, v, path, depth, s);
  if (!typed) {
    ok = false;
    if (s.full()) return false;
  }

  if (!checkCombinators(n, v, path, depth, s)) ok = false;
  return ok && !ctx.stopped;
}

function checkCombinators(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
  if (
    n.allOf === null &&
    n.anyOf === null &&
    n.oneOf === null &&
    n.not === null &&
    n.ifNode === null &&
    n.dependencies === null
  )
    return true;
  let ctx = s.ctx;
  let ok = true;
  let allOf = n.allOf;
  if (allOf !== null) {
    for (let i = 0; i < allOf.length; i++) {
      if (!checkNode(allOf[i], v, path, depth + 1, s)) {
        ok = false;
        if (s.full()) return false;
      }
    }
  }
  let anyOf = n.anyOf;
  if (anyOf !== null) {
    let matched = false;
    for (let i = 0; i < anyOf.length; i++) {
      if (checkNode(anyOf[i], v, path, depth + 1, quietSink(ctx))) {
        matched = true;
        break;
      }
      if (ctx.stopped) return false;
    }
    if (!matched) {
      ok = false;
      if (s.fail(path, Why.AnyOf, n, v, null, depth)) return false;
    }
  }
  let oneOf = n.oneOf;
  if (oneOf !== null) {
    let first = -1;
    let second = -1;
    for (let i = 0; i < oneOf.length; i++) {
      if (checkNode(oneOf[i], v, path, depth + 1, quietSink(ctx))) {
        if (first >= 0) {
          second = i;
          break;
        }
        first = i;
      }
      if (ctx.stopped) return false;
    }
    if (first < 0) {
      ok = false;
      if (s.fail(path, Why.OneOfNone, n, v, null, depth)) return false;
    } else if (second >= 0) {
      ok = false;
      if (s.fail(path, Why.OneOfMany, n, v, null, first, second)) return false;
    }
  }
  let not = n.not;
  if (not !== null) {
    let matched = checkNode(not, v, path, depth + 1, quietSink(ctx));
    if (ctx.stopped) return false;
    if (matched) {
      ok = false;
      if (s.fail(path, Why.Not, n, v)) return false;
    }
  }
  let ifNode = n.ifNode;
  if (ifNode !== null) {
    let matched = checkNode(ifNode, v, path, depth + 1, quietSink(ctx));
    if (ctx.stopped) return false;
    let branch = matched ? n.thenNode : n.elseNode;
    if (branch !== null && !checkNode(branch, v, path, depth + 1, s)) {
      ok = false;
      if (s.full()) return false;
    }
  }
  let deps = n.dependencies;
  if (deps !== null && v.isObject()) {
    for (let i = 0; i < deps.length; i++) {
      let d = deps[i];
      if (!v.has(d.name)) continue;
      let req = d.required;
      if (req !== null) {
        for (let j = 0; j < req.length; j++) {
          if (v.has(req[j])) continue;
          ok = false;
          if (s.fail(path, Why.DependencyRequired, n, v, req[j], i)) return false;
        }
      }
      let ds = d.schema;
      if (ds !== null && !checkNode(ds, v, path, depth + 1, s)) {
        ok = false;
        if (s.full()) return false;
      }
    }
  }
  return ok;
}

function checkNumber(n: SchemaNode, v: JsonValue, path: PathSeg | null, s: Sink): bool {
  if (
    n.minimum === null &&
    n.maximum === null &&
    n.exclusiveMinimum === null &&
    n.exclusiveMaximum === null &&
    n.multipleOf === null
  )
    return true;
  let x = v.asNumber();
  let ok = true;
  let b = n.minimum;
  if (b !== null && !(x >= b.value)) {
    ok = false;
    if (s.fail(path, Why.Minimum, n, v)) return false;
  }
  b = n.maximum;
  if (b !== null && !(x <= b.value)) {
    ok = false;
    if (s.fail(path, Why.Maximum, n, v)) return false;
  }
  b = n.exclusiveMinimum;
  if (b !== null && !(x > b.value)) {
    ok = false;
    if (s.fail(path, Why.ExclusiveMinimum, n, v)) return false;
  }
  b = n.exclusiveMaximum;
  if (b !== null && !(x < b.value)) {
    ok = false;
    if (s.fail(path, Why.ExclusiveMaximum, n, v)) return false;
  }
  b = n.multipleOf;
  if (b !== null && !isMultipleOf(x, b.value)) {
    ok = false;
    if (s.fail(path, Why.MultipleOf, n, v)) return false;
  }
  return ok;
}

/**
 * x / m is an integer, allowing for binary floating point: 19.99 is a multiple
 * of 0.01 although 19.99 / 0.01 == 1998.9999999999998. A quotient that
 * overflows is not a multiple.
 */
function isMultipleOf(x: f64, m: f64): bool {
  let q = x / m;
  if (!isFinite(q)) return false;
  let r = Math.abs(q - Math.round(q));
  let scale = Math.abs(q) > 1.0 ? Math.abs(q) : 1.0;
  return r <= 1e-9 * scale;
}

function checkString(n: SchemaNode, v: JsonValue, path: PathSeg | null, s: Sink): bool {
  let a = n.minLength;
  let b = n.maxLength;
  if (a === null && b === null) return true;
  // Decoding costs a step per 256 bytes.
  s.ctx.charge(<i64>(v.sourceByteLength() >> 8));
  let len = codePointCount(v.asString());
  let ok = true;
  if (a !== null && <f64>len < a.value) {
    ok = false;
    if (s.fail(path, Why.MinLength, n, v)) return false;
  }
  if (b !== null && <f64>len > b.value) {
    ok = false;
    if (s.fail(path, Why.MaxLength, n, v)) return false;
  }
  return ok;
}

/** Length in Unicode code points: a surrogate pair counts once, a lone surrogate once. */
export function codePointCount(str: string): i32 {
  let n = str.length;
  let count = 0;
  for (let i = 0; i < n; i++) {
    let c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      let d = str.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function checkArray(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
  let ctx = s.ctx;
  // Counting a parsed array's elements walks them: only when a keyword needs the count.
  let counted = n.minItems !== null || n.maxItems !== null || n.uniqueItems || v._doc === null;
  let len = counted ? v.length : -1;
  let ok = true;
  let b = n.minItems;
  if (b !== null && <f64>len < b.value) {
    ok = false;
    if (s.fail(path, Why.MinItems, n, v)) return false;
  }
  b = n.maxItems;
  if (b !== null && <f64>len > b.value) {
    ok = false;
    if (s.fail(path, Why.MaxItems, n, v)) return false;
  }
  let items = n.items;
  let list = n.itemList;
  if (items !== null && list === null && v._doc !== null && plainScalarSchema(items)) {
    // A parsed array under a plain scalar schema: one tight loop on the tape; anything else through checkNode.
    let doc = v._doc!;
    let node = v._node + 1;
    let end = doc.endOf(v._node);
    let i = 0;
    let seg: PathSeg | null = null;
    let scalars = depth + 1 <= MAX_VALIDATION_DEPTH;
    while (node < end) {
      if (scalars && doc.kindOf(node) < JsonKind.Array) {
        if (ctx.stopped) return false;
        if (!ctx.charge()) {
          stopAtLimit(ctx, new PathSeg(path, null, i));
          return false;
        }
        if (scalarMatches(items, doc, node, ctx)) {
          node++;
          i++;
          continue;
        }
        ctx.charge(-1); // checkNode charges it again, and says why
      }
      if (seg === null) seg = ctx.segAt(depth, path);
      if (!checkNode(items, wrapNodeInto(doc, node, ctx.valueAt(depth)), seg.at(i), depth + 1, s)) {
        ok = false;
        if (s.full()) return false;
      }
      node = doc.next(node);
      i++;
    }
  } else if (items !== null || list !== null) {
    let extra = n.additionalItems;
    let walk = new Elements(v, len, ctx.valueAt(depth));
    let seg = ctx.segAt(depth, path);
    while (walk.advance()) {
      let i = walk.i;
      let p = seg.at(i);
      let node: SchemaNode | null = items;
      if (list !== null) {
        if (i < list.length) {
          node = list[i];
        } else if (extra !== null) {
          if (extra.boolSchema == 0) {
            ok = false;
            if (s.fail(p, Why.AdditionalItem, n, v)) return false;
            break; // one error for the surplus is enough
          }
          node = extra;
        } else {
          break;
        }
      }
      let verdict = walk.doc !== null ? checkTapeScalar(node!, walk.doc!, walk.node, p, depth + 1, ctx) : MAYBE;
      if (verdict == MATCH) continue;
      if (verdict == STOP) return false;
      if (!checkNode(node!, walk.value(), p, depth + 1, s)) {
        ok = false;
        if (s.full()) return false;
      }
    }
  }
  let contains = n.contains;
  if (contains !== null) {
    let found = false;
    let walk = new Elements(v, len, ctx.valueAt(depth));
    let seg = ctx.segAt(depth, path);
    while (walk.advance()) {
      if (checkNode(contains, walk.value(), seg.at(walk.i), depth + 1, quietSink(ctx))) {
        found = true;
        break;
      }
      if (ctx.stopped) return false;
    }
    if (!found) {
      ok = false;
      if (s.fail(path, Why.Contains, n, v)) return false;
    }
  }
  if (n.uniqueItems && len > 1) {
    let dup = findDuplicate(v, len, ctx);
    if (ctx.exhausted) {
      stopAtLimit(ctx, path);
      return false;
    }
    if (dup >= 0) {
      ok = false;
      if (s.fail(path, Why.UniqueItems, n, v, null, <i32>(dup >> 32), <i32>(dup & 0xffffffff))) return false;
    }
  }
  return ok;
}

/** Stops the validation at the step limit. */
function stopAtLimit(ctx: Context, path: PathSeg | null): void {
  stop(ctx, path, "validation stopped after " + ctx.limit.toString() + " steps (schema too costly for this value)");
}

/**
 * Walks an array's elements in order: a parsed array on its tape (value()
 * writes the current element into one reused JsonValue, so the caller is
 * done with an element before the next), a built array by index.
 */
class Elements {
  /** Index of the current element. */
  i: i32 = -1;
  /** Parsed arrays: the document and the current element's node. */
  doc: JsonDoc | null;
  node: i32 = 0;
  private scratch: JsonValue;
  private current: JsonValue | null = null;
  private arr: JsonValue;
  private len: i32;
  private nextNode: i32 = 0;
  private end: i32 = 0;

  constructor(arr: JsonValue, len: i32, scratch: JsonValue) {
    this.arr = arr;
    this.len = len;
    this.scratch = scratch;
    arr.loadDoc();
    let doc = arr._doc;
    this.doc = doc;
    if (doc !== null) {
      this.nextNode = arr._node + 1;
      this.end = doc.endOf(arr._node);
    }
  }

  /** Moves to the next element; false when there is none. */
  advance(): bool {
    let doc = this.doc;
    if (doc !== null) {
      let node = this.nextNode;
      if (node >= this.end) return false;
      this.node = node;
      this.nextNode = doc.next(node);
      this.current = null;
      this.i++;
      return true;
    }
    while (this.i + 1 < this.len) {
      this.i++;
      let item = this.arr.at(this.i);
      if (item !== null) {
        this.current = item;
        return true;
      }
    }
    return false;
  }

  /** The current element as a JsonValue. */
  value(): JsonValue {
    let c = this.current;
    if (c !== null) return c;
    c = wrapNodeInto(this.doc!, this.node, this.scratch);
    this.current = c;
    return c;
  }
}

// checkTapeScalar's verdicts.
const MATCH: i32 = 1;
/** Not decided here: checkNode must look (it also says why a value fails). */
const MAYBE: i32 = 0;
/** The step limit was reached: the validation stopped. */
const STOP: i32 = -1;

/**
 * The common case of a large answer, decided on the tape without a
 * JsonValue: a scalar node checked against a schema of only a type and
 * bounds (no enum, const, $ref or combinator). MATCH when it matches
 * (one step charged, as checkNode charges); MAYBE for anything else, and
 * for a mismatch, so that checkNode reports it.
 */
function checkTapeScalar(n: SchemaNode, doc: JsonDoc, node: i32, path: PathSeg, depth: i32, ctx: Context): i32 {
  let kind = doc.kindOf(node);
  if (kind >= JsonKind.Array || depth > MAX_VALIDATION_DEPTH || !plainScalarSchema(n) || ctx.stopped) return MAYBE;
  if (!ctx.charge()) {
    stopAtLimit(ctx, path);
    return STOP;
  }
  if (scalarMatches(n, doc, node, ctx)) return MATCH;
  ctx.charge(-1); // checkNode charges it again
  return MAYBE;
}

/** Whether `n` checks a scalar with nothing but a type and bounds (cached on the node). */
function plainScalarSchema(n: SchemaNode): bool {
  let known = n.plainScalar;
  if (known >= 0) return known == 1;
  let plain =
    n.boolSchema == -1 &&
    n.ref === null &&
    n.enumValues === null &&
    n.constValue === null &&
    n.allOf === null &&
    n.anyOf === null &&
    n.oneOf === null &&
    n.not === null &&
    n.ifNode === null &&
    n.dependencies === null;
  n.plainScalar = plain ? 1 : 0;
  return plain;
}

/** Whether scalar node `node` matches `n` (a plainScalarSchema); false also when only checkNode can tell. */
function scalarMatches(n: SchemaNode, doc: JsonDoc, node: i32, ctx: Context): bool {
  let kind = doc.kindOf(node);
  let types = n.types;
  if (types != 0) {
    let bit = T_NULL;
    if (kind == JsonKind.Bool) bit = T_BOOLEAN;
    else if (kind == JsonKind.String) bit = T_STRING;
    else if (kind == JsonKind.Number) {
      bit = T_NUMBER;
      if ((types & T_NUMBER) == 0 && (types & T_INTEGER) != 0 && doc.numberIsInteger(node)) bit = T_INTEGER;
    }
    if ((types & bit) == 0) return false;
  }
  if (kind == JsonKind.Number) {
    if (
      n.minimum === null &&
      n.maximum === null &&
      n.exclusiveMinimum === null &&
      n.exclusiveMaximum === null &&
      n.multipleOf === null
    )
      return true;
    let x = doc.numberValue(node);
    let b = n.minimum;
    if (b !== null && !(x >= b.value)) return false;
    b = n.maximum;
    if (b !== null && !(x <= b.value)) return false;
    b = n.exclusiveMinimum;
    if (b !== null && !(x > b.value)) return false;
    b = n.exclusiveMaximum;
    if (b !== null && !(x < b.value)) return false;
    b = n.multipleOf;
    if (b !== null && !isMultipleOf(x, b.value)) return false;
    return true;
  }
  if (kind == JsonKind.String && (n.minLength !== null || n.maxLength !== null)) {
    if (doc.flag(node)) return false; // escapes: decoded by checkNode
    let start = doc.payload(node);
    let end = doc.stringEnd(node);
    ctx.charge(<i64>((end - start) >> 8));
    let count = codePointsOfUtf8(doc.src, start, end);
    let a = n.minLength;
    if (a !== null && <f64>count < a.value) return false;
    a = n.maxLength;
    if (a !== null && <f64>count > a.value) return false;
  }
  return true;
}

/** Code points in valid UTF-8 bytes [start, end) of `src`: the bytes that start a sequence. */
function codePointsOfUtf8(src: Uint8Array, start: i32, end: i32): i32 {
  let base = src.dataStart;
  let count = 0;
  for (let i = start; i < end; i++) {
    if (((<u32>load<u8>(base + <usize>i)) & 0xc0) != 0x80) count++;
  }
  return count;
}

/** Table entries: the low 27 bits hold a tape node + 1 (0 = empty), the top 5 bits part of its hash. */
const ENTRY_NODE_BITS: u32 = 27;
const ENTRY_NODE_MASK: u32 = (1 << ENTRY_NODE_BITS) - 1;

/** The slot of a hash in a table of `cap` entries (any size): the top of h's low 32 bits scaled. */
// @ts-ignore: decorator
@inline function slotOf(h: u64, cap: i32): i32 {
  return <i32>(((h & 0xffffffff) * <u64>cap) >> 32);
}

/**
 * The first pair of equal items as (i << 32 | j): the smallest i that has an
 * equal item after it, and the first such j; -1 when all differ. One pass in
 * order: each item is hashed (whole, at every depth) and looked up among the
 * earlier distinct items, which are compared for real when their hash tags
 * match. Hashing and comparing charge `ctx`. Memory: a table of 4-byte
 * entries (an item's tape node and 5 bits of its hash), kept at most 3/4
 * full while it grows; a growth never asks for more entries than the
 * distinct items there can still be call for (at most 7/8 full then).
 */
function findDuplicate(v: JsonValue, len: i32, ctx: Context): i64 {
  v.loadDoc();
  let doc = v._doc;
  if (doc === null) return findDuplicateBuilt(v, len, ctx);
  let first = v._node + 1;
  let end = doc.endOf(v._node);
  // Sized for the items of an array of up to 16,384 items; larger ones grow it as distinct items arrive.
  let small = len < 16384 ? len : 16384;
  let cap = small + small / 3 + 16;
  let table = new StaticArray<u32>(cap);
  let used = 0;
  let bestI = -1; // tape nodes of the pair
  let bestJ = -1;
  let node = first;
  let j = 0;
  while (node < end) {
    let h = hashNode(doc, node, ctx);
    if (ctx.exhausted) return -1;
    let tag = <u32>(h >> 59);
    let slot = slotOf(h, cap);
    let isNew = true;
    while (true) {
      let e = unchecked(table[slot]);
      if (e == 0) break;
      if (e >> ENTRY_NODE_BITS == tag) {
        let earlier = <i32>(e & ENTRY_NODE_MASK) - 1;
        if (equalNodes(doc, earlier, doc, node, ctx)) {
          isNew = false;
          if (bestI < 0 || earlier < bestI) {
            bestI = earlier;
            bestJ = node;
          }
          break;
        }
        if (ctx.exhausted) return -1;
      }
      slot = slot + 1 == cap ? 0 : slot + 1;
    }
    if (bestI == first) break; // no pair can come first
    j++;
    if (isNew) {
      unchecked((table[slot] = (tag << ENTRY_NODE_BITS) | (<u32>(node + 1))));
      used++;
      // Distinct items there can be at most: those so far and the items left.
      let most = <i64>used + <i64>(len - j);
      if (<i64>used * 4 > <i64>cap * 3 && <i64>cap * 7 < most * 8) {
        let grown = <i64>cap * 2;
        let enough = (most * 8) / 7 + 1;
        let next = <i32>(grown < enough ? grown : enough);
        table = regrow(doc, table, next);
        cap = next;
      }
    }
    node = doc.next(node);
  }
  if (bestI < 0) return -1;
  // Nodes to indexes: one walk.
  let i = -1;
  let jj = -1;
  let k = 0;
  node = first;
  while (node < end && jj < 0) {
    if (node == bestI) i = k;
    if (node == bestJ) jj = k;
    node = doc.next(node);
    k++;
  }
  return ((<i64>i) << 32) | (<i64>jj);
}

/**
 * The table re-made with `cap` entries. Each item in it is hashed again
 * (an entry keeps only 5 bits of its hash), uncharged: all the growths
 * together hash each distinct item at most about twice more than the
 * charged first time.
 */
function regrow(doc: JsonDoc, table: StaticArray<u32>, cap: i32): StaticArray<u32> {
  let grown = new StaticArray<u32>(cap);
  for (let k = 0; k < table.length; k++) {
    let e = unchecked(table[k]);
    if (e == 0) continue;
    let at = slotOf(hashNode(doc, <i32>(e & ENTRY_NODE_MASK) - 1), cap);
    while (unchecked(grown[at]) != 0) at = at + 1 == cap ? 0 : at + 1;
    unchecked((grown[at] = e));
  }
  return grown;
}

/** findDuplicate for a built array (values by index): pairwise with hashes, as small as such arrays are. */
function findDuplicateBuilt(v: JsonValue, len: i32, ctx: Context): i64 {
  let hashes = new StaticArray<u64>(len);
  for (let j = 0; j < len; j++) {
    let item = v.at(j);
    unchecked((hashes[j] = item !== null ? hashValue(item, ctx) : 0));
    if (ctx.exhausted) return -1;
  }
  for (let i = 0; i < len; i++) {
    if (!ctx.charge(<i64>((len - i) >> 4))) return -1;
    for (let j = i + 1; j < len; j++) {
      if (unchecked(hashes[i]) != unchecked(hashes[j])) continue;
      let a = v.at(i);
      let b = v.at(j);
      if (a !== null && b !== null && jsonEquals(a, b, ctx)) return ((<i64>i) << 32) | (<i64>j);
      if (ctx.exhausted) return -1;
    }
  }
  return -1;
}

function checkObject(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
  let ctx = s.ctx;
  let ok = true;
  let count = n.minProperties !== null || n.maxProperties !== null ? v.length : 0;
  let b = n.minProperties;
  if (b !== null && <f64>count < b.value) {
    ok = false;
    if (s.fail(path, Why.MinProperties, n, v)) return false;
  }
  b = n.maxProperties;
  if (b !== null && <f64>count > b.value) {
    ok = false;
    if (s.fail(path, Why.MaxProperties, n, v)) return false;
  }
  let required = n.required;
  if (required !== null) {
    for (let i = 0; i < required.length; i++) {
      if (v.has(required[i])) continue;
      ok = false;
      if (s.fail(path, Why.Required, n, v, required[i])) return false;
    }
  }
  let index = n.propIndex;
  let table = n.propTable;
  let nodes = n.propNodes;
  let extra = n.additionalProperties;
  let names = n.propertyNames;
  if (index === null && extra === null && names === null) return ok;
  // Member values, and names checked against propertyNames, are written into reused values.
  let members = ctx.membersAt(depth, v);
  let seg = ctx.segAt(depth, path);
  while (members.next()) {
    let doc = members.doc;
    let nameNode = members.nameNode;
    // On the tape, an unescaped name is matched by its bytes and never decoded unless reported.
    let plain = doc !== null && nameNode >= 0 && !doc.flag(nameNode);
    let p = plain ? seg.member(doc!, nameNode) : seg.named(members.name);
    if (names !== null) {
      let kv: JsonValue;
      if (plain) {
        kv = wrapNodeInto(doc!, nameNode, ctx.nameAt(depth));
      } else {
        kv = jsonString(members.name);
      }
      if (!checkNode(names, kv, path, depth + 1, quietSink(ctx))) {
        if (ctx.stopped) return false;
        ok = false;
        if (s.fail(path, Why.PropertyName, names, kv, members.name, depth + 1)) return false;
      }
    }
    let at = -1;
    if (nodes !== null) {
      if (plain && table !== null) {
        let start = doc!.payload(nameNode);
        at = table.find(doc!.src.dataStart + <usize>start, doc!.stringEnd(nameNode) - start);
      } else if (index !== null && index.has(members.name)) {
        at = index.get(members.name);
      }
    }
    let target: SchemaNode | null = null;
    if (nodes !== null && at >= 0 && at < nodes.length) {
      target = nodes[at];
      if (target.boolSchema == 0) {
        ok = false;
        if (s.fail(p, Why.PropertyNotAllowed, n, v)) return false;
        continue;
      }
    } else if (extra !== null) {
      if (extra.boolSchema == 0) {
        ok = false;
        if (s.fail(p, Why.AdditionalProperty, n, v)) return false;
        continue;
      }
      target = extra;
    }
    if (target === null) continue;
    let verdict = plain ? checkTapeScalar(target, doc!, nameNode + 1, p, depth + 1, ctx) : MAYBE;
    if (verdict == MATCH) continue;
    if (verdict == STOP) return false;
    if (!checkNode(target, members.value, p, depth + 1, s)) {
      ok = false;
      if (s.full()) return false;
    }
  }
  return ok;
}

function inEnum(n: SchemaNode, values: JsonValue[], v: JsonValue, ctx: Context): bool {
  let hashes = n.enumHashes;
  let h = hashValue(v, ctx);
  if (ctx.exhausted) return false;
  for (let i = 0; i < values.length; i++) {
    if (hashes !== null && i < hashes.length && hashes[i] != h) continue;
    if (jsonEquals(values[i], v, ctx)) return true;
    if (ctx.exhausted) return false;
  }
  return false;
}

function typeMatches(mask: i32, v: JsonValue): bool {
  if (v.isNumber()) {
    if ((mask & T_NUMBER) != 0) return true;
    return (mask & T_INTEGER) != 0 && v.isInteger();
  }
  if (v.isString()) return (mask & T_STRING) != 0;
  if (v.isObject()) return (mask & T_OBJECT) != 0;
  if (v.isArray()) return (mask & T_ARRAY) != 0;
  if (v.isBool()) return (mask & T_BOOLEAN) != 0;
  if (v.isNull()) return (mask & T_NULL) != 0;
  return false;
}
