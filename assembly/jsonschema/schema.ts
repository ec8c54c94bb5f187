// The validator's API: compileSchema() turns a draft-07 schema document into a
// Schema; Schema.validate() lists what is wrong with an instance.
//
// compileSchema() builds a graph of SchemaNode objects (node.ts), checking
// every keyword's value on the way (compile.ts). A keyword this validator does
// not implement is rejected with its name and location: nothing is silently
// ignored. Schema.validate() walks the graph against an instance (validate.ts)
// and collects errors with the instance's JSON path (sink.ts).
//
// Nothing here traps on any input:
//   - `$ref` loops that never descend into the instance (`{"$ref": "#"}`,
//     definitions that refer to each other through allOf/anyOf/...) are
//     rejected at compile time;
//   - validation depth is bounded (MAX_VALIDATION_DEPTH) and so is the total
//     work of one validate() call (MAX_VALIDATION_STEPS); hitting either limit
//     is reported as a validation error;
//   - array/map accesses are bounds- and presence-checked.

import { JsonValue, stringifyJson } from "../json";
import { SchemaNode } from "./node";
import { Compiler } from "./compile";
import { Context, MODE_FULL, Sink, quietSink, renderPath } from "./sink";
import { checkNode } from "./validate";

/** Deepest schema nesting compileSchema() accepts. */
export const MAX_SCHEMA_DEPTH: i32 = 128;
/** Deepest chain of schema applications validate() follows. */
export const MAX_VALIDATION_DEPTH: i32 = 256;
/** Most schema applications one validate() call performs (by default). */
export const MAX_VALIDATION_STEPS: i32 = 1000000;

/** Steps allowed whatever the value's size, and one more per this many bytes of its text (see stepsFor). */
export const BASE_VALIDATION_STEPS: i64 = 100000;
export const STEPS_PER_BYTE_DIVISOR: i64 = 2;

/**
 * A step limit for a value of `bytes` bytes of text that keeps validation
 * time proportional to its size: 100,000 steps, plus one per 2 bytes (one
 * schema application per value of `[0,0,0,…]`). A step costs well under
 * 0.1 microseconds (scalars on the tape, no allocation), so checking an
 * answer stays within about 50 ms per MB (bench/bounds.ts measures it).
 */
export function stepsFor(bytes: i64): i64 {
  let n = BASE_VALIDATION_STEPS + bytes / STEPS_PER_BYTE_DIVISOR;
  return n;
}

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

  /**
   * Validates `value`; returns at most `maxErrors` errors (empty = valid).
   * At most `stepLimit` steps are taken (schema applications, and the nodes
   * hashed or compared by enum, const and uniqueItems); past it the limit is
   * the last error.
   */
  validate(value: JsonValue, maxErrors: i32 = 10, stepLimit: i64 = MAX_VALIDATION_STEPS): ValidationError[] {
    let ctx = new Context(stepLimit);
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
    let ctx = new Context(MAX_VALIDATION_STEPS);
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
