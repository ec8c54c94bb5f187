// Compiling a draft-07 schema document into SchemaNode objects: every keyword
// is looked up in one table (keywords.ts) and its value checked; `$ref`s are
// resolved once the tree is built, and reference loops that never descend into
// the instance are rejected.

import { JsonValue, hashValue } from "../json";
import { Bound, Dependency, EnumTable, PropertyTable, SchemaNode } from "./node";
import { escapeToken, shortPointer } from "./pointer";
import { numberText, oneLine, quote, quoteValue } from "./text";
import { KIND_UNKNOWN, KIND_VALIDATION, Kw, TYPE_NAMES, isDraft07, keywordId, kindOf, typeBit } from "./keywords";
import { MAX_SCHEMA_DEPTH } from "./schema";
import { checkLoops, resolveRef } from "./refs";

export class Compiler {
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
      let target = resolveRef(this, n);
      if (target === null || this.error.length > 0) return null;
      n.ref = target;
      n.direct.push(target);
    }
    if (!checkLoops(this)) return null;
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
      let id = keywordId(k);
      let kind = kindOf(id);
      if (kind == KIND_UNKNOWN) {
        this.fail("unsupported keyword " + quote(k) + " at " + ptr);
        return null;
      }
      if (id == Kw.Id && ptr != "#") {
        this.fail('unsupported keyword "$id" at ' + ptr + ' ("$id" is only supported at the root)');
        return null;
      }
      if (id == Kw.Schema && ptr != "#") {
        this.fail('unsupported keyword "$schema" at ' + ptr + ' ("$schema" is only allowed at the root)');
        return null;
      }
      if (hasRef && kind == KIND_VALIDATION) {
        this.fail(
          "unsupported keyword " +
            quote(k) +
            ' beside "$ref" at ' +
            ptr +
            ' (draft-07 ignores keywords next to "$ref"; wrap both in "allOf")',
        );
        return null;
      }
    }
    // Second pass: compile each keyword.
    for (let i = 0; i < keys.length; i++) {
      let k = keys[i];
      let kv = v.get(k);
      if (kv === null) continue;
      this.keyword(n, keywordId(k), k, kv, ptr, depth);
      if (this.error.length > 0) return null;
    }
    this.finishObjectSchema(n, v, ptr);
    if (this.error.length > 0) return null;
    return n;
  }

  /** Cross-keyword checks once all keywords of one schema are read. */
  finishObjectSchema(n: SchemaNode, v: JsonValue, ptr: string): void {
    let a = n.minLength,
      b = n.maxLength;
    if (a !== null && b !== null && a.value > b.value) {
      this.fail('"minLength" is greater than "maxLength" at ' + ptr);
      return;
    }
    a = n.minItems;
    b = n.maxItems;
    if (a !== null && b !== null && a.value > b.value) {
      this.fail('"minItems" is greater than "maxItems" at ' + ptr);
      return;
    }
    a = n.minProperties;
    b = n.maxProperties;
    if (a !== null && b !== null && a.value > b.value) {
      this.fail('"minProperties" is greater than "maxProperties" at ' + ptr);
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

  keyword(n: SchemaNode, id: Kw, k: string, kv: JsonValue, ptr: string, depth: i32): void {
    let here = ptr + "/" + escapeToken(k);
    switch (id) {
      case Kw.Ref: {
        if (!kv.isString()) {
          this.fail('"$ref" must be a string at ' + ptr);
          return;
        }
        n.refText = kv.asString();
        this.pending.push(n);
        break;
      }
      case Kw.Type:
        this.typeKeyword(n, kv, ptr);
        break;
      case Kw.Properties:
        this.propertiesKeyword(n, kv, ptr, here, depth);
        break;
      case Kw.Required:
        n.required = this.stringArray(k, kv, ptr);
        break;
      case Kw.AdditionalProperties:
        n.additionalProperties = this.sub(kv, here, depth);
        break;
      case Kw.Items: {
        if (kv.isArray()) {
          n.itemList = this.schemaArray(k, kv, ptr, depth);
        } else {
          n.items = this.sub(kv, here, depth);
        }
        break;
      }
      case Kw.AdditionalItems:
        n.additionalItems = this.sub(kv, here, depth);
        break;
      case Kw.Enum:
        this.enumKeyword(n, kv, ptr);
        break;
      case Kw.Const: {
        n.constValue = kv;
        n.constText = quoteValue(kv);
        break;
      }
      case Kw.Minimum:
        n.minimum = this.bound(k, kv, ptr, false, false);
        break;
      case Kw.Maximum:
        n.maximum = this.bound(k, kv, ptr, false, false);
        break;
      case Kw.ExclusiveMinimum:
        n.exclusiveMinimum = this.bound(k, kv, ptr, false, false);
        break;
      case Kw.ExclusiveMaximum:
        n.exclusiveMaximum = this.bound(k, kv, ptr, false, false);
        break;
      case Kw.MultipleOf:
        n.multipleOf = this.bound(k, kv, ptr, false, true);
        break;
      case Kw.MinLength:
        n.minLength = this.bound(k, kv, ptr, true, false);
        break;
      case Kw.MaxLength:
        n.maxLength = this.bound(k, kv, ptr, true, false);
        break;
      case Kw.MinItems:
        n.minItems = this.bound(k, kv, ptr, true, false);
        break;
      case Kw.MaxItems:
        n.maxItems = this.bound(k, kv, ptr, true, false);
        break;
      case Kw.MinProperties:
        n.minProperties = this.bound(k, kv, ptr, true, false);
        break;
      case Kw.MaxProperties:
        n.maxProperties = this.bound(k, kv, ptr, true, false);
        break;
      case Kw.UniqueItems: {
        if (!kv.isBool()) {
          this.fail('"uniqueItems" must be a boolean at ' + ptr);
          return;
        }
        n.uniqueItems = kv.asBool();
        break;
      }
      case Kw.AllOf:
        n.allOf = this.appliedList(n, this.schemaArray(k, kv, ptr, depth));
        break;
      case Kw.AnyOf:
        n.anyOf = this.appliedList(n, this.schemaArray(k, kv, ptr, depth));
        break;
      case Kw.OneOf:
        n.oneOf = this.appliedList(n, this.schemaArray(k, kv, ptr, depth));
        break;
      case Kw.Not:
        n.not = this.applied(n, this.sub(kv, here, depth));
        break;
      case Kw.If:
        n.ifNode = this.applied(n, this.sub(kv, here, depth));
        break;
      case Kw.Then:
        n.thenNode = this.applied(n, this.sub(kv, here, depth));
        break;
      case Kw.Else:
        n.elseNode = this.applied(n, this.sub(kv, here, depth));
        break;
      case Kw.Contains:
        n.contains = this.sub(kv, here, depth);
        break;
      case Kw.PropertyNames:
        n.propertyNames = this.sub(kv, here, depth);
        break;
      case Kw.Dependencies:
        this.dependenciesKeyword(n, kv, ptr, depth);
        break;
      case Kw.Definitions:
        this.definitionsKeyword(k, kv, ptr, here, depth);
        break;
      default:
        this.annotation(id, k, kv, ptr);
    }
  }

  /** `sub`, noted as applied to the same instance location as `n` (the loop check follows it). */
  applied(n: SchemaNode, sub: SchemaNode | null): SchemaNode | null {
    if (sub !== null) n.direct.push(sub);
    return sub;
  }

  /** `list` (allOf / anyOf / oneOf), noted as applied to the same instance location as `n`. */
  appliedList(n: SchemaNode, list: SchemaNode[] | null): SchemaNode[] | null {
    if (list !== null) {
      for (let i = 0; i < list.length; i++) n.direct.push(list[i]);
    }
    return list;
  }

  propertiesKeyword(n: SchemaNode, kv: JsonValue, ptr: string, here: string, depth: i32): void {
    if (!kv.isObject()) {
      this.fail('"properties" must be an object at ' + ptr);
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
    n.propTable = new PropertyTable(kept);
  }

  enumKeyword(n: SchemaNode, kv: JsonValue, ptr: string): void {
    if (!kv.isArray()) {
      this.fail('"enum" must be an array at ' + ptr);
      return;
    }
    let values = new Array<JsonValue>();
    let hashes = new Array<u64>();
    let len = kv.length;
    for (let i = 0; i < len; i++) {
      let item = kv.at(i);
      if (item === null) continue;
      values.push(item);
      hashes.push(hashValue(item));
    }
    n.enumValues = values;
    n.enumTable = new EnumTable(hashes);
    n.enumText = quoteValue(kv);
  }

  /** definitions / $defs: every entry must be a valid schema even if nothing refers to it. */
  definitionsKeyword(k: string, kv: JsonValue, ptr: string, here: string, depth: i32): void {
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
  }

  typeKeyword(n: SchemaNode, kv: JsonValue, ptr: string): void {
    if (kv.isString()) {
      let bit = typeBit(kv.asString());
      if (bit == 0) {
        this.fail('"type" has unknown type ' + quote(kv.asString()) + " at " + ptr + " (expected " + TYPE_NAMES + ")");
        return;
      }
      n.types = bit;
      return;
    }
    if (!kv.isArray() || kv.length == 0) {
      this.fail('"type" must be a type name or a non-empty array of type names at ' + ptr);
      return;
    }
    let mask = 0;
    let len = kv.length;
    for (let i = 0; i < len; i++) {
      let item = kv.at(i);
      if (item === null || !item.isString()) {
        this.fail('"type" must be a type name or a non-empty array of type names at ' + ptr);
        return;
      }
      let bit = typeBit(item.asString());
      if (bit == 0) {
        this.fail(
          '"type" has unknown type ' + quote(item.asString()) + " at " + ptr + " (expected " + TYPE_NAMES + ")",
        );
        return;
      }
      if ((mask & bit) != 0) {
        this.fail('"type" lists ' + quote(item.asString()) + " twice at " + ptr);
        return;
      }
      mask |= bit;
    }
    n.types = mask;
  }

  dependenciesKeyword(n: SchemaNode, kv: JsonValue, ptr: string, depth: i32): void {
    if (!kv.isObject()) {
      this.fail('"dependencies" must be an object at ' + ptr);
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
        this.fail('"dependencies" entries must be schemas or arrays of strings at ' + here + "/" + escapeToken(name));
        return;
      }
      list.push(d);
    }
    n.dependencies = list;
  }

  annotation(id: Kw, k: string, kv: JsonValue, ptr: string): void {
    switch (id) {
      case Kw.Title:
      case Kw.Description:
      case Kw.Comment:
      case Kw.ContentMediaType:
      case Kw.ContentEncoding: {
        if (!kv.isString()) this.fail(quote(k) + " must be a string at " + ptr);
        break;
      }
      case Kw.ReadOnly:
      case Kw.WriteOnly: {
        if (!kv.isBool()) this.fail(quote(k) + " must be a boolean at " + ptr);
        break;
      }
      case Kw.Examples: {
        if (!kv.isArray()) this.fail('"examples" must be an array at ' + ptr);
        break;
      }
      case Kw.Schema: {
        if (!kv.isString()) {
          this.fail('"$schema" must be a string at ' + ptr);
          return;
        }
        let s = kv.asString();
        if (!isDraft07(s)) {
          this.fail(
            'unsupported "$schema" ' +
              quote(s) +
              " at " +
              ptr +
              ' (only draft-07, "http://json-schema.org/draft-07/schema#", is supported)',
          );
        }
        break;
      }
      case Kw.Id: {
        if (!kv.isString()) {
          this.fail('"$id" must be a string at ' + ptr);
          return;
        }
        let id = kv.asString();
        let hash = id.indexOf("#");
        if (hash >= 0) {
          if (hash != id.length - 1) {
            this.fail('unsupported "$id" ' + quote(id) + " at " + ptr + ' (a root "$id" must not have a fragment)');
            return;
          }
          id = id.substring(0, hash);
        }
        this.base = id;
        break;
      }
      // "default": any value.
    }
  }
}
