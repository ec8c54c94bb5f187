// A JSON Schema (draft-07) validator over the JSON reader of ../json: compile a
// schema document once, validate many instances; never traps.
//
//   schema.ts    the API: compileSchema, Schema, ValidationError, limits
//   compile.ts   schema document -> SchemaNode graph; keywords.ts: the keyword table;
//                refs.ts: $ref resolution and loops
//   validate.ts  the checks (arrays in items.ts, uniqueItems in unique.ts);
//                sink.ts: where errors go; reasons.ts: what they say
//   node.ts      the compiled graph   pointer.ts  JSON pointers (value hashes: ../json/hash.ts)
//   text.ts      quoting for messages

export {
  MAX_SCHEMA_DEPTH,
  MAX_VALIDATION_DEPTH,
  MAX_VALIDATION_STEPS,
  stepsFor,
  Schema,
  SchemaCompileResult,
  ValidationError,
  compileSchema,
  formatErrors,
} from "./schema";
export { codePointCount } from "./validate";
