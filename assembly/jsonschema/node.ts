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

/**
 * The names of `properties` as UTF-8, sorted by their bytes, for finding a
 * member's schema from the member name's bytes in the instance's text
 * (no decoded string per member).
 */
export class PropertyTable {
  names: StaticArray<Uint8Array>;
  /** For each sorted name, its position in SchemaNode.propNodes. */
  at: StaticArray<i32>;

  constructor(names: string[]) {
    let n = names.length;
    let encoded = new Array<Uint8Array>(n);
    let order = new Array<i32>(n);
    for (let i = 0; i < n; i++) {
      encoded[i] = Uint8Array.wrap(String.UTF8.encode(names[i]));
      order[i] = i;
    }
    // Insertion sort: schemas name few properties.
    for (let i = 1; i < n; i++) {
      let k = order[i];
      let j = i - 1;
      while (j >= 0 && compareBytes(encoded[order[j]], encoded[k]) > 0) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = k;
    }
    this.names = new StaticArray<Uint8Array>(n);
    this.at = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) {
      this.names[i] = encoded[order[i]];
      this.at[i] = order[i];
    }
  }

  /** Position in propNodes of the property whose name is bytes [ptr, ptr + len); -1 when none. */
  find(ptr: usize, len: i32): i32 {
    let lo = 0;
    let hi = this.names.length;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      let name = unchecked(this.names[mid]);
      let c = compareRaw(ptr, len, name.dataStart, name.length);
      if (c == 0) return unchecked(this.at[mid]);
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): i32 {
  return compareRaw(a.dataStart, a.length, b.dataStart, b.length);
}

function compareRaw(a: usize, la: i32, b: usize, lb: i32): i32 {
  let n = la < lb ? la : lb;
  let c = memory.compare(a, b, <usize>n);
  if (c != 0) return c;
  return la - lb;
}

/**
 * The hashes of an `enum`'s values, sorted, each with its value's position:
 * a value is looked up by its hash in log time, and compared for real only
 * with the values that hash alike.
 */
export class EnumTable {
  hashes: StaticArray<u64>;
  at: StaticArray<i32>;

  constructor(hashes: u64[]) {
    let n = hashes.length;
    this.hashes = new StaticArray<u64>(n);
    this.at = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) {
      this.hashes[i] = hashes[i];
      this.at[i] = i;
    }
    // Heap sort by hash.
    for (let i = (n >> 1) - 1; i >= 0; i--) this.sift(i, n);
    for (let size = n - 1; size > 0; size--) {
      this.swap(0, size);
      this.sift(0, size);
    }
  }

  /** The first position in sorted order whose hash is `h`, or the size when none. */
  first(h: u64): i32 {
    let lo = 0;
    let hi = this.hashes.length;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      if (unchecked(this.hashes[mid]) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private sift(root: i32, size: i32): void {
    while (true) {
      let child = root * 2 + 1;
      if (child >= size) return;
      if (child + 1 < size && unchecked(this.hashes[child]) < unchecked(this.hashes[child + 1])) child++;
      if (unchecked(this.hashes[root]) >= unchecked(this.hashes[child])) return;
      this.swap(root, child);
      root = child;
    }
  }

  private swap(a: i32, b: i32): void {
    let h = unchecked(this.hashes[a]);
    unchecked((this.hashes[a] = this.hashes[b]));
    unchecked((this.hashes[b] = h));
    let i = unchecked(this.at[a]);
    unchecked((this.at[a] = this.at[b]));
    unchecked((this.at[b] = i));
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
  propTable: PropertyTable | null = null;
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
  enumTable: EnumTable | null = null;
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
  /** Whether the node checks a scalar with nothing but a type and bounds: -1 not known yet, 0 no, 1 yes. */
  plainScalar: i32 = -1;
  /** Loop check state: 0 unvisited, 1 on the current path, 2 done. */
  mark: i32 = 0;

  constructor(pointer: string) {
    this.pointer = pointer;
  }
}
