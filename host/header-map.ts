// Header maps as Envoy keeps them: ordered pairs, lower-case keys,
// pseudo-headers first.

import type { HeadersInit, Pairs } from "./types.ts";

/** Normalizes headers: lower-case keys, string values, pseudo-headers first (as Envoy orders them). */
export function toPairs(h: HeadersInit | undefined): Pairs {
  if (!h) return [];
  const raw: Pairs = Array.isArray(h)
    ? h.map(([k, v]) => [String(k).toLowerCase(), String(v)] as [string, string])
    : Object.entries(h).flatMap(([k, v]) =>
        Array.isArray(v)
          ? v.map((x) => [k.toLowerCase(), String(x)] as [string, string])
          : [[k.toLowerCase(), String(v)] as [string, string]],
      );
  return [...raw.filter(([k]) => k.startsWith(":")), ...raw.filter(([k]) => !k.startsWith(":"))];
}

/** Adds a header the way Envoy's addCopy does: pseudo-headers stay in front. */
export function addHeader(map: Pairs, key: string, value: string): void {
  if (key.startsWith(":")) {
    let i = 0;
    while (i < map.length && map[i][0].startsWith(":")) i++;
    map.splice(i, 0, [key, value]);
  } else {
    map.push([key, value]);
  }
}

/** Sets a header: the first occurrence gets the value, later ones are removed. */
export function setHeader(map: Pairs, key: string, value: string): void {
  const i = map.findIndex(([k]) => k === key);
  if (i < 0) {
    addHeader(map, key, value);
    return;
  }
  map[i] = [key, value];
  for (let j = map.length - 1; j > i; j--) if (map[j][0] === key) map.splice(j, 1);
}

export function removeHeader(map: Pairs, key: string): void {
  for (let j = map.length - 1; j >= 0; j--) if (map[j][0] === key) map.splice(j, 1);
}

export function firstValue(map: Pairs | null, key: string): string | undefined {
  return map?.find(([k]) => k === key)?.[1];
}

/** A copy of a map (new pair arrays). */
export function copyPairs(map: Pairs | null): Pairs {
  return (map ?? []).map(([k, v]) => [k, v]);
}
