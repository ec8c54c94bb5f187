// The module under test, for every suite: build/plugin.wasm, or the file named
// by the environment variable AI_JSON_MODE_WASM (used to run the suites
// against a deliberately broken build).

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const WASM = process.env.AI_JSON_MODE_WASM
  ? resolve(process.env.AI_JSON_MODE_WASM)
  : join(ROOT, "build/plugin.wasm");
