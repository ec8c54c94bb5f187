// What each failed check says. A check reports a Why to its sink (Sink.fail);
// the text is written here, and only when the sink records it, so verdict-only
// checks (anyOf options, `not`, `if`, ...) never build a message.

import { JsonValue, jsonKindName } from "../json";
import { Bound, SchemaNode, T_ARRAY, T_BOOLEAN, T_INTEGER, T_NULL, T_NUMBER, T_OBJECT, T_STRING } from "./node";
import { MODE_FULL, MODE_SHALLOW, PathSeg, Sink, renderPath, samePath } from "./sink";
import { checkNode, codePointCount } from "./validate";
import { numberText, quote } from "./text";

/**
 * Why a check failed. `n` is the schema node, `v` the value; the extra
 * operands of Sink.fail (`key`, `a`, `b`) are named where a reason uses them.
 */
export const enum Why {
  /** The `false` schema. */
  NoValue,
  Type,
  Enum,
  Const,
  /** a: depth of the check (the options are re-checked to explain). */
  AnyOf,
  /** a: depth of the check (the options are re-checked to explain). */
  OneOfNone,
  /** a, b: the first two matching options (0-based). */
  OneOfMany,
  Not,
  /** key: the missing property; a: index of the dependency in `n.dependencies`. */
  DependencyRequired,
  // Minimum to MultipleOf in this order: numberFailure walks them by value.
  Minimum,
  Maximum,
  ExclusiveMinimum,
  ExclusiveMaximum,
  MultipleOf,
  MinLength,
  MaxLength,
  MinItems,
  MaxItems,
  /** An item past the `items` list, with `additionalItems: false`. */
  AdditionalItem,
  Contains,
  /** a, b: the first pair of equal items. */
  UniqueItems,
  MinProperties,
  MaxProperties,
  /** key: the missing property. */
  Required,
  /** n: the `propertyNames` schema; v: the name; key: the name; a: depth of the re-check. */
  PropertyName,
  /** A property whose schema in `properties` is `false`. */
  PropertyNotAllowed,
  /** A property not in `properties`, with `additionalProperties: false`. */
  AdditionalProperty,
}

/** The message of a failed check (see Why for the operands). */
export function reasonText(
  s: Sink,
  why: Why,
  path: PathSeg | null,
  n: SchemaNode,
  v: JsonValue,
  a: i32,
  b: i32,
): string {
  switch (why) {
    case Why.NoValue:
      return "no value is allowed here";
    case Why.Type:
      return "expected " + typeListText(n.types) + ", got " + typeName(v);
    case Why.Enum:
      return "expected one of " + n.enumText;
    case Why.Const:
      return "expected " + n.constText;
    case Why.AnyOf:
      return 'matches none of the "anyOf" options' + explainOptions(n.anyOf, v, path, a, s);
    case Why.OneOfNone:
      return 'matches none of the "oneOf" options' + explainOptions(n.oneOf, v, path, a, s);
    case Why.OneOfMany: {
      return (
        'matches more than one "oneOf" option (options ' +
        (a + 1).toString() +
        " and " +
        (b + 1).toString() +
        "); exactly one must match"
      );
    }
    case Why.Not:
      return 'must not match the "not" schema';
    case Why.DependencyRequired: {
      let deps = n.dependencies;
      let name = deps !== null && a >= 0 && a < deps.length ? deps[a].name : "";
      return "required property missing (required when " + quote(name) + " is present)";
    }
    case Why.Minimum:
      return "must be >= " + boundText(n.minimum) + ", got " + numberText(v);
    case Why.Maximum:
      return "must be <= " + boundText(n.maximum) + ", got " + numberText(v);
    case Why.ExclusiveMinimum:
      return "must be > " + boundText(n.exclusiveMinimum) + ", got " + numberText(v);
    case Why.ExclusiveMaximum:
      return "must be < " + boundText(n.exclusiveMaximum) + ", got " + numberText(v);
    case Why.MultipleOf:
      return "must be a multiple of " + boundText(n.multipleOf) + ", got " + numberText(v);
    case Why.MinLength: {
      return (
        "must be at least " +
        boundText(n.minLength) +
        " characters long, got " +
        codePointCount(v.asString()).toString()
      );
    }
    case Why.MaxLength: {
      return (
        "must be at most " + boundText(n.maxLength) + " characters long, got " + codePointCount(v.asString()).toString()
      );
    }
    case Why.MinItems:
      return "must have at least " + boundText(n.minItems) + " items, got " + v.length.toString();
    case Why.MaxItems:
      return "must have at most " + boundText(n.maxItems) + " items, got " + v.length.toString();
    case Why.AdditionalItem: {
      let list = n.itemList;
      return "unexpected item: at most " + (list !== null ? list.length : 0).toString() + " items allowed";
    }
    case Why.Contains:
      return 'no item matches the "contains" schema';
    case Why.UniqueItems: {
      return "items must be unique, but [" + a.toString() + "] and [" + b.toString() + "] are equal";
    }
    case Why.MinProperties:
      return "must have at least " + boundText(n.minProperties) + " properties, got " + v.length.toString();
    case Why.MaxProperties:
      return "must have at most " + boundText(n.maxProperties) + " properties, got " + v.length.toString();
    case Why.Required:
      return "required property missing";
    case Why.PropertyName: {
      // Re-check for the first reason (rare: only on failure).
      let q = new Sink(s.ctx, 1, MODE_SHALLOW);
      checkNode(n, v, path, a, q);
      return "invalid property name: " + (q.reasons.length > 0 ? q.reasons[0] : "does not match");
    }
    case Why.PropertyNotAllowed:
      return "property not allowed";
    case Why.AdditionalProperty:
      return "unexpected property" + allowedList(n);
  }
  return "";
}

function boundText(b: Bound | null): string {
  return b !== null ? b.text : "";
}

/**
 * " (option 1: expected string, got integer | option 2: $.id: required property missing)"
 * for an anyOf/oneOf that matched nothing, when `s` wants explanations. Each
 * option is re-checked for its first error; nested anyOf/oneOf inside those
 * re-checks are not explained again, which keeps the cost linear.
 */
function explainOptions(options: SchemaNode[] | null, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): string {
  if (s.mode != MODE_FULL || options === null) return "";
  let ctx = s.ctx;
  let notes = new Array<string>();
  let length = 0;
  for (let i = 0; i < options.length; i++) {
    let q = new Sink(ctx, 1, MODE_SHALLOW);
    checkNode(options[i], v, path, depth + 1, q);
    if (ctx.stopped) return "";
    let note = "option " + (i + 1).toString() + ": ";
    if (q.reasons.length == 0) {
      note += "does not match";
    } else {
      let p = q.paths[0];
      note += samePath(p, path) ? q.reasons[0] : renderPath(p) + ": " + q.reasons[0];
    }
    notes.push(note);
    length += note.length;
    if (length > 400) break;
  }
  let out = notes.join(" | ");
  if (out.length > 400) out = out.substring(0, 400) + "...";
  return " (" + out + ")";
}

/** " (allowed: a, b)" for the `additionalProperties: false` message (short lists only). */
function allowedList(n: SchemaNode): string {
  let names = n.propNames;
  if (names === null || names.length == 0) return " (no properties are allowed)";
  let out = " (allowed: " + names.join(", ") + ")";
  if (out.length > 300) return ' (not listed in "properties")';
  return out;
}

/** JSON Schema's name for a value's type ("integer" for whole numbers). */
function typeName(v: JsonValue): string {
  if (v.isNumber()) return v.isInteger() ? "integer" : "number";
  return jsonKindName(v);
}

function typeListText(mask: i32): string {
  let names = new Array<string>();
  if ((mask & T_OBJECT) != 0) names.push("object");
  if ((mask & T_ARRAY) != 0) names.push("array");
  if ((mask & T_STRING) != 0) names.push("string");
  if ((mask & T_NUMBER) != 0) names.push("number");
  if ((mask & T_INTEGER) != 0) names.push("integer");
  if ((mask & T_BOOLEAN) != 0) names.push("boolean");
  if ((mask & T_NULL) != 0) names.push("null");
  if (names.length == 1) return names[0];
  let last = names.pop();
  return names.join(", ") + " or " + last;
}
