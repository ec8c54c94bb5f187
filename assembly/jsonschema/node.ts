// The compiled schema graph: one SchemaNode per schema location, with every
// keyword's value checked and converted once, at compile time.

import { JsonValue } from "../json";

// `type` bits.
export const T_NULL: i32 = 1;
export const T_BOOLEAN: i32 = 2;
export const T_OBJECT: i32 = 4;
export const T_ARRAY: i32 = 8;
export const T_NUMBER: i32 = 16;
export const T_STRING: i32 = 32;
export const T_INTEGER: i32 = 64;

/** Bound of a numeric keyword; `text` is the keyword value as written. */
export class Bound {
  value: f64;
  text: string;
  constructor(value: f64, text: string) {
    this.value = value;
    this.text = text;
  }
}

/** One `dependencies` entry: either a list of property names or a schema. */
export class Dependency {
  name: string;
  required: string[] | null = null;
  schema: SchemaNode | null = null;
  constructor(name: string) {
    this.name = name;
  }
}

/** One compiled schema location. Unset keywords stay null / -1. */
export class SchemaNode {
  pointer: string;
  /** -1: an object schema; 0: the `false` schema; 1: the `true` schema. */
  boolSchema: i32 = -1;

  refText: string = "";
  ref: SchemaNode | null = null;

  types: i32 = 0;

  propNames: string[] | null = null;
  propNodes: SchemaNode[] | null = null;
  propIndex: Map<string, i32> | null = null;
  required: string[] | null = null;
  additionalProperties: SchemaNode | null = null;
  minProperties: Bound | null = null;
  maxProperties: Bound | null = null;
  propertyNames: SchemaNode | null = null;
  dependencies: Dependency[] | null = null;

  items: SchemaNode | null = null;
  itemList: SchemaNode[] | null = null;
  additionalItems: SchemaNode | null = null;
  minItems: Bound | null = null;
  maxItems: Bound | null = null;
  uniqueItems: bool = false;
  contains: SchemaNode | null = null;

  minLength: Bound | null = null;
  maxLength: Bound | null = null;

  minimum: Bound | null = null;
  maximum: Bound | null = null;
  exclusiveMinimum: Bound | null = null;
  exclusiveMaximum: Bound | null = null;
  multipleOf: Bound | null = null;

  enumValues: JsonValue[] | null = null;
  enumHashes: u64[] | null = null;
  enumText: string = "";
  constValue: JsonValue | null = null;
  constText: string = "";

  allOf: SchemaNode[] | null = null;
  anyOf: SchemaNode[] | null = null;
  oneOf: SchemaNode[] | null = null;
  not: SchemaNode | null = null;
  ifNode: SchemaNode | null = null;
  thenNode: SchemaNode | null = null;
  elseNode: SchemaNode | null = null;

  /** Nodes applied to this same instance location ($ref, allOf, ...): the loop check follows these. */
  direct: SchemaNode[] = new Array<SchemaNode>();
  /** Loop check state: 0 unvisited, 1 on the current path, 2 done. */
  mark: i32 = 0;

  constructor(pointer: string) {
    this.pointer = pointer;
  }
}
