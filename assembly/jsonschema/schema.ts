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
/** Most schema applications one validate() call performs. */
export const MAX_VALIDATION_STEPS: i32 = 1000000;

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
    let ctx = new Context(MAX_VALIDATION_STEPS);
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
