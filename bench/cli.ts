// What the benches share: reading their command-line options, finding the
// module they measure (build/plugin.wasm, built first when missing or stale),
// and percentiles of sorted samples.
import { existsSync } from "node:fs";
import { BuildError, ensurePluginBuilt, PLUGIN_WASM } from "../host/build.ts";

/** Whether `--name` is on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The word after `--name`, or undefined when the option is absent. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** `--name N`: an integer of at least `min` (else the bench exits 2), or `fallback` when absent. */
export function intArg(name: string, fallback: number, min: 0 | 1 = 1): number {
  if (!flag(name)) return fallback;
  const raw = arg(name);
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name}: expected a ${min === 1 ? "positive" : "non-negative"} integer, got ${raw}`);
    process.exit(2);
  }
  return v;
}

/**
 * The module to measure: the file after `--wasm` when `wasmOption` allows one
 * (it must exist), else build/plugin.wasm, built first when missing or stale.
 * A build error (or a missing file) is printed with `[tag]` and exits 1.
 */
export function pluginWasm(tag: string, wasmOption = false): string {
  const given = wasmOption && flag("wasm") ? (arg("wasm") ?? "") : undefined;
  try {
    if (given === undefined || given === PLUGIN_WASM) ensurePluginBuilt((line) => console.error(`[${tag}] ${line}`));
    else if (!existsSync(given)) throw new BuildError(`--wasm ${given}: file not found`);
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`[${tag}] ${e.message}`);
    process.exit(1);
  }
  return given ?? PLUGIN_WASM;
}

/** The sample at fraction `p` of `sorted` (ascending). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}
