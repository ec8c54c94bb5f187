#!/usr/bin/env node
// Builds build/plugin.wasm (release) and build/plugin.debug.wasm, then checks
// that the module only imports what Higress offers and exports the ABI.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
mkdirSync(join(root, "build"), { recursive: true });

for (const target of ["release", "debug"]) {
  const r = spawnSync(process.execPath, [asc, "--config", "asconfig.json", "--target", target], {
    cwd: root,
    stdio: "inherit",
  });
  if (r.status !== 0) {
    console.error(`build: asc --target ${target} failed`);
    process.exit(r.status || 1);
  }
}

export const REQUIRED_EXPORTS = [
  "memory",
  "malloc",
  "_initialize",
  "proxy_abi_version_0_2_100",
  "proxy_on_context_create",
  "proxy_on_vm_start",
  "proxy_on_configure",
  "proxy_on_request_headers",
  "proxy_on_response_headers",
  "proxy_on_response_body",
  "proxy_on_http_call_response",
  "proxy_on_log",
  "proxy_on_done",
  "proxy_on_delete",
];

let failed = false;
for (const file of ["build/plugin.wasm", "build/plugin.debug.wasm"]) {
  const mod = new WebAssembly.Module(readFileSync(join(root, file)));
  const bad = WebAssembly.Module.imports(mod)
    .filter((i) => !(i.module === "env" && i.name.startsWith("proxy_")) && i.module !== "wasi_snapshot_preview1")
    .map((i) => `${i.module}.${i.name}`);
  const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((n) => !exported.has(n));
  if (bad.length) {
    console.error(`build: ${file} imports what Higress does not offer: ${bad.join(", ")}`);
    failed = true;
  }
  if (missing.length) {
    console.error(`build: ${file} lacks exports: ${missing.join(", ")}`);
    failed = true;
  }
}
if (failed) process.exit(1);
console.log(`build/plugin.wasm: ${statSync(join(root, "build/plugin.wasm")).size} bytes (release)`);
console.log(`build/plugin.debug.wasm: ${statSync(join(root, "build/plugin.debug.wasm")).size} bytes (debug)`);
