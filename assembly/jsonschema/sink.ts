// Where validation errors go: a Sink collects up to a number of errors (or
// only the verdict), with instance paths built as linked segments and rendered
// only for the errors kept. A Context holds what one validate() call shares:
// the step count and the limit error that stops it.

import { JsonDoc, JsonKind, JsonValue, Members, Steps, nodeString } from "../json";
import { SchemaNode } from "./node";
import { Why, reasonText } from "./reasons";
import { quote } from "./text";

// Sink modes.
/** Only the verdict matters: checks return at the first failure and build no messages. */
export const MODE_QUIET: i32 = 0;
/** Messages, but anyOf/oneOf failures do not explain each option. */
export const MODE_SHALLOW: i32 = 1;
/** Messages with anyOf/oneOf explanations. */
export const MODE_FULL: i32 = 2;

/**
 * State shared by one validate() call, including nested checks: the step
 * budget (schema applications, and the nodes that equality and hashing visit)
 * and the limit error that stops the call.
 */
export class Context extends Steps {
  constructor(limit: i64) {
    super(limit);
  }
  stopped: bool = false;
  stopPath: PathSeg | null = null;
  stopReason: string = "";
  quiet: Sink | null = null;

  // Objects the walks of one validation reuse, one set per depth: a walk over
  // an object's members or an array's elements at depth d only starts walks
  // at deeper levels, never another at d while it runs.
  private walkers: Array<Members | null> = new Array<Members | null>();
  private values: Array<JsonValue | null> = new Array<JsonValue | null>();
  private names: Array<JsonValue | null> = new Array<JsonValue | null>();
  private segs: Array<PathSeg | null> = new Array<PathSeg | null>();

  /** A member walk over `obj` for depth `depth`, its values written into one reused JsonValue. */
  membersAt(depth: i32, obj: JsonValue): Members {
    while (this.walkers.length <= depth) this.walkers.push(null);
    let m = this.walkers[depth];
    if (m === null) {
      m = new Members(obj, this.valueAt(depth));
      this.walkers[depth] = m;
      return m;
    }
    return m.restart(obj);
  }

  /** The reused JsonValue for values walked at depth `depth`. */
  valueAt(depth: i32): JsonValue {
    while (this.values.length <= depth) this.values.push(null);
    let v = this.values[depth];
    if (v === null) {
      v = new JsonValue(JsonKind.Null);
      this.values[depth] = v;
    }
    return v;
  }

  /** A second reused JsonValue for depth `depth` (member names checked against propertyNames). */
  nameAt(depth: i32): JsonValue {
    while (this.names.length <= depth) this.names.push(null);
    let v = this.names[depth];
    if (v === null) {
      v = new JsonValue(JsonKind.Null);
      this.names[depth] = v;
    }
    return v;
  }

  /** The reused path segment of walks at depth `depth`, under `parent`. */
  segAt(depth: i32, parent: PathSeg | null): PathSeg {
    while (this.segs.length <= depth) this.segs.push(null);
    let seg = this.segs[depth];
    if (seg === null) {
      seg = new PathSeg(parent, null, 0);
      this.segs[depth] = seg;
    }
    seg.parent = parent;
    return seg;
  }
}

/** The context's verdict-only sink (stateless, so one serves every nested check). */
export function quietSink(ctx: Context): Sink {
  let q = ctx.quiet;
  if (q === null) {
    q = new Sink(ctx, 1, MODE_QUIET);
    ctx.quiet = q;
  }
  return q;
}

/** Collects up to `max` errors; paths are rendered only for the errors kept. */
export class Sink {
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
  /**
   * Reports a failed check at `path` (or at its member `key`). Returns true
   * when the caller must stop and return false: the sink is quiet (the verdict
   * is all it wants), full, or the validation has stopped. The message is
   * written (by reasonText) only when it is recorded; `a` and `b` carry what
   * it needs besides the node and the value (see Why).
   */
  fail(
    path: PathSeg | null,
    why: Why,
    n: SchemaNode,
    v: JsonValue,
    key: string | null = null,
    a: i32 = 0,
    b: i32 = 0,
  ): bool {
    if (this.ctx.stopped || this.mode == MODE_QUIET) return true;
    let reason = reasonText(this, why, path, n, v, a, b);
    return this.add(key === null ? path : new PathSeg(path, key, -1), reason);
  }
  /** Records an error (with a copy of its path); true when the caller should stop (sink full or validation stopped). */
  add(path: PathSeg | null, reason: string): bool {
    if (this.ctx.stopped || this.mode == MODE_QUIET) return true;
    if (this.reasons.length < this.max) {
      this.paths.push(keepPath(path));
      this.reasons.push(reason);
    }
    return this.reasons.length >= this.max;
  }
  /** True when checks writing to this sink should stop. */
  full(): bool {
    return this.ctx.stopped || this.mode == MODE_QUIET || this.reasons.length >= this.max;
  }
}

/**
 * One step of an instance path: a member name or an array index; rendered
 * lazily. A walk over many children reuses one segment (changing its index
 * or name), so whatever keeps a path keeps a copy (keepPath).
 */
export class PathSeg {
  parent: PathSeg | null;
  key: string | null;
  index: i32;
  /** A member name still on the tape: name node `index` of `doc` (decoded when rendered). */
  doc: JsonDoc | null = null;
  constructor(parent: PathSeg | null, key: string | null, index: i32) {
    this.parent = parent;
    this.key = key;
    this.index = index;
  }
  /** This segment as array index `i`. */
  at(i: i32): PathSeg {
    this.key = null;
    this.doc = null;
    this.index = i;
    return this;
  }
  /** This segment as the member named by name node `node` of `doc`. */
  member(doc: JsonDoc, node: i32): PathSeg {
    this.key = null;
    this.doc = doc;
    this.index = node;
    return this;
  }
  /** This segment as the member named `key`. */
  named(key: string): PathSeg {
    this.key = key;
    this.doc = null;
    this.index = -1;
    return this;
  }
  /** The member name, or null for an index. */
  name(): string | null {
    let doc = this.doc;
    return doc !== null ? nodeString(doc, this.index) : this.key;
  }
}

/** A copy of a path that stays as it is when the walks that made it move on. */
export function keepPath(p: PathSeg | null): PathSeg | null {
  if (p === null) return null;
  let segs = new Array<PathSeg>();
  let cur: PathSeg | null = p;
  while (cur !== null) {
    segs.push(cur);
    cur = cur.parent;
  }
  let copy: PathSeg | null = null;
  for (let i = segs.length - 1; i >= 0; i--) {
    let seg = segs[i];
    let name = seg.name();
    copy = new PathSeg(copy, name, name !== null ? -1 : seg.index);
  }
  return copy;
}

/** Whether two paths lead to the same place. */
export function samePath(a: PathSeg | null, b: PathSeg | null): bool {
  while (a !== null && b !== null) {
    if (a !== b) {
      let na = a.name();
      let nb = b.name();
      if (na !== null || nb !== null) {
        if (na === null || nb === null || na != nb) return false;
      } else if (a.index != b.index) {
        return false;
      }
    } else {
      return true;
    }
    a = a.parent;
    b = b.parent;
  }
  return a === null && b === null;
}

export function renderPath(p: PathSeg | null): string {
  let parts = new Array<string>();
  let cur = p;
  while (cur !== null) {
    let key = cur.name();
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

export function stop(ctx: Context, path: PathSeg | null, reason: string): void {
  if (ctx.stopped) return;
  ctx.stopped = true;
  ctx.stopPath = keepPath(path);
  ctx.stopReason = reason;
}
