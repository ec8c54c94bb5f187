// Where validation errors go: a Sink collects up to a number of errors (or
// only the verdict), with instance paths built as linked segments and rendered
// only for the errors kept. A Context holds what one validate() call shares:
// the step count and the limit error that stops it.

import { JsonValue } from "../json";
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

/** State shared by one validate() call, including nested checks. */
export class Context {
  steps: i32 = 0;
  stopped: bool = false;
  stopPath: PathSeg | null = null;
  stopReason: string = "";
  quiet: Sink | null = null;
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

/** One step of an instance path; rendered lazily. */
export class PathSeg {
  parent: PathSeg | null;
  key: string | null;
  index: i32;
  constructor(parent: PathSeg | null, key: string | null, index: i32) {
    this.parent = parent;
    this.key = key;
    this.index = index;
  }
}

export function renderPath(p: PathSeg | null): string {
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

export function stop(ctx: Context, path: PathSeg | null, reason: string): void {
  if (ctx.stopped) return;
  ctx.stopped = true;
  ctx.stopPath = path;
  ctx.stopReason = reason;
}
