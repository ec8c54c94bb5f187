// Properties as Envoy's Wasm filter answers proxy_get_property: the stream's
// own values (set by the gateway or by proxy_set_property), then the
// built-in ones (plugin_*, route/cluster names, request.*, response.*), then
// the host-wide ones. Values go to the module as bytes: text as UTF-8,
// integers as 8 bytes little-endian, header maps serialized.

import { encodePairs, utf8 } from "./abi/pairs.ts";
import { firstValue } from "./header-map.ts";
import type { StreamState } from "./filter-chain/state.ts";
import type { HostOptions, PropertyValue } from "./types.ts";

/** The value of a property path (segments), or undefined when there is none (NotFound). */
export function lookupProperty(
  options: HostOptions,
  s: StreamState | undefined,
  segments: string[],
): PropertyValue | undefined {
  const key = segments.join(".");
  const own = s?.properties.get(key);
  if (own !== undefined) return own;
  const builtin = builtinProperty(options, s, segments);
  if (builtin !== undefined) return builtin;
  return options.properties?.[key];
}

function builtinProperty(options: HostOptions, s: StreamState | undefined, seg: string[]): PropertyValue | undefined {
  const [top, sub, third] = seg;
  if (seg.length === 1) {
    switch (top) {
      case "plugin_name":
        return options.pluginName ?? "";
      case "plugin_root_id":
        return options.rootId ?? "";
      case "plugin_vm_id":
        return options.vmId ?? "";
      case "route_name":
        return s?.routeName;
      case "cluster_name":
        return s?.clusterName;
    }
  }
  if (top === "xds" && seg.length === 2) {
    if (sub === "route_name") return s?.routeName;
    if (sub === "cluster_name") return s?.clusterName;
  }
  if (!s) return undefined;
  if (top === "request") return requestProperty(s, seg);
  if (top === "response") {
    const map = s.res.map;
    if (!map) return undefined;
    switch (sub) {
      case "code": {
        const st = Number(firstValue(map, ":status"));
        return Number.isFinite(st) ? BigInt(st) : undefined;
      }
      case "code_details":
        return s.localResponse?.details;
      case "headers":
        return third === undefined ? map.filter(([k]) => !k.startsWith(":")) : firstValue(map, third.toLowerCase());
    }
  }
  return undefined;
}

/** Like Envoy's request.* attributes: only while the request map is available. */
function requestProperty(s: StreamState, seg: string[]): PropertyValue | undefined {
  const [, sub, third] = seg;
  const map = s.readableMap(s.req);
  if (!map) return sub === "protocol" ? s.protocol : undefined;
  const path = firstValue(map, ":path");
  const q = path?.indexOf("?") ?? -1;
  if (seg.length === 1) return undefined;
  switch (sub) {
    case "path":
      return path;
    case "url_path":
      return path === undefined ? undefined : q >= 0 ? path.slice(0, q) : path;
    case "query":
      return path === undefined ? undefined : q >= 0 ? path.slice(q + 1) : "";
    case "host":
      return firstValue(map, ":authority");
    case "scheme":
      return firstValue(map, ":scheme");
    case "method":
      return firstValue(map, ":method");
    case "id":
      return firstValue(map, "x-request-id");
    case "useragent":
      return firstValue(map, "user-agent");
    case "referer":
      return firstValue(map, "referer");
    case "protocol":
      return s.protocol;
    case "headers":
      return third === undefined ? map : firstValue(map, third.toLowerCase());
  }
  return undefined;
}

function int64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt.asIntN(64, v), true);
  return out;
}

/** The bytes the module receives for a property value. */
export function serializeProperty(v: PropertyValue): Uint8Array {
  if (typeof v === "string") return utf8(v);
  if (v instanceof Uint8Array) return v;
  if (typeof v === "bigint") return int64(v);
  if (typeof v === "number") return int64(BigInt(Math.trunc(v)));
  if (typeof v === "boolean") return new Uint8Array([v ? 1 : 0]);
  return encodePairs(v);
}
