// Header maps: a list of (key, value) pairs, and the proxy-wasm wire encoding
//   u32 count, count x (u32 keyLen, u32 valueLen), then key NUL value NUL ...
// (little-endian). An empty map may be 0 or 4 bytes long.

export class HeaderPair {
  constructor(
    public key: string,
    public value: string,
  ) {}
}

export type Headers = Array<HeaderPair>;

/** First value of `key` (compared case-insensitively), or null. */
export function findHeader(headers: Headers, key: string): string | null {
  for (let i = 0; i < headers.length; i++) {
    if (sameHeaderName(headers[i].key, key)) return headers[i].value;
  }
  return null;
}

/** Header names compare with ASCII letters case-folded (names are ASCII). */
function sameHeaderName(a: string, b: string): bool {
  const n = a.length;
  if (n != b.length) return false;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x == y) continue;
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x != y) return false;
  }
  return true;
}

/** Encodes pairs in the proxy-wasm header-map format. */
export function encodeHeaders(headers: Headers): Uint8Array {
  const n = headers.length;
  const keys = new Array<ArrayBuffer>(n);
  const values = new Array<ArrayBuffer>(n);
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const k = String.UTF8.encode(headers[i].key);
    const v = String.UTF8.encode(headers[i].value);
    keys[i] = k;
    values[i] = v;
    size += k.byteLength + v.byteLength + 2;
  }
  const out = new Uint8Array(size);
  const base = out.dataStart;
  store<u32>(base, n);
  let p = base + 4;
  for (let i = 0; i < n; i++) {
    store<u32>(p, keys[i].byteLength);
    store<u32>(p + 4, values[i].byteLength);
    p += 8;
  }
  for (let i = 0; i < n; i++) {
    memory.copy(p, changetype<usize>(keys[i]), keys[i].byteLength);
    p += keys[i].byteLength;
    store<u8>(p++, 0);
    memory.copy(p, changetype<usize>(values[i]), values[i].byteLength);
    p += values[i].byteLength;
    store<u8>(p++, 0);
  }
  return out;
}

/**
 * Decodes a header map. Malformed input (sizes that run past the end) yields
 * the pairs that fit, never a trap.
 */
export function decodeHeaders(data: Uint8Array): Headers {
  const out = new Array<HeaderPair>();
  const len = data.length;
  if (len < 4) return out;
  const base = data.dataStart;
  const count = load<u32>(base);
  // Each pair needs at least 8 bytes of sizes and 2 NULs.
  if (<u64>count * 10 + 4 > <u64>len) return out;
  let sizes = base + 4;
  let p: usize = 4 + <usize>count * 8;
  for (let i: u32 = 0; i < count; i++) {
    const kl = <usize>load<u32>(sizes);
    const vl = <usize>load<u32>(sizes + 4);
    sizes += 8;
    if (<u64>p + <u64>kl + <u64>vl + 2 > <u64>len) break;
    const key = String.UTF8.decodeUnsafe(base + p, kl);
    p += kl + 1;
    const value = String.UTF8.decodeUnsafe(base + p, vl);
    p += vl + 1;
    out.push(new HeaderPair(key, value));
  }
  return out;
}
