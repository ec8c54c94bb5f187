// proxy_log and proxy_get_log_level.

import { LogLevel, WasmResult as R } from "../../abi/constants.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

export function loggingImports(h: ImportHost): ImportGroup {
  const { mem } = h;
  return {
    proxy_log: {
      fn: (level: number, ptr: number, len: number) => {
        if (level >>> 0 > LogLevel.critical) return R.BadArgument;
        const message = mem.readString(ptr, len);
        if (level >= h.logLevel) h.record(level, message, h.effective(), "plugin");
        return R.Ok;
      },
      trace: (level: number, ptr: number, len: number) => [level >>> 0, mem.readString(ptr, len)],
    },
    proxy_get_log_level: {
      fn: (out: number) => {
        mem.writeU32(out, h.logLevel);
        return R.Ok;
      },
    },
  };
}
