// Every function the host offers a module, by group, each one routed
// through one wrapper:
// - a memory access out of bounds is InvalidMemoryAccess (EFAULT for WASI);
// - a trap raised inside (malloc trapping, proc_exit, stack overflow)
//   propagates to the VM call, which fails the VM;
// - any other failure is logged and returns InternalFailure;
// - with HostOptions.trace set, every function that changes state reports
//   its decoded arguments and its result (see TraceEntry in types.ts).

import { LogLevel, WasmResult } from "../../abi/constants.ts";
import { WASI_MODULES } from "../../abi/signatures.ts";
import { errorMessage } from "../../bytes.ts";
import type { TraceEntry } from "../../types.ts";
import { MemoryFault } from "../memory.ts";
import { bufferImports } from "./buffers.ts";
import { contextImports } from "./context.ts";
import { headerImports } from "./headers.ts";
import { httpCallImports } from "./http-call.ts";
import { loggingImports } from "./logging.ts";
import { metricImports } from "./metrics.ts";
import { propertyImports } from "./properties.ts";
import { sharedDataImports } from "./shared-data.ts";
import { streamControlImports } from "./stream-control.ts";
import type { HostFunction, ImportGroup, ImportHost } from "./types.ts";
import { ProcExit, wasiImports } from "./wasi.ts";

export { ProcExit } from "./wasi.ts";
export { MetricStore } from "./metrics.ts";
export type { CallResponse, ImportHost } from "./types.ts";

type WasmFunction = (...args: unknown[]) => number | void;

/** The import object: env.proxy_* and WASI under both of its module names. */
export function buildImports(h: ImportHost, trace?: (entry: TraceEntry) => void): WebAssembly.Imports {
  const env = wrapGroup(h, trace, {
    ...loggingImports(h),
    ...propertyImports(h),
    ...headerImports(h),
    ...bufferImports(h),
    ...httpCallImports(h),
    ...sharedDataImports(h),
    ...metricImports(h),
    ...streamControlImports(h),
    ...contextImports(h),
  });
  const wasi = wrapGroup(h, trace, wasiImports(h));
  const imports: WebAssembly.Imports = { env };
  for (const m of WASI_MODULES) imports[m] = wasi;
  return imports;
}

function wrapGroup(
  h: ImportHost,
  trace: ((entry: TraceEntry) => void) | undefined,
  group: ImportGroup,
): Record<string, WasmFunction> {
  const out: Record<string, WasmFunction> = {};
  for (const [name, def] of Object.entries(group)) out[name] = wrap(h, name, def, trace);
  return out;
}

/** The one wrapper every host function goes through. */
function wrap(
  h: ImportHost,
  name: string,
  def: HostFunction,
  trace: ((entry: TraceEntry) => void) | undefined,
): WasmFunction {
  const fn = def.fn as WasmFunction;
  const onFault = def.onFault ?? WasmResult.InvalidMemoryAccess;
  const guarded = (...a: unknown[]): number | void => {
    try {
      return fn(...a);
    } catch (e) {
      if (e instanceof MemoryFault) return onFault;
      if (e instanceof WebAssembly.RuntimeError || e instanceof ProcExit || e instanceof RangeError) throw e;
      h.hostLog(LogLevel.error, `host function ${name} failed: ${errorMessage(e)}`);
      return WasmResult.InternalFailure;
    }
  };
  if (!trace || !def.trace) return guarded;
  const decode = def.trace as (...a: unknown[]) => unknown[];
  return (...a: unknown[]): number | void => {
    const contextId = h.effective();
    let args: unknown[];
    try {
      args = decode(...a);
    } catch {
      args = a; // out of bounds: the raw values
    }
    const result = guarded(...a);
    try {
      trace({ name, args, result: result ?? 0, contextId, raw: a });
    } catch {
      // A faulty tracer must not affect the module.
    }
    return result;
  };
}
