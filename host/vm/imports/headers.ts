// Header maps: get, add, replace, remove, get/set all pairs, size. Which maps
// exist follows Envoy: the stream's maps while the current callback may use
// them (any map in proxy_on_log), the call answer's maps (6, 7) only during
// proxy_on_http_call_response; a direction's trailers (1, 3) during its
// trailers callback (until it returns Continue) and in proxy_on_log. gRPC
// metadata is not emulated.

import { LogLevel, MAP_TYPE_MAX, MapType, WasmResult as R } from "../../abi/constants.ts";
import { decodePairs, encodePairs, headerBytes, headerText } from "../../abi/pairs.ts";
import { addHeader, firstValue, removeHeader, setHeader } from "../../header-map.ts";
import type { Pairs } from "../../types.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

/** Decodes a header map from the module; malformed bytes are an empty map (as proxy-wasm-cpp-host does). */
export function decodeModulePairs(h: ImportHost, bytes: Uint8Array, what: string): Pairs {
  const pairs = decodePairs(bytes);
  if (pairs === null) {
    h.hostLog(LogLevel.warn, `${what}: malformed header map (${bytes.length} bytes) read as empty`);
    return [];
  }
  return pairs.map(([k, v]) => [k.toLowerCase(), v]);
}

export function headerImports(h: ImportHost): ImportGroup {
  const { mem } = h;
  /** A header name or value from the module: its bytes as they are (see headerText). */
  const readHeader = (ptr: number, len: number): string => headerText(mem.read(ptr, len));

  /** A map the module may read now, or null. */
  const constMap = (type: number): Pairs | null => {
    const s = h.effectiveStream();
    switch (type) {
      case MapType.RequestHeaders:
        return s ? s.readableMap(s.req) : null;
      case MapType.ResponseHeaders:
        return s ? s.readableMap(s.res) : null;
      case MapType.RequestTrailers:
        return s ? s.readableTrailers(s.req) : null;
      case MapType.ResponseTrailers:
        return s ? s.readableTrailers(s.res) : null;
      case MapType.HttpCallResponseHeaders:
        return h.callResponse()?.headers ?? null;
      case MapType.HttpCallResponseTrailers:
        return h.callResponse()?.trailers ?? null;
      default:
        return null; // gRPC metadata is not emulated
    }
  };

  /** A map the module may change now, or null. */
  const mutableMap = (type: number): Pairs | null => {
    const s = h.effectiveStream();
    if (!s) return null;
    if (type === MapType.RequestHeaders) return s.req.map && s.req.mapOpen ? s.req.map : null;
    if (type === MapType.ResponseHeaders) return s.res.map && s.res.mapOpen ? s.res.map : null;
    if (type === MapType.RequestTrailers) return s.req.trailersOpen ? s.req.trailers : null;
    if (type === MapType.ResponseTrailers) return s.res.trailersOpen ? s.res.trailers : null;
    return null;
  };

  /** Envoy clears the route cache after every edit of the request headers (Higress: unless clear_route_cache is off). */
  const edited = (type: number): void => {
    const s = h.effectiveStream();
    if (s && type === MapType.RequestHeaders) h.chain.requestHeadersEdited(s);
  };

  /** Add, replace or remove (no value: 0, 0 reads as empty): key and value are read before the map is looked up. */
  const editMap = (
    type: number,
    kPtr: number,
    kLen: number,
    vPtr: number,
    vLen: number,
    edit: (map: Pairs, key: string, value: string) => void,
  ): number => {
    if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
    const key = readHeader(kPtr, kLen).toLowerCase();
    const value = readHeader(vPtr, vLen);
    const map = mutableMap(type);
    if (!map) return R.BadArgument;
    edit(map, key, value);
    edited(type);
    return R.Ok;
  };

  const keyValue = (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number): unknown[] => [
    type >>> 0,
    readHeader(kPtr, kLen),
    readHeader(vPtr, vLen),
  ];

  return {
    proxy_get_header_map_value: {
      fn: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        const key = readHeader(kPtr, kLen).toLowerCase();
        const map = constMap(type);
        if (!map) return h.effectiveStream()?.context === "log" ? R.NotFound : R.BadArgument;
        const v = firstValue(map, key);
        if (v === undefined) return R.NotFound;
        mem.copyOut(headerBytes(v), vPtr, vLen);
        return R.Ok;
      },
    },
    proxy_add_header_map_value: {
      fn: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) =>
        editMap(type, kPtr, kLen, vPtr, vLen, addHeader),
      trace: keyValue,
    },
    proxy_replace_header_map_value: {
      fn: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) =>
        editMap(type, kPtr, kLen, vPtr, vLen, setHeader),
      trace: keyValue,
    },
    proxy_remove_header_map_value: {
      fn: (type: number, kPtr: number, kLen: number) => editMap(type, kPtr, kLen, 0, 0, removeHeader),
      trace: (type: number, kPtr: number, kLen: number) => [type >>> 0, readHeader(kPtr, kLen)],
    },
    proxy_get_header_map_pairs: {
      fn: (type: number, ptrPtr: number, sizePtr: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        mem.copyOut(encodePairs(constMap(type) ?? []), ptrPtr, sizePtr);
        return R.Ok;
      },
    },
    proxy_set_header_map_pairs: {
      fn: (type: number, ptr: number, size: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        const bytes = mem.read(ptr, size);
        const map = mutableMap(type);
        if (!map) return R.BadArgument;
        const pairs = decodeModulePairs(h, bytes, "proxy_set_header_map_pairs");
        map.length = 0;
        for (const [k, v] of pairs) addHeader(map, k, v);
        edited(type);
        return R.Ok;
      },
      trace: (type: number, ptr: number, size: number) => [type >>> 0, decodePairs(mem.read(ptr, size))],
    },
    proxy_get_header_map_size: {
      fn: (type: number, out: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        const map = mutableMap(type);
        if (!map) return R.BadArgument;
        mem.writeU32(
          out,
          map.reduce((n, [k, v]) => n + headerBytes(k).length + headerBytes(v).length, 0),
        );
        return R.Ok;
      },
    },
  };
}
