// Validation: applies a compiled SchemaNode to an instance. Every check
// returns whether the value matched and reports each failure to its sink
// (Sink.fail), which decides whether the check goes on, and whether a message
// is written at all (reasons.ts).

import { JsonValue, hashValue, jsonEquals, jsonString, wrapNodeInto } from "../json";
import { SchemaNode, T_ARRAY, T_BOOLEAN, T_INTEGER, T_NULL, T_NUMBER, T_OBJECT, T_STRING } from "./node";
import { Context, PathSeg, Sink, quietSink, stop } from "./sink";
import { Why } from "./reasons";
import { MAX_VALIDATION_DEPTH } from "./schema";
import { checkArray, checkTapeScalar, MATCH, MAYBE, STOP } from "./items";

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
  if (!hasNumberBounds(n)) return true;
  let x = v.asNumber();
  let ok = true;
  for (let why = numberFailure(n, x, Why.NoValue); why != Why.NoValue; why = numberFailure(n, x, why)) {
    ok = false;
    if (s.fail(path, why, n, v)) return false;
  }
  return ok;
}

/** Whether `n` has a number keyword: minimum, maximum, exclusiveMinimum, exclusiveMaximum or multipleOf. */
// @ts-ignore: decorator
@inline export function hasNumberBounds(n: SchemaNode): bool {
  return (
    n.minimum !== null ||
    n.maximum !== null ||
    n.exclusiveMinimum !== null ||
    n.exclusiveMaximum !== null ||
    n.multipleOf !== null
  );
}

/**
 * The first number keyword of `n` after `after` (in Why's order, Why.Minimum
 * to Why.MultipleOf) that `x` fails, or Why.NoValue when none does.
 */
export function numberFailure(n: SchemaNode, x: f64, after: Why): Why {
  let b = n.minimum;
  if (after < Why.Minimum && b !== null && !(x >= b.value)) return Why.Minimum;
  b = n.maximum;
  if (after < Why.Maximum && b !== null && !(x <= b.value)) return Why.Maximum;
  b = n.exclusiveMinimum;
  if (after < Why.ExclusiveMinimum && b !== null && !(x > b.value)) return Why.ExclusiveMinimum;
  b = n.exclusiveMaximum;
  if (after < Why.ExclusiveMaximum && b !== null && !(x < b.value)) return Why.ExclusiveMaximum;
  b = n.multipleOf;
  if (after < Why.MultipleOf && b !== null && !isMultipleOf(x, b.value)) return Why.MultipleOf;
  return Why.NoValue;
}

/**
 * x / m is an integer, allowing for binary floating point: 19.99 is a multiple
 * of 0.01 although 19.99 / 0.01 == 1998.9999999999998. A quotient that
 * overflows is not a multiple.
 */
export function isMultipleOf(x: f64, m: f64): bool {
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

/** Stops the validation at the step limit. */
export function stopAtLimit(ctx: Context, path: PathSeg | null): void {
  stop(ctx, path, "validation stopped after " + ctx.limit.toString() + " steps (schema too costly for this value)");
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
  let h = hashValue(v, ctx);
  if (ctx.exhausted) return false;
  let table = n.enumTable;
  if (table === null) return false;
  // Only the values that hash alike are compared.
  for (let k = table.first(h); k < table.hashes.length && unchecked(table.hashes[k]) == h; k++) {
    let i = unchecked(table.at[k]);
    if (i < values.length && jsonEquals(values[i], v, ctx)) return true;
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
