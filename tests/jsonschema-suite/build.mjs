// Compiles tests/jsonschema-suite/entry.ts (the JSON Schema validator plus a small
// string-passing shim) into a temporary directory and returns the Wasm bytes.
// asc runs in the temporary directory so the project's asconfig.json (the
// plugin build) does not apply.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");

export function buildEntry() {
  const dir = mkdtempSync(join(tmpdir(), "jsonschema-suite-"));
  try {
    const out = join(dir, "entry.wasm");
    const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
    const r = spawnSync(process.execPath, [asc, join(here, "entry.ts"), "-o", out, "--runtime", "incremental", "-O1"], {
      cwd: dir,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`asc failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Instantiates the entry; `call` wrappers pass strings in and out as UTF-8. */
export async function loadValidator(bytes = buildEntry()) {
  let instance;
  const env = {
    abort(msgPtr, filePtr, line, col) {
      throw new Error(`abort: ${readAsString(msgPtr)} at ${readAsString(filePtr)}:${line}:${col}`);
    },
  };
  // AssemblyScript strings: UTF-16, byte length stored 4 bytes before the data.
  function readAsString(ptr) {
    if (!ptr) return "";
    const mem = instance.exports.memory.buffer;
    const len = new Uint32Array(mem, ptr - 4, 1)[0];
    return Buffer.from(mem, ptr, len).toString("utf16le");
  }
  const module = new WebAssembly.Module(bytes);
  instance = new WebAssembly.Instance(module, { env });
  const ex = instance.exports;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  function put(text) {
    const bytes = enc.encode(text);
    const ptr = ex.inputBuffer(bytes.length);
    new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
  }
  function out() {
    return dec.decode(new Uint8Array(ex.memory.buffer, ex.outputPtr(), ex.outputLen()));
  }
  return {
    imports: WebAssembly.Module.imports(module),
    /** { status: 1 compiled | 0 rejected | -1 not JSON, message } */
    compile(schemaText) {
      put(schemaText);
      const status = ex.compileInput();
      return { status, message: out() };
    },
    /** { status: 1 valid | 0 invalid | -1 not JSON | -2 no schema, message } */
    validate(instanceText, maxErrors = 10) {
      put(instanceText);
      const status = ex.validateInput(maxErrors);
      return { status, message: out() };
    },
  };
}
