// Building the plugin when it is missing or older than its sources, for
// `npm start` and the benches: one rule, one build command (scripts/build.mjs).

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The release build of the plugin. */
export const PLUGIN_WASM = join(ROOT, "build", "plugin.wasm");

function newestMtime(dir: string): { mtime: number; file: string } {
  let best = { mtime: 0, file: "" };
  if (!existsSync(dir)) return best;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const cur = entry.isDirectory() ? newestMtime(p) : { mtime: statSync(p).mtimeMs, file: p };
    if (cur.mtime > best.mtime) best = cur;
  }
  return best;
}

/** Whether `wasm` must be rebuilt: missing, or older than any file under `sourceDir` or `extra` files. */
export function needsBuild(wasm: string, sourceDir: string, extra: string[] = []): { build: boolean; reason: string } {
  if (!existsSync(wasm)) return { build: true, reason: `${relative(ROOT, wasm) || wasm} is missing` };
  const built = statSync(wasm).mtimeMs;
  let newest = newestMtime(sourceDir);
  for (const f of extra) {
    if (existsSync(f) && statSync(f).mtimeMs > newest.mtime) newest = { mtime: statSync(f).mtimeMs, file: f };
  }
  if (newest.mtime > built) return { build: true, reason: `${relative(ROOT, newest.file)} is newer than the build` };
  return { build: false, reason: "up to date" };
}

export class BuildError extends Error {}

/**
 * Runs `npm run build` when build/plugin.wasm is missing or older than a file
 * under assembly/ (or asconfig.json). Prints why it builds; throws BuildError
 * when the build fails. Returns whether it built.
 */
export function ensurePluginBuilt(log: (line: string) => void = console.log): boolean {
  const need = needsBuild(PLUGIN_WASM, join(ROOT, "assembly"), [join(ROOT, "asconfig.json")]);
  if (!need.build) return false;
  log(`Building the plugin (${need.reason}): npm run build`);
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0)
    throw new BuildError(`the plugin build failed (exit ${r.status ?? r.signal}); run npm run build to see why`);
  return true;
}
