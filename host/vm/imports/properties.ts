// proxy_get_property and proxy_set_property, with Higress's special keys:
// clear_route_cache ("off" keeps request-header edits from clearing the
// route cache, any other value restores it) and set_decoder_buffer_limit /
// set_encoder_buffer_limit (decimal bytes, parsed as std::stoul does; both
// set the stream's one buffer limit, as Envoy 1.27's FilterManager has one).

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
        // Higress's Context::setProperty keys (the value is also stored, as Envoy stores every property).
        if (key === "clear_route_cache") {
          s.clearRouteCache = latin1(value) !== "off";
        } else if (key === "set_decoder_buffer_limit" || key === "set_encoder_buffer_limit") {
          const limit = stoulUint32(latin1(value));
          if (limit !== undefined) h.chain.setBufferLimit(s, limit);
        }
        return R.Ok;
      },
      trace: (kPtr: number, kLen: number, _vPtr: number, vLen: number) => [dotted(kPtr, kLen), vLen >>> 0],
    },
  };
}

function latin1(b: Uint8Array): string {
  let out = "";
  for (const x of b) out += String.fromCharCode(x);
  return out;
}

/**
 * Higress's stringViewToUint32: std::stoul (leading white space, an optional
 * sign, decimal digits up to the first other character; a negative value
 * wraps around), accepted only when it fits in 32 bits. undefined when it
 * is refused (no digits, out of range).
 */
export function stoulUint32(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
  if (!m) return undefined;
  const max64 = (1n << 64n) - 1n;
  let v = BigInt(m[2]);
  if (v > max64) return undefined;
  if (m[1] === "-") v = ((1n << 64n) - v) & max64;
  if (v > 0xffffffffn) return undefined;
  return Number(v);
}
