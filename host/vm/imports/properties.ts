// proxy_get_property and proxy_set_property.

import { WasmResult as R } from "../../abi/constants.ts";
import { lookupProperty, serializeProperty } from "../../properties.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

export function propertyImports(h: ImportHost): ImportGroup {
  const { mem } = h;
  /** A property path as the module sends it: NUL-separated segments. */
  const dotted = (ptr: number, len: number): string =>
    mem
      .readString(ptr, len)
      .split("\0")
      .filter((x) => x !== "")
      .join(".");
  return {
    proxy_get_property: {
      fn: (pathPtr: number, pathLen: number, outPtr: number, outLen: number) => {
        const segments = mem.readString(pathPtr, pathLen).split("\0");
        if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
        const v = lookupProperty(h.options, h.effectiveStream(), segments);
        if (v === undefined) return R.NotFound;
        mem.copyOut(serializeProperty(v), outPtr, outLen);
        return R.Ok;
      },
    },
    proxy_set_property: {
      fn: (kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const key = dotted(kPtr, kLen);
        const value = mem.read(vPtr, vLen);
        const s = h.effectiveStream();
        if (!s) return R.NotFound;
        s.properties.set(key, value);
        return R.Ok;
      },
      trace: (kPtr: number, kLen: number, _vPtr: number, vLen: number) => [dotted(kPtr, kLen), vLen >>> 0],
    },
  };
}
