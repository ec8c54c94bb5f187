// What a module must look like for the host to load it, as Higress's Envoy
// checks it: every import is one the host offers (env.proxy_* or WASI),
// with the signature the host offers it with; an ABI version marker the
// host speaks; its memory exported as "memory"; an allocator.

import { ABI_MARKERS } from "../abi/constants.ts";
import { ABI_0_1_0_ONLY, ENV_FUNCTIONS, WASI_FUNCTIONS, WASI_MODULES } from "../abi/signatures.ts";
import { readImports } from "../abi/wasm-binary.ts";

/** Checks a compiled module (and its bytes, for the import signatures); returns its ABI version or throws. */
export function checkModule(module: WebAssembly.Module, bytes: Uint8Array): string {
  checkImports(module, bytes);
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const marker = ABI_MARKERS.find(([name]) => exported.has(name));
  if (!marker) {
    throw new Error(
      "Wasm module is missing the Proxy-Wasm ABI version: export one of proxy_abi_version_0_2_100, proxy_abi_version_0_2_1, proxy_abi_version_0_2_0",
    );
  }
  if (marker[1] === "0.1.0") throw new Error("Proxy-Wasm ABI 0.1.0 modules are not supported by this host");
  if (!exported.has("memory")) throw new Error('Wasm module does not export its memory as "memory"');
  if (!exported.has("malloc") && !exported.has("proxy_on_memory_allocate")) {
    throw new Error(
      "Wasm module exports neither malloc nor proxy_on_memory_allocate: the host cannot hand it any data",
    );
  }
  return marker[1];
}

function checkImports(module: WebAssembly.Module, bytes: Uint8Array): void {
  const declared = WebAssembly.Module.imports(module);
  const detailed = readImports(bytes);
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const imp of declared) {
    const key = `${imp.module}.${imp.name}`;
    let expected: string | undefined;
    if (imp.kind === "function") {
      if (imp.module === "env") expected = ENV_FUNCTIONS[imp.name];
      else if (WASI_MODULES.includes(imp.module)) expected = WASI_FUNCTIONS[imp.name];
    }
    if (!expected) {
      const note = imp.kind !== "function" ? ` (${imp.kind})` : ABI_0_1_0_ONLY.has(imp.name) ? " (ABI 0.1.0 only)" : "";
      missing.push(key + note);
      continue;
    }
    const actual = detailed?.find((d) => d.module === imp.module && d.name === imp.name)?.signature;
    if (actual !== undefined && actual !== expected) {
      mismatched.push(`${key}: module wants (${actual}), host provides (${expected})`);
    }
  }
  if (missing.length) {
    throw new Error(
      `Failed to load Wasm module due to a missing import: ${missing.join(", ")}. ` +
        "Like Higress's Envoy, this host provides only env.proxy_* functions and WASI (wasi_snapshot_preview1).",
    );
  }
  if (mismatched.length) {
    throw new Error(`Failed to load Wasm module due to an import type mismatch: ${mismatched.join("; ")}`);
  }
}
