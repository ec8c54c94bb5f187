// Test entry for the JSON Schema Test Suite runner (tests/jsonschema-suite/suite.test.ts).
//
// The runner writes UTF-8 text into the buffer returned by inputBuffer(), then
// calls compileInput() (the text is a schema) or validateInput() (the text is
// an instance for the last compiled schema). Messages come back through
// outputPtr()/outputLen() as UTF-8. Globals keep every buffer reachable, so
// the collector never frees memory the runner still reads or writes.

import { parseJson } from "../../assembly/json";
import { compileSchema, formatErrors, Schema } from "../../assembly/jsonschema";

let input = new Uint8Array(0);
let output = new Uint8Array(0);
let schema: Schema | null = null;

function setOutput(s: string): void {
  output = Uint8Array.wrap(String.UTF8.encode(s));
}

/** A buffer of `len` bytes for the next input; returns its address. */
export function inputBuffer(len: i32): usize {
  input = new Uint8Array(len < 0 ? 0 : len);
  return input.dataStart;
}

export function outputPtr(): usize {
  return output.dataStart;
}

export function outputLen(): i32 {
  return output.length;
}

/** 1: compiled; 0: rejected (the reason is the output); -1: the text is not JSON. */
export function compileInput(): i32 {
  schema = null;
  let parsed = parseJson(input);
  let value = parsed.value;
  if (!parsed.ok || value === null) {
    setOutput(parsed.error);
    return -1;
  }
  let result = compileSchema(value);
  if (!result.ok) {
    setOutput(result.error);
    return 0;
  }
  schema = result.schema;
  setOutput(result.schema !== null ? result.schema!.describe() : "");
  return 1;
}

/** 1: valid; 0: invalid (formatted errors are the output); -1: not JSON; -2: no schema. */
export function validateInput(maxErrors: i32): i32 {
  let s = schema;
  if (s === null) {
    setOutput("no schema compiled");
    return -2;
  }
  let parsed = parseJson(input);
  let value = parsed.value;
  if (!parsed.ok || value === null) {
    setOutput(parsed.error);
    return -1;
  }
  let errors = s.validate(value, maxErrors);
  setOutput(formatErrors(errors));
  return errors.length == 0 ? 1 : 0;
}
