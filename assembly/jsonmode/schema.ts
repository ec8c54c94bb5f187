// JSON Schema (draft-07) validator for `jsonSchema`.
//
// compileSchema() turns a schema document into a graph of SchemaNode objects,
// checking every keyword's value on the way. A keyword this validator does not
// implement is rejected with its name and location: nothing is silently
// ignored. Schema.validate() walks the graph against an instance and collects
// errors with the instance's JSON path.
//
// Nothing here traps on any input:
//   - `$ref` loops that never descend into the instance (`{"$ref": "#"}`,
//     definitions that refer to each other through allOf/anyOf/...) are
//     rejected at compile time;
//   - validation depth is bounded (MAX_VALIDATION_DEPTH) and so is the total
//     work of one validate() call (MAX_VALIDATION_STEPS); hitting either limit
//     is reported as a validation error;
//   - array/map accesses are bounds- and presence-checked.

import { JsonValue, jsonString, jsonEquals, jsonKindName, stringifyJson } from "../json";

/** Deepest schema nesting compileSchema() accepts. */
export const MAX_SCHEMA_DEPTH: i32 = 128;
/** Deepest chain of schema applications validate() follows. */
export const MAX_VALIDATION_DEPTH: i32 = 256;
/** Most schema applications one validate() call performs. */
export const MAX_VALIDATION_STEPS: i32 = 1000000;

// Longest keyword value quoted in an error message (enum lists, const values).
const MAX_QUOTE: i32 = 200;

// ---------------------------------------------------------------------------
// Public API

export class SchemaCompileResult {
  ok: bool = false;
  schema: Schema | null = null;
  error: string = "";
}

export class ValidationError {
  /** JSON path of the instance location: `$`, `$.user.name`, `$.items[2]`, `$["odd key"]`. */
  path: string;
  /** What is wrong there, e.g. `expected integer, got string`. */
  reason: string;
  constructor(path: string, reason: string) {
    this.path = path;
    this.reason = reason;
  }
}

export class Schema {
  private root: SchemaNode;
  private source: JsonValue;
  private text: string = "";

  constructor(root: SchemaNode, source: JsonValue) {
    this.root = root;
    this.source = source;
  }

  /** Validates `value`; returns at most `maxErrors` errors (empty = valid). */
  validate(value: JsonValue, maxErrors: i32 = 10): ValidationError[] {
    let ctx = new Context();
    let sink = new Sink(ctx, maxErrors < 1 ? 1 : maxErrors, MODE_FULL);
    checkNode(this.root, value, null, 0, sink);
    let out = new Array<ValidationError>();
    let n = sink.reasons.length;
    for (let i = 0; i < n; i++) {
      out.push(new ValidationError(renderPath(sink.paths[i]), sink.reasons[i]));
    }
    if (ctx.stopped) {
      // The limit error replaces the last slot if the list is already full.
      if (out.length >= (maxErrors < 1 ? 1 : maxErrors)) out.pop();
      out.push(new ValidationError(renderPath(ctx.stopPath), ctx.stopReason));
    }
    return out;
  }

  /** True when `value` matches the schema; builds no messages, stops at the first failure. */
  isValid(value: JsonValue): bool {
    let ctx = new Context();
    let ok = checkNode(this.root, value, null, 0, quietSink(ctx));
    return ok && !ctx.stopped;
  }

  /** Compact JSON text of the schema document, for prompts. */
  describe(): string {
    if (this.text.length == 0) this.text = stringifyJson(this.source);
    return this.text;
  }
}

/** Compiles a draft-07 schema document. Never traps; errors name the keyword and `#/...` location. */
export function compileSchema(json: JsonValue): SchemaCompileResult {
  let result = new SchemaCompileResult();
  let c = new Compiler(json);
  let root = c.compileRoot();
  if (root === null || c.error.length > 0) {
    result.error = c.error.length > 0 ? c.error : "invalid schema at #";
    return result;
  }
  result.ok = true;
  result.schema = new Schema(root, json);
  return result;
}

/** `$.age: expected integer, got string; $.name: required property missing` */
export function formatErrors(errors: ValidationError[]): string {
  let parts = new Array<string>();
  for (let i = 0; i < errors.length; i++) {
    let e = errors[i];
    parts.push(e.path + ": " + e.reason);
  }
  return parts.join("; ");
}

// ---------------------------------------------------------------------------
// Compiled schema graph

// `type` bits.
const T_NULL: i32 = 1;
const T_BOOLEAN: i32 = 2;
const T_OBJECT: i32 = 4;
const T_ARRAY: i32 = 8;
const T_NUMBER: i32 = 16;
const T_STRING: i32 = 32;
const T_INTEGER: i32 = 64;

/** Bound of a numeric keyword; `text` is the keyword value as written. */
class Bound {
  value: f64;
  text: string;
  constructor(value: f64, text: string) {
    this.value = value;
    this.text = text;
  }
}

/** One `dependencies` entry: either a list of property names or a schema. */
class Dependency {
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

// ---------------------------------------------------------------------------
// Compiler

const KIND_ANNOTATION: i32 = 1; // accepted, checked for its type, not used for validation
const KIND_CONTAINER: i32 = 2; // definitions / $defs
const KIND_VALIDATION: i32 = 3;
const KIND_REF: i32 = 4;
const KIND_UNKNOWN: i32 = 0;

function keywordKind(k: string): i32 {
  if (k == "$ref") return KIND_REF;
  if (
    k == "type" || k == "properties" || k == "required" || k == "additionalProperties" ||
    k == "items" || k == "additionalItems" || k == "enum" || k == "const" ||
    k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum" ||
    k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" ||
    k == "uniqueItems" || k == "anyOf" || k == "oneOf" || k == "allOf" || k == "not" ||
    k == "minProperties" || k == "maxProperties" || k == "multipleOf" || k == "contains" ||
    k == "propertyNames" || k == "dependencies" || k == "if" || k == "then" || k == "else"
  ) return KIND_VALIDATION;
  if (k == "definitions" || k == "$defs") return KIND_CONTAINER;
  if (
    k == "title" || k == "description" || k == "default" || k == "examples" ||
    k == "$comment" || k == "$schema" || k == "$id" || k == "readOnly" || k == "writeOnly" ||
    k == "contentMediaType" || k == "contentEncoding"
  ) return KIND_ANNOTATION;
  return KIND_UNKNOWN;
}

class Compiler {
  root: JsonValue;
  error: string = "";
  /** Base URI of the document (root `$id` without its fragment), "" if none. */
  base: string = "";
  nodes: Map<string, SchemaNode> = new Map<string, SchemaNode>();
  all: SchemaNode[] = new Array<SchemaNode>();
  pending: SchemaNode[] = new Array<SchemaNode>();

  constructor(root: JsonValue) {
    this.root = root;
  }

  /** Keeps the first error; control characters (from property names in pointers) are escaped to keep it one line. */
  fail(msg: string): void {
    if (this.error.length == 0) this.error = oneLine(msg);
  }

  compileRoot(): SchemaNode | null {
    let root = this.compile(this.root, "#", 0);
    if (root === null || this.error.length > 0) return null;
    // Resolve references; a target outside the compiled tree is compiled on
    // demand and may add references of its own.
    for (let i = 0; i < this.pending.length; i++) {
      let n = this.pending[i];
      let target = this.resolve(n);
      if (target === null || this.error.length > 0) return null;
      n.ref = target;
      n.direct.push(target);
    }
    if (!this.checkLoops()) return null;
    return root;
  }

  /** Compiles the schema `v` found at `ptr` (canonical `#/...` pointer). */
  compile(v: JsonValue, ptr: string, depth: i32): SchemaNode | null {
    if (this.nodes.has(ptr)) return this.nodes.get(ptr);
    if (depth > MAX_SCHEMA_DEPTH) {
      this.fail("schema nested deeper than " + MAX_SCHEMA_DEPTH.toString() + " levels at " + shortPointer(ptr));
      return null;
    }
    let n = new SchemaNode(ptr);
    this.nodes.set(ptr, n);
    this.all.push(n);
    if (v.isBool()) {
      n.boolSchema = v.asBool() ? 1 : 0;
      return n;
    }
    if (!v.isObject()) {
      this.fail("schema must be an object or a boolean at " + ptr);
      return null;
    }
    let keys = v.keys();
    let hasRef = v.has("$ref");
    // First pass: every keyword must be known, and `$ref` stands alone.
    for (let i = 0; i < keys.length; i++) {
      let k = keys[i];
      let kind = keywordKind(k);
      if (kind == KIND_UNKNOWN) {
        this.fail("unsupported keyword " + quote(k) + " at " + ptr);
        return null;
      }
      if (k == "$id" && ptr != "#") {
        this.fail("unsupported keyword \"$id\" at " + ptr + " (\"$id\" is only supported at the root)");
        return null;
      }
      if (k == "$schema" && ptr != "#") {
        this.fail("unsupported keyword \"$schema\" at " + ptr + " (\"$schema\" is only allowed at the root)");
        return null;
      }
      if (hasRef && kind == KIND_VALIDATION) {
        this.fail(
          "unsupported keyword " + quote(k) + " beside \"$ref\" at " + ptr +
          " (draft-07 ignores keywords next to \"$ref\"; wrap both in \"allOf\")",
        );
        return null;
      }
    }
    // Second pass: compile each keyword.
    for (let i = 0; i < keys.length; i++) {
      let k = keys[i];
      let kv = v.get(k);
      if (kv === null) continue;
      this.keyword(n, k, kv, ptr, depth);
      if (this.error.length > 0) return null;
    }
    this.finishObjectSchema(n, v, ptr);
    if (this.error.length > 0) return null;
    return n;
  }

  /** Cross-keyword checks once all keywords of one schema are read. */
  finishObjectSchema(n: SchemaNode, v: JsonValue, ptr: string): void {
    let a = n.minLength, b = n.maxLength;
    if (a !== null && b !== null && a.value > b.value) {
      this.fail("\"minLength\" is greater than \"maxLength\" at " + ptr);
      return;
    }
    a = n.minItems; b = n.maxItems;
    if (a !== null && b !== null && a.value > b.value) {
      this.fail("\"minItems\" is greater than \"maxItems\" at " + ptr);
      return;
    }
    a = n.minProperties; b = n.maxProperties;
    if (a !== null && b !== null && a.value > b.value) {
      this.fail("\"minProperties\" is greater than \"maxProperties\" at " + ptr);
    }
  }

  sub(v: JsonValue, ptr: string, depth: i32): SchemaNode | null {
    if (!v.isBool() && !v.isObject()) {
      this.fail("schema must be an object or a boolean at " + ptr);
      return null;
    }
    return this.compile(v, ptr, depth + 1);
  }

  /** A non-empty array of schemas (allOf / anyOf / oneOf / array-form items). */
  schemaArray(k: string, kv: JsonValue, ptr: string, depth: i32): SchemaNode[] | null {
    if (!kv.isArray() || kv.length == 0) {
      this.fail(quote(k) + " must be a non-empty array of schemas at " + ptr);
      return null;
    }
    let out = new Array<SchemaNode>();
    let n = kv.length;
    let base = ptr + "/" + escapeToken(k);
    for (let i = 0; i < n; i++) {
      let item = kv.at(i);
      if (item === null) continue;
      let node = this.sub(item, base + "/" + i.toString(), depth);
      if (node === null) return null;
      out.push(node);
    }
    return out;
  }

  /** A number keyword; `positive`: must be > 0; `count`: non-negative integer. */
  bound(k: string, kv: JsonValue, ptr: string, count: bool, positive: bool): Bound | null {
    if (count) {
      if (!kv.isNumber() || !kv.isInteger() || kv.asNumber() < 0) {
        this.fail(quote(k) + " must be a non-negative integer at " + ptr);
        return null;
      }
    } else if (!kv.isNumber()) {
      if (kv.isBool() && (k == "exclusiveMinimum" || k == "exclusiveMaximum")) {
        this.fail(quote(k) + " must be a number at " + ptr + " (the boolean form is draft-04)");
      } else {
        this.fail(quote(k) + " must be a number at " + ptr);
      }
      return null;
    } else if (positive && !(kv.asNumber() > 0)) {
      this.fail(quote(k) + " must be greater than 0 at " + ptr);
      return null;
    }
    let x = kv.asNumber();
    if (!isFinite(x)) {
      this.fail(quote(k) + " must be a finite number at " + ptr);
      return null;
    }
    return new Bound(x, numberText(kv));
  }

  /** An array of unique strings (required, dependencies lists). */
  stringArray(k: string, kv: JsonValue, ptr: string): string[] | null {
    if (!kv.isArray()) {
      this.fail(quote(k) + " must be an array of strings at " + ptr);
      return null;
    }
    let out = new Array<string>();
    let n = kv.length;
    for (let i = 0; i < n; i++) {
      let item = kv.at(i);
      if (item === null || !item.isString()) {
        this.fail(quote(k) + " must be an array of strings at " + ptr);
        return null;
      }
      let s = item.asString();
      if (out.includes(s)) {
        this.fail(quote(k) + " lists " + quote(s) + " twice at " + ptr);
        return null;
      }
      out.push(s);
    }
    return out;
  }

  keyword(n: SchemaNode, k: string, kv: JsonValue, ptr: string, depth: i32): void {
    let here = ptr + "/" + escapeToken(k);
    if (k == "$ref") {
      if (!kv.isString()) {
        this.fail("\"$ref\" must be a string at " + ptr);
        return;
      }
      n.refText = kv.asString();
      this.pending.push(n);
    } else if (k == "type") {
      this.typeKeyword(n, kv, ptr);
    } else if (k == "properties") {
      if (!kv.isObject()) {
        this.fail("\"properties\" must be an object at " + ptr);
        return;
      }
      let names = kv.keys();
      let nodes = new Array<SchemaNode>();
      let index = new Map<string, i32>();
      let kept = new Array<string>();
      for (let i = 0; i < names.length; i++) {
        let name = names[i];
        let pv = kv.get(name);
        if (pv === null) continue;
        let node = this.sub(pv, here + "/" + escapeToken(name), depth);
        if (node === null) return;
        index.set(name, nodes.length);
        kept.push(name);
        nodes.push(node);
      }
      n.propNames = kept;
      n.propNodes = nodes;
      n.propIndex = index;
    } else if (k == "required") {
      n.required = this.stringArray(k, kv, ptr);
    } else if (k == "additionalProperties") {
      n.additionalProperties = this.sub(kv, here, depth);
    } else if (k == "items") {
      if (kv.isArray()) {
        n.itemList = this.schemaArray(k, kv, ptr, depth);
      } else {
        n.items = this.sub(kv, here, depth);
      }
    } else if (k == "additionalItems") {
      n.additionalItems = this.sub(kv, here, depth);
    } else if (k == "enum") {
      if (!kv.isArray()) {
        this.fail("\"enum\" must be an array at " + ptr);
        return;
      }
      let values = new Array<JsonValue>();
      let hashes = new Array<u64>();
      let len = kv.length;
      for (let i = 0; i < len; i++) {
        let item = kv.at(i);
        if (item === null) continue;
        values.push(item);
        hashes.push(hashValue(item, 0));
      }
      n.enumValues = values;
      n.enumHashes = hashes;
      n.enumText = quoteValue(kv);
    } else if (k == "const") {
      n.constValue = kv;
      n.constText = quoteValue(kv);
    } else if (k == "minimum") {
      n.minimum = this.bound(k, kv, ptr, false, false);
    } else if (k == "maximum") {
      n.maximum = this.bound(k, kv, ptr, false, false);
    } else if (k == "exclusiveMinimum") {
      n.exclusiveMinimum = this.bound(k, kv, ptr, false, false);
    } else if (k == "exclusiveMaximum") {
      n.exclusiveMaximum = this.bound(k, kv, ptr, false, false);
    } else if (k == "multipleOf") {
      n.multipleOf = this.bound(k, kv, ptr, false, true);
    } else if (k == "minLength") {
      n.minLength = this.bound(k, kv, ptr, true, false);
    } else if (k == "maxLength") {
      n.maxLength = this.bound(k, kv, ptr, true, false);
    } else if (k == "minItems") {
      n.minItems = this.bound(k, kv, ptr, true, false);
    } else if (k == "maxItems") {
      n.maxItems = this.bound(k, kv, ptr, true, false);
    } else if (k == "minProperties") {
      n.minProperties = this.bound(k, kv, ptr, true, false);
    } else if (k == "maxProperties") {
      n.maxProperties = this.bound(k, kv, ptr, true, false);
    } else if (k == "uniqueItems") {
      if (!kv.isBool()) {
        this.fail("\"uniqueItems\" must be a boolean at " + ptr);
        return;
      }
      n.uniqueItems = kv.asBool();
    } else if (k == "allOf") {
      let list = this.schemaArray(k, kv, ptr, depth);
      if (list === null) return;
      n.allOf = list;
      for (let i = 0; i < list.length; i++) n.direct.push(list[i]);
    } else if (k == "anyOf") {
      let list = this.schemaArray(k, kv, ptr, depth);
      if (list === null) return;
      n.anyOf = list;
      for (let i = 0; i < list.length; i++) n.direct.push(list[i]);
    } else if (k == "oneOf") {
      let list = this.schemaArray(k, kv, ptr, depth);
      if (list === null) return;
      n.oneOf = list;
      for (let i = 0; i < list.length; i++) n.direct.push(list[i]);
    } else if (k == "not") {
      let s = this.sub(kv, here, depth);
      if (s === null) return;
      n.not = s;
      n.direct.push(s);
    } else if (k == "if") {
      let s = this.sub(kv, here, depth);
      if (s === null) return;
      n.ifNode = s;
      n.direct.push(s);
    } else if (k == "then") {
      let s = this.sub(kv, here, depth);
      if (s === null) return;
      n.thenNode = s;
      n.direct.push(s);
    } else if (k == "else") {
      let s = this.sub(kv, here, depth);
      if (s === null) return;
      n.elseNode = s;
      n.direct.push(s);
    } else if (k == "contains") {
      n.contains = this.sub(kv, here, depth);
    } else if (k == "propertyNames") {
      n.propertyNames = this.sub(kv, here, depth);
    } else if (k == "dependencies") {
      this.dependenciesKeyword(n, kv, ptr, depth);
    } else if (k == "definitions" || k == "$defs") {
      // Containers: every entry must be a valid schema even if nothing refers to it.
      if (!kv.isObject()) {
        this.fail(quote(k) + " must be an object at " + ptr);
        return;
      }
      let names = kv.keys();
      for (let i = 0; i < names.length; i++) {
        let dv = kv.get(names[i]);
        if (dv === null) continue;
        if (this.sub(dv, here + "/" + escapeToken(names[i]), depth) === null) return;
      }
    } else {
      this.annotation(k, kv, ptr);
    }
  }

  typeKeyword(n: SchemaNode, kv: JsonValue, ptr: string): void {
    if (kv.isString()) {
      let bit = typeBit(kv.asString());
      if (bit == 0) {
        this.fail("\"type\" has unknown type " + quote(kv.asString()) + " at " + ptr + " (expected " + TYPE_NAMES + ")");
        return;
      }
      n.types = bit;
      return;
    }
    if (!kv.isArray() || kv.length == 0) {
      this.fail("\"type\" must be a type name or a non-empty array of type names at " + ptr);
      return;
    }
    let mask = 0;
    let len = kv.length;
    for (let i = 0; i < len; i++) {
      let item = kv.at(i);
      if (item === null || !item.isString()) {
        this.fail("\"type\" must be a type name or a non-empty array of type names at " + ptr);
        return;
      }
      let bit = typeBit(item.asString());
      if (bit == 0) {
        this.fail("\"type\" has unknown type " + quote(item.asString()) + " at " + ptr + " (expected " + TYPE_NAMES + ")");
        return;
      }
      if ((mask & bit) != 0) {
        this.fail("\"type\" lists " + quote(item.asString()) + " twice at " + ptr);
        return;
      }
      mask |= bit;
    }
    n.types = mask;
  }

  dependenciesKeyword(n: SchemaNode, kv: JsonValue, ptr: string, depth: i32): void {
    if (!kv.isObject()) {
      this.fail("\"dependencies\" must be an object at " + ptr);
      return;
    }
    let names = kv.keys();
    let list = new Array<Dependency>();
    let here = ptr + "/dependencies";
    for (let i = 0; i < names.length; i++) {
      let name = names[i];
      let dv = kv.get(name);
      if (dv === null) continue;
      let d = new Dependency(name);
      if (dv.isArray()) {
        let req = this.stringArray("dependencies", dv, here + "/" + escapeToken(name));
        if (req === null) return;
        d.required = req;
      } else if (dv.isObject() || dv.isBool()) {
        let s = this.sub(dv, here + "/" + escapeToken(name), depth);
        if (s === null) return;
        d.schema = s;
        n.direct.push(s);
      } else {
        this.fail("\"dependencies\" entries must be schemas or arrays of strings at " + here + "/" + escapeToken(name));
        return;
      }
      list.push(d);
    }
    n.dependencies = list;
  }

  annotation(k: string, kv: JsonValue, ptr: string): void {
    if (k == "title" || k == "description" || k == "$comment" || k == "contentMediaType" || k == "contentEncoding") {
      if (!kv.isString()) this.fail(quote(k) + " must be a string at " + ptr);
    } else if (k == "readOnly" || k == "writeOnly") {
      if (!kv.isBool()) this.fail(quote(k) + " must be a boolean at " + ptr);
    } else if (k == "examples") {
      if (!kv.isArray()) this.fail("\"examples\" must be an array at " + ptr);
    } else if (k == "$schema") {
      if (!kv.isString()) {
        this.fail("\"$schema\" must be a string at " + ptr);
        return;
      }
      let s = kv.asString();
      if (!isDraft07(s)) {
        this.fail("unsupported \"$schema\" " + quote(s) + " at " + ptr + " (only draft-07, \"http://json-schema.org/draft-07/schema#\", is supported)");
      }
    } else if (k == "$id") {
      if (!kv.isString()) {
        this.fail("\"$id\" must be a string at " + ptr);
        return;
      }
      let id = kv.asString();
      let hash = id.indexOf("#");
      if (hash >= 0) {
        if (hash != id.length - 1) {
          this.fail("unsupported \"$id\" " + quote(id) + " at " + ptr + " (a root \"$id\" must not have a fragment)");
          return;
        }
        id = id.substring(0, hash);
      }
      this.base = id;
    }
    // "default": any value.
  }

  /** Finds (compiling if needed) the target of `n.refText`. */
  resolve(n: SchemaNode): SchemaNode | null {
    let ref = n.refText;
    let fragment: string;
    let hash = ref.indexOf("#");
    if (hash == 0) {
      fragment = ref.substring(1);
    } else {
      let uri = hash < 0 ? ref : ref.substring(0, hash);
      if (this.base.length == 0 || uri != this.base) {
        this.fail("unsupported $ref " + quote(ref) + " at " + n.pointer + " (only references into this schema, \"#/...\", are supported)");
        return null;
      }
      fragment = hash < 0 ? "" : ref.substring(hash + 1);
    }
    let decoded = percentDecode(fragment);
    if (decoded === null) {
      this.fail("$ref " + quote(ref) + " is not a valid JSON pointer at " + n.pointer);
      return null;
    }
    if (decoded.length > 0 && decoded.charCodeAt(0) != 0x2f) {
      this.fail("unsupported $ref " + quote(ref) + " at " + n.pointer + " (only JSON-pointer references \"#/...\" are supported)");
      return null;
    }
    // Walk the document, building the canonical pointer on the way.
    let cur: JsonValue = this.root;
    let canon = "#";
    if (decoded.length > 0) {
      let tokens = decoded.substring(1).split("/");
      for (let i = 0; i < tokens.length; i++) {
        let tok = unescapeToken(tokens[i]);
        if (tok === null) {
          this.fail("$ref " + quote(ref) + " is not a valid JSON pointer at " + n.pointer);
          return null;
        }
        let next: JsonValue | null = null;
        if (cur.isObject()) {
          next = cur.get(tok);
        } else if (cur.isArray()) {
          let idx = arrayIndex(tok);
          if (idx >= 0 && idx < cur.length) next = cur.at(idx);
        }
        if (next === null) {
          this.fail("$ref " + quote(ref) + " not found at " + n.pointer);
          return null;
        }
        cur = next;
        canon += "/" + escapeToken(tok);
      }
    }
    if (this.nodes.has(canon)) return this.nodes.get(canon);
    return this.sub(cur, canon, 0);
  }

  /** Rejects cycles of $ref/allOf/anyOf/oneOf/not/if/then/else/dependencies that never descend into the instance. */
  checkLoops(): bool {
    let stack = new Array<SchemaNode>();
    let pos = new Array<i32>();
    for (let s = 0; s < this.all.length; s++) {
      let start = this.all[s];
      if (start.mark != 0) continue;
      start.mark = 1;
      stack.push(start);
      pos.push(0);
      while (stack.length > 0) {
        let top = stack[stack.length - 1];
        let i = pos[pos.length - 1];
        if (i < top.direct.length) {
          pos[pos.length - 1] = i + 1;
          let next = top.direct[i];
          if (next.mark == 1) {
            if (next === top) {
              this.fail("$ref loop at " + top.pointer + ": the schema refers to itself without descending into the instance");
            } else {
              this.fail(
                "$ref loop at " + next.pointer + ": it leads back to itself (via " + top.pointer +
                ") without descending into the instance",
              );
            }
            return false;
          }
          if (next.mark == 0) {
            next.mark = 1;
            stack.push(next);
            pos.push(0);
          }
        } else {
          top.mark = 2;
          stack.pop();
          pos.pop();
        }
      }
    }
    return true;
  }
}

const TYPE_NAMES = "\"null\", \"boolean\", \"object\", \"array\", \"number\", \"string\" or \"integer\"";

function typeBit(s: string): i32 {
  if (s == "null") return T_NULL;
  if (s == "boolean") return T_BOOLEAN;
  if (s == "object") return T_OBJECT;
  if (s == "array") return T_ARRAY;
  if (s == "number") return T_NUMBER;
  if (s == "string") return T_STRING;
  if (s == "integer") return T_INTEGER;
  return 0;
}

function isDraft07(s: string): bool {
  return (
    s == "http://json-schema.org/draft-07/schema#" || s == "http://json-schema.org/draft-07/schema" ||
    s == "https://json-schema.org/draft-07/schema#" || s == "https://json-schema.org/draft-07/schema"
  );
}

// ---------------------------------------------------------------------------
// Validation

// Sink modes.
/** Only the verdict matters: checks return at the first failure and build no messages. */
const MODE_QUIET: i32 = 0;
/** Messages, but anyOf/oneOf failures do not explain each option. */
const MODE_SHALLOW: i32 = 1;
/** Messages with anyOf/oneOf explanations. */
const MODE_FULL: i32 = 2;

/** State shared by one validate() call, including nested checks. */
class Context {
  steps: i32 = 0;
  stopped: bool = false;
  stopPath: PathSeg | null = null;
  stopReason: string = "";
  quiet: Sink | null = null;
}

/** The context's verdict-only sink (stateless, so one serves every nested check). */
function quietSink(ctx: Context): Sink {
  let q = ctx.quiet;
  if (q === null) {
    q = new Sink(ctx, 1, MODE_QUIET);
    ctx.quiet = q;
  }
  return q;
}

/** Collects up to `max` errors; paths are rendered only for the errors kept. */
class Sink {
  ctx: Context;
  max: i32;
  mode: i32;
  paths: Array<PathSeg | null> = new Array<PathSeg | null>();
  reasons: string[] = new Array<string>();
  constructor(ctx: Context, max: i32, mode: i32) {
    this.ctx = ctx;
    this.max = max;
    this.mode = mode;
  }
  /** Records an error; true when the caller should stop (sink full or validation stopped). */
  add(path: PathSeg | null, reason: string): bool {
    if (this.ctx.stopped || this.mode == MODE_QUIET) return true;
    if (this.reasons.length < this.max) {
      this.paths.push(path);
      this.reasons.push(reason);
    }
    return this.reasons.length >= this.max;
  }
  /** True when checks writing to this sink should stop. */
  full(): bool {
    return this.ctx.stopped || this.mode == MODE_QUIET || this.reasons.length >= this.max;
  }
}

/** True for a verdict-only sink: the caller returns false instead of building a message. */
// @ts-ignore: decorator
@inline function quiet(s: Sink): bool {
  return s.mode == MODE_QUIET;
}

/** One step of an instance path; rendered lazily. */
class PathSeg {
  parent: PathSeg | null;
  key: string | null;
  index: i32;
  constructor(parent: PathSeg | null, key: string | null, index: i32) {
    this.parent = parent;
    this.key = key;
    this.index = index;
  }
}

function renderPath(p: PathSeg | null): string {
  let parts = new Array<string>();
  let cur = p;
  while (cur !== null) {
    let key = cur.key;
    if (key !== null) {
      parts.push(isIdentifier(key) ? "." + key : "[" + quote(key) + "]");
    } else {
      parts.push("[" + cur.index.toString() + "]");
    }
    cur = cur.parent;
  }
  parts.reverse();
  return "$" + parts.join("");
}

function isIdentifier(s: string): bool {
  let n = s.length;
  if (n == 0) return false;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    let letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f || c == 0x24;
    let digit = c >= 0x30 && c <= 0x39;
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

function stop(ctx: Context, path: PathSeg | null, reason: string): void {
  if (ctx.stopped) return;
  ctx.stopped = true;
  ctx.stopPath = path;
  ctx.stopReason = reason;
}

/** Applies `n` to `v`; returns whether it matched. Errors go to `s`. */
function checkNode(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
  let ctx = s.ctx;
  if (ctx.stopped) return false;
  if (depth > MAX_VALIDATION_DEPTH) {
    stop(ctx, path, "value nested too deeply for the schema (more than " + MAX_VALIDATION_DEPTH.toString() + " levels)");
    return false;
  }
  ctx.steps++;
  if (ctx.steps > MAX_VALIDATION_STEPS) {
    stop(ctx, path, "validation stopped after " + MAX_VALIDATION_STEPS.toString() + " steps (schema too costly for this value)");
    return false;
  }
  if (n.boolSchema >= 0) {
    if (n.boolSchema == 1) return true;
    s.add(path, "no value is allowed here");
    return false;
  }
  let ref = n.ref;
  if (ref !== null) return checkNode(ref, v, path, depth + 1, s);

  let ok = true;
  if (n.types != 0 && !typeMatches(n.types, v)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "expected " + typeListText(n.types) + ", got " + typeName(v))) return false;
  }

  let enumValues = n.enumValues;
  if (enumValues !== null && !inEnum(n, enumValues, v)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "expected one of " + n.enumText)) return false;
  }
  let constValue = n.constValue;
  if (constValue !== null && !jsonEquals(constValue, v)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "expected " + n.constText)) return false;
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
      if (quiet(s)) return false;
      ok = false;
      let why = explainOptions(anyOf, v, path, depth, s);
      if (s.add(path, "matches none of the \"anyOf\" options" + why)) return false;
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
      if (quiet(s)) return false;
      ok = false;
      let why = explainOptions(oneOf, v, path, depth, s);
      if (s.add(path, "matches none of the \"oneOf\" options" + why)) return false;
    } else if (second >= 0) {
      if (quiet(s)) return false;
      ok = false;
      let msg = "matches more than one \"oneOf\" option (options " + (first + 1).toString() + " and " +
        (second + 1).toString() + "); exactly one must match";
      if (s.add(path, msg)) return false;
    }
  }
  let not = n.not;
  if (not !== null) {
    let matched = checkNode(not, v, path, depth + 1, quietSink(ctx));
    if (ctx.stopped) return false;
    if (matched) {
      if (quiet(s)) return false;
      ok = false;
      if (s.add(path, "must not match the \"not\" schema")) return false;
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
          if (quiet(s)) return false;
          ok = false;
          let msg = "required property missing (required when " + quote(d.name) + " is present)";
          if (s.add(new PathSeg(path, req[j], -1), msg)) return false;
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

/**
 * " (option 1: expected string, got integer | option 2: $.id: required property missing)"
 * for an anyOf/oneOf that matched nothing, when `s` wants explanations. Each
 * option is re-checked for its first error; nested anyOf/oneOf inside those
 * re-checks are not explained again, which keeps the cost linear.
 */
function explainOptions(options: SchemaNode[], v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): string {
  if (s.mode != MODE_FULL) return "";
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
      note += p === path ? q.reasons[0] : renderPath(p) + ": " + q.reasons[0];
    }
    notes.push(note);
    length += note.length;
    if (length > 400) break;
  }
  let out = notes.join(" | ");
  if (out.length > 400) out = out.substring(0, 400) + "...";
  return " (" + out + ")";
}

function checkNumber(n: SchemaNode, v: JsonValue, path: PathSeg | null, s: Sink): bool {
  let x = v.asNumber();
  let ok = true;
  let b = n.minimum;
  if (b !== null && !(x >= b.value)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be >= " + b.text + ", got " + numberText(v))) return false;
  }
  b = n.maximum;
  if (b !== null && !(x <= b.value)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be <= " + b.text + ", got " + numberText(v))) return false;
  }
  b = n.exclusiveMinimum;
  if (b !== null && !(x > b.value)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be > " + b.text + ", got " + numberText(v))) return false;
  }
  b = n.exclusiveMaximum;
  if (b !== null && !(x < b.value)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be < " + b.text + ", got " + numberText(v))) return false;
  }
  b = n.multipleOf;
  if (b !== null && !isMultipleOf(x, b.value)) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be a multiple of " + b.text + ", got " + numberText(v))) return false;
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
  let len = codePointCount(v.asString());
  let ok = true;
  if (a !== null && <f64>len < a.value) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be at least " + a.text + " characters long, got " + len.toString())) return false;
  }
  if (b !== null && <f64>len > b.value) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must be at most " + b.text + " characters long, got " + len.toString())) return false;
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
  let len = v.length;
  let ok = true;
  let b = n.minItems;
  if (b !== null && <f64>len < b.value) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must have at least " + b.text + " items, got " + len.toString())) return false;
  }
  b = n.maxItems;
  if (b !== null && <f64>len > b.value) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must have at most " + b.text + " items, got " + len.toString())) return false;
  }
  let items = n.items;
  let list = n.itemList;
  if (items !== null) {
    for (let i = 0; i < len; i++) {
      let item = v.at(i);
      if (item === null) continue;
      if (!checkNode(items, item, new PathSeg(path, null, i), depth + 1, s)) {
        ok = false;
        if (s.full()) return false;
      }
    }
  } else if (list !== null) {
    let extra = n.additionalItems;
    for (let i = 0; i < len; i++) {
      let item = v.at(i);
      if (item === null) continue;
      let p = new PathSeg(path, null, i);
      if (i < list.length) {
        if (!checkNode(list[i], item, p, depth + 1, s)) {
          ok = false;
          if (s.full()) return false;
        }
      } else if (extra !== null) {
        if (extra.boolSchema == 0) {
          if (quiet(s)) return false;
          ok = false;
          let msg = "unexpected item: at most " + list.length.toString() + " items allowed";
          if (s.add(p, msg)) return false;
          break; // one error for the surplus is enough
        }
        if (!checkNode(extra, item, p, depth + 1, s)) {
          ok = false;
          if (s.full()) return false;
        }
      } else {
        break;
      }
    }
  }
  let contains = n.contains;
  if (contains !== null) {
    let found = false;
    for (let i = 0; i < len; i++) {
      let item = v.at(i);
      if (item === null) continue;
      if (checkNode(contains, item, new PathSeg(path, null, i), depth + 1, quietSink(ctx))) {
        found = true;
        break;
      }
      if (ctx.stopped) return false;
    }
    if (!found) {
      if (quiet(s)) return false;
      ok = false;
      if (s.add(path, "no item matches the \"contains\" schema")) return false;
    }
  }
  if (n.uniqueItems && len > 1) {
    let dup = findDuplicate(v, len);
    if (dup >= 0) {
      if (quiet(s)) return false;
      ok = false;
      let i = <i32>(dup >> 32);
      let j = <i32>(dup & 0xffffffff);
      let msg = "items must be unique, but [" + i.toString() + "] and [" + j.toString() + "] are equal";
      if (s.add(path, msg)) return false;
    }
  }
  return ok;
}

/** First pair of equal items as (i << 32 | j), i < j, or -1. Sorts by hash; compares only hash twins. */
function findDuplicate(v: JsonValue, len: i32): i64 {
  let keyed = new Array<u64>(len);
  for (let i = 0; i < len; i++) {
    let item = v.at(i);
    let h: u64 = item === null ? 0 : hashValue(item, 0);
    keyed[i] = ((h & 0xffffffff) << 32) | <u64>(<u32>i);
  }
  keyed.sort(compareU64);
  let bestI = -1;
  let bestJ = -1;
  let start = 0;
  while (start < len) {
    let end = start + 1;
    let h = keyed[start] >> 32;
    while (end < len && (keyed[end] >> 32) == h) end++;
    for (let a = start; a < end; a++) {
      let ia = <i32>(keyed[a] & 0xffffffff);
      let va = v.at(ia);
      if (va === null) continue;
      for (let b = a + 1; b < end; b++) {
        let ib = <i32>(keyed[b] & 0xffffffff);
        let vb = v.at(ib);
        if (vb === null) continue;
        if (jsonEquals(va, vb)) {
          let lo = ia < ib ? ia : ib;
          let hi = ia < ib ? ib : ia;
          if (bestI < 0 || lo < bestI || (lo == bestI && hi < bestJ)) {
            bestI = lo;
            bestJ = hi;
          }
        }
      }
    }
    start = end;
  }
  if (bestI < 0) return -1;
  return (<i64>bestI << 32) | <i64>bestJ;
}

function compareU64(a: u64, b: u64): i32 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkObject(n: SchemaNode, v: JsonValue, path: PathSeg | null, depth: i32, s: Sink): bool {
  let ctx = s.ctx;
  let ok = true;
  let count = v.length;
  let b = n.minProperties;
  if (b !== null && <f64>count < b.value) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must have at least " + b.text + " properties, got " + count.toString())) return false;
  }
  b = n.maxProperties;
  if (b !== null && <f64>count > b.value) {
    if (quiet(s)) return false;
    ok = false;
    if (s.add(path, "must have at most " + b.text + " properties, got " + count.toString())) return false;
  }
  let required = n.required;
  if (required !== null) {
    for (let i = 0; i < required.length; i++) {
      if (v.has(required[i])) continue;
      if (quiet(s)) return false;
      ok = false;
      if (s.add(new PathSeg(path, required[i], -1), "required property missing")) return false;
    }
  }
  let index = n.propIndex;
  let nodes = n.propNodes;
  let extra = n.additionalProperties;
  let names = n.propertyNames;
  if (index === null && extra === null && names === null) return ok;
  let keys = v.keys();
  for (let i = 0; i < keys.length; i++) {
    let key = keys[i];
    let pv = v.get(key);
    if (pv === null) continue;
    let p = new PathSeg(path, key, -1);
    if (names !== null) {
      let kv = jsonString(key);
      if (!checkNode(names, kv, path, depth + 1, quietSink(ctx))) {
        if (ctx.stopped || quiet(s)) return false;
        ok = false;
        // Re-check for the first reason (rare: only on failure).
        let q = new Sink(ctx, 1, MODE_SHALLOW);
        checkNode(names, kv, path, depth + 1, q);
        if (ctx.stopped) return false;
        let why = q.reasons.length > 0 ? q.reasons[0] : "does not match";
        if (s.add(p, "invalid property name: " + why)) return false;
      }
    }
    if (index !== null && nodes !== null && index.has(key)) {
      let at = index.get(key);
      if (at >= 0 && at < nodes.length) {
        let pn = nodes[at];
        if (pn.boolSchema == 0) {
          if (quiet(s)) return false;
          ok = false;
          if (s.add(p, "property not allowed")) return false;
        } else if (!checkNode(pn, pv, p, depth + 1, s)) {
          ok = false;
          if (s.full()) return false;
        }
      }
    } else if (extra !== null) {
      if (extra.boolSchema == 0) {
        if (quiet(s)) return false;
        ok = false;
        if (s.add(p, "unexpected property" + allowedList(n))) return false;
      } else if (!checkNode(extra, pv, p, depth + 1, s)) {
        ok = false;
        if (s.full()) return false;
      }
    }
  }
  return ok;
}

/** " (allowed: a, b)" for the `additionalProperties: false` message (short lists only). */
function allowedList(n: SchemaNode): string {
  let names = n.propNames;
  if (names === null || names.length == 0) return " (no properties are allowed)";
  let out = " (allowed: " + names.join(", ") + ")";
  if (out.length > 300) return " (not listed in \"properties\")";
  return out;
}

function inEnum(n: SchemaNode, values: JsonValue[], v: JsonValue): bool {
  let hashes = n.enumHashes;
  let h = hashValue(v, 0);
  for (let i = 0; i < values.length; i++) {
    if (hashes !== null && i < hashes.length && hashes[i] != h) continue;
    if (jsonEquals(values[i], v)) return true;
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

// ---------------------------------------------------------------------------
// Hashing consistent with jsonEquals (1 and 1.0 hash alike; object key order
// does not matter). Deep values stop contributing below a fixed depth, which
// keeps equal values hashing equally.

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
  return mix(h ^ <u64>n);
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
    return mix(h ^ <u64>n);
  }
  if (v.isObject()) {
    let keys = v.keys();
    let h: u64 = 0x61c8864680b583eb;
    for (let i = 0; i < keys.length; i++) {
      let item = v.get(keys[i]);
      if (item === null) continue;
      h += mix(hashString(keys[i]) * 0x9e3779b97f4a7c15 + hashValue(item, depth + 1));
    }
    return mix(h ^ <u64>keys.length);
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Text helpers

/** A JSON string literal for `s`. */
export function quote(s: string): string {
  let parts = new Array<string>();
  let n = s.length;
  let start = 0;
  parts.push("\"");
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = "\\\"";
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20) esc = "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    if (esc !== null) {
      if (i > start) parts.push(s.substring(start, i));
      parts.push(esc);
      start = i + 1;
    }
  }
  if (n > start) parts.push(s.substring(start, n));
  parts.push("\"");
  return parts.join("");
}

/** Compact JSON text of a keyword value for messages, cut at MAX_QUOTE characters. */
function quoteValue(v: JsonValue): string {
  let t = stringifyJson(v);
  if (t.length > MAX_QUOTE) t = t.substring(0, MAX_QUOTE) + "...";
  return t;
}

/** A number as written in the document (trimmed, cut if absurdly long). */
function numberText(v: JsonValue): string {
  let t = v.rawText().trim();
  if (t.length == 0) t = v.asNumber().toString();
  if (t.length > 40) t = t.substring(0, 40) + "...";
  return t;
}

/** `s` with control characters written as JSON escapes (\n, \u0001...), so it stays on one line. */
function oneLine(s: string): string {
  let n = s.length;
  let parts = new Array<string>();
  let start = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x20) continue;
    if (i > start) parts.push(s.substring(start, i));
    if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else parts.push("\\u00" + (c < 0x10 ? "0" : "") + c.toString(16));
    start = i + 1;
  }
  if (start == 0) return s;
  if (n > start) parts.push(s.substring(start, n));
  return parts.join("");
}

/** A location for messages: very long pointers keep their start and end. */
function shortPointer(p: string): string {
  if (p.length <= 120) return p;
  return p.substring(0, 50) + "..." + p.substring(p.length - 50);
}

/** JSON-pointer escaping of one reference token: `~` -> `~0`, `/` -> `~1`. */
export function escapeToken(s: string): string {
  if (s.indexOf("~") < 0 && s.indexOf("/") < 0) return s;
  return s.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Reverses escapeToken; null on a `~` not followed by 0 or 1. */
function unescapeToken(s: string): string | null {
  let i = s.indexOf("~");
  if (i < 0) return s;
  let parts = new Array<string>();
  let start = 0;
  while (i >= 0) {
    if (i + 1 >= s.length) return null;
    let c = s.charCodeAt(i + 1);
    if (c != 0x30 && c != 0x31) return null;
    parts.push(s.substring(start, i));
    parts.push(c == 0x30 ? "~" : "/");
    start = i + 2;
    i = s.indexOf("~", start);
  }
  parts.push(s.substring(start));
  return parts.join("");
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Decodes %XX escapes (UTF-8 bytes) in a URI fragment; null on a malformed escape. */
function percentDecode(s: string): string | null {
  if (s.indexOf("%") < 0) return s;
  let parts = new Array<string>();
  let n = s.length;
  let i = 0;
  let start = 0;
  while (i < n) {
    if (s.charCodeAt(i) != 0x25) {
      i++;
      continue;
    }
    if (i > start) parts.push(s.substring(start, i));
    let bytes = new Array<u8>();
    while (i < n && s.charCodeAt(i) == 0x25) {
      if (i + 2 >= n) return null;
      let hi = hexValue(s.charCodeAt(i + 1));
      let lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return null;
      bytes.push(<u8>((hi << 4) | lo));
      i += 3;
    }
    let buf = new Uint8Array(bytes.length);
    for (let j = 0; j < bytes.length; j++) buf[j] = bytes[j];
    parts.push(String.UTF8.decode(buf.buffer));
    start = i;
  }
  if (n > start) parts.push(s.substring(start, n));
  return parts.join("");
}

/** A JSON-pointer array index ("0", "17"; no sign, no leading zero), or -1. */
function arrayIndex(tok: string): i32 {
  let n = tok.length;
  if (n == 0 || n > 9) return -1;
  if (n > 1 && tok.charCodeAt(0) == 0x30) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    let c = tok.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    x = x * 10 + (c - 0x30);
  }
  return x;
}
