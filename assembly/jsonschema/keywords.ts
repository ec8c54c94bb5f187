// The keywords the compiler knows: one table from keyword to id, each id of a
// kind; and the vocabulary of `type` and `$schema`.

import { T_ARRAY, T_BOOLEAN, T_INTEGER, T_NULL, T_NUMBER, T_OBJECT, T_STRING } from "./node";

// Every keyword the compiler knows, grouped by kind: `$ref`; the validation
// keywords; the definition containers; the annotations (accepted and checked
// for their type, not used for validation).
export const enum Kw {
  Unknown = 0,
  Ref,
  // validation
  Type,
  Properties,
  Required,
  AdditionalProperties,
  Items,
  AdditionalItems,
  Enum,
  Const,
  Minimum,
  Maximum,
  ExclusiveMinimum,
  ExclusiveMaximum,
  MultipleOf,
  MinLength,
  MaxLength,
  MinItems,
  MaxItems,
  MinProperties,
  MaxProperties,
  UniqueItems,
  AllOf,
  AnyOf,
  OneOf,
  Not,
  If,
  Then,
  Else,
  Contains,
  PropertyNames,
  Dependencies,
  // containers
  Definitions,
  // annotations
  Title,
  Description,
  Comment,
  ContentMediaType,
  ContentEncoding,
  ReadOnly,
  WriteOnly,
  Examples,
  Schema,
  Id,
  Default,
}

export const KIND_UNKNOWN: i32 = 0;
export const KIND_ANNOTATION: i32 = 1; // accepted, checked for its type, not used for validation
export const KIND_CONTAINER: i32 = 2; // definitions / $defs
export const KIND_VALIDATION: i32 = 3;
export const KIND_REF: i32 = 4;

export function kindOf(id: Kw): i32 {
  if (id == Kw.Unknown) return KIND_UNKNOWN;
  if (id == Kw.Ref) return KIND_REF;
  if (id <= Kw.Dependencies) return KIND_VALIDATION;
  if (id == Kw.Definitions) return KIND_CONTAINER;
  return KIND_ANNOTATION;
}

let keywords: Map<string, Kw> | null = null;

/** The keyword table, built on first use. */
function keywordTable(): Map<string, Kw> {
  let t = keywords;
  if (t !== null) return t;
  t = new Map<string, Kw>();
  t.set("$ref", Kw.Ref);
  t.set("type", Kw.Type);
  t.set("properties", Kw.Properties);
  t.set("required", Kw.Required);
  t.set("additionalProperties", Kw.AdditionalProperties);
  t.set("items", Kw.Items);
  t.set("additionalItems", Kw.AdditionalItems);
  t.set("enum", Kw.Enum);
  t.set("const", Kw.Const);
  t.set("minimum", Kw.Minimum);
  t.set("maximum", Kw.Maximum);
  t.set("exclusiveMinimum", Kw.ExclusiveMinimum);
  t.set("exclusiveMaximum", Kw.ExclusiveMaximum);
  t.set("multipleOf", Kw.MultipleOf);
  t.set("minLength", Kw.MinLength);
  t.set("maxLength", Kw.MaxLength);
  t.set("minItems", Kw.MinItems);
  t.set("maxItems", Kw.MaxItems);
  t.set("minProperties", Kw.MinProperties);
  t.set("maxProperties", Kw.MaxProperties);
  t.set("uniqueItems", Kw.UniqueItems);
  t.set("allOf", Kw.AllOf);
  t.set("anyOf", Kw.AnyOf);
  t.set("oneOf", Kw.OneOf);
  t.set("not", Kw.Not);
  t.set("if", Kw.If);
  t.set("then", Kw.Then);
  t.set("else", Kw.Else);
  t.set("contains", Kw.Contains);
  t.set("propertyNames", Kw.PropertyNames);
  t.set("dependencies", Kw.Dependencies);
  t.set("definitions", Kw.Definitions);
  t.set("$defs", Kw.Definitions);
  t.set("title", Kw.Title);
  t.set("description", Kw.Description);
  t.set("$comment", Kw.Comment);
  t.set("contentMediaType", Kw.ContentMediaType);
  t.set("contentEncoding", Kw.ContentEncoding);
  t.set("readOnly", Kw.ReadOnly);
  t.set("writeOnly", Kw.WriteOnly);
  t.set("examples", Kw.Examples);
  t.set("$schema", Kw.Schema);
  t.set("$id", Kw.Id);
  t.set("default", Kw.Default);
  keywords = t;
  return t;
}

export function keywordId(k: string): Kw {
  let t = keywordTable();
  return t.has(k) ? t.get(k) : Kw.Unknown;
}

export const TYPE_NAMES = '"null", "boolean", "object", "array", "number", "string" or "integer"';

export function typeBit(s: string): i32 {
  if (s == "null") return T_NULL;
  if (s == "boolean") return T_BOOLEAN;
  if (s == "object") return T_OBJECT;
  if (s == "array") return T_ARRAY;
  if (s == "number") return T_NUMBER;
  if (s == "string") return T_STRING;
  if (s == "integer") return T_INTEGER;
  return 0;
}

export function isDraft07(s: string): bool {
  return (
    s == "http://json-schema.org/draft-07/schema#" ||
    s == "http://json-schema.org/draft-07/schema" ||
    s == "https://json-schema.org/draft-07/schema#" ||
    s == "https://json-schema.org/draft-07/schema"
  );
}
