// Contexts, time and the rest of env: proxy_set_effective_context,
// proxy_done, proxy_set_tick_period_milliseconds,
// proxy_get_current_time_nanoseconds, proxy_call_foreign_function (NotFound),
// and the two non-proxy functions proxy-wasm-cpp-host registers in "env".

import { WasmResult as R } from "../../abi/constants.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

export function contextImports(h: ImportHost): ImportGroup {
  const { mem } = h;
  return {
    proxy_set_effective_context: {
      fn: (id: number) => (h.setEffective(id >>> 0) ? R.Ok : R.BadArgument),
      trace: (id: number) => [id >>> 0],
    },
    proxy_done: {
      fn: () => (h.rootDone() ? R.Ok : R.NotFound),
      trace: () => [],
    },
    proxy_set_tick_period_milliseconds: {
      fn: (ms: number) => {
        h.setTickPeriod(ms >>> 0);
        return R.Ok;
      },
      trace: (ms: number) => [ms >>> 0],
    },
    proxy_get_current_time_nanoseconds: {
      fn: (out: number) => {
        mem.writeU64(out, h.now());
        return R.Ok;
      },
    },
    proxy_call_foreign_function: { fn: () => R.NotFound },
    pthread_equal: { fn: (a: number, b: number) => (a === b ? 1 : 0) },
    emscripten_notify_memory_growth: { fn: () => undefined },
  };
}
