// Arrays: minItems, maxItems, items (a schema or a list, additionalItems),
// contains and uniqueItems (unique.ts). A parsed array is walked on its tape;
// its scalar elements, checked against a schema of only a type and bounds
// (the common case of a large answer), are decided there without a JsonValue.

import { JsonDoc, JsonKind, JsonValue, hashNode, scalarNodeEquals, wrapNodeInto } from "../json";
import { SchemaNode, T_BOOLEAN, T_INTEGER, T_NULL, T_NUMBER, T_STRING } from "./node";
import { Context, PathSeg, Sink, quietSink } from "./sink";
import { Why } from "./reasons";
import { MAX_VALIDATION_DEPTH } from "./schema";
import { checkNode, hasNumberBounds, numberFailure, stopAtLimit } from "./validate";
import { findDuplicate } from "./unique";

export function checkArray(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
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
export const MATCH: i32 = 1;
/** Not decided here: checkNode must look (it also says why a value fails). */
export const MAYBE: i32 = 0;
/** The step limit was reached: the validation stopped. */
export const STOP: i32 = -1;

/**
 * The common case of a large answer, decided on the tape without a
 * JsonValue: a scalar node checked against a schema of only a type and
 * bounds (no enum, const, $ref or combinator). MATCH when it matches
 * (one step charged, as checkNode charges); MAYBE for anything else, and
 * for a mismatch, so that checkNode reports it.
 */
export function checkTapeScalar(n: SchemaNode, doc: JsonDoc, node: i32, path: PathSeg, depth: i32, ctx: Context): i32 {
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

/** Whether `n` checks a scalar with nothing but a type, bounds, `enum` and `const` (cached on the node). */
function plainScalarSchema(n: SchemaNode): bool {
  let known = n.plainScalar;
  if (known >= 0) return known == 1;
  let plain =
    n.boolSchema == -1 &&
    n.ref === null &&
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
  let values = n.enumValues;
  let table = n.enumTable;
  if (values !== null && table !== null) {
    // As checkNode does: a step for the hash, one per value compared.
    let h = hashNode(doc, node);
    ctx.charge();
    let found = false;
    for (let k = table.first(h); k < table.hashes.length && unchecked(table.hashes[k]) == h; k++) {
      let i = unchecked(table.at[k]);
      ctx.charge();
      if (i < values.length && values[i].kind < JsonKind.Array && scalarNodeEquals(doc, node, values[i])) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  let constValue = n.constValue;
  if (constValue !== null) {
    ctx.charge();
    if (constValue.kind >= JsonKind.Array || !scalarNodeEquals(doc, node, constValue)) return false;
  }
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
    return !hasNumberBounds(n) || numberFailure(n, doc.numberValue(node), Why.NoValue) == Why.NoValue;
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
