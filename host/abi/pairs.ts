// Header map (pairs) serialization, byte for byte as proxy-wasm-cpp-host does it:
//   u32 count, count x (u32 key_len, u32 value_len), then for each pair
//   key bytes, NUL, value bytes, NUL. All integers little-endian.
// An empty map is sent as 0 bytes; 0 bytes or a 4-byte zero count are accepted.

import type { Pairs } from "../types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Serializes a header map. An empty map gives an empty array. */
export function encodePairs(pairs: Pairs): Uint8Array {
  if (pairs.length === 0) return new Uint8Array(0);
  const encoded = pairs.map(([k, v]) => [utf8(k), utf8(v)] as const);
  let size = 4 + 8 * encoded.length;
  for (const [k, v] of encoded) size += k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, encoded.length, true);
  let off = 4;
  for (const [k, v] of encoded) {
    view.setUint32(off, k.length, true);
    view.setUint32(off + 4, v.length, true);
    off += 8;
  }
  for (const [k, v] of encoded) {
    out.set(k, off);
    off += k.length + 1; // the NUL is already 0
    out.set(v, off);
    off += v.length + 1;
  }
  return out;
}

/**
 * Parses a serialized header map. Returns null when the bytes are malformed
 * (truncated, sizes past the end, missing NUL terminators).
 */
export function decodePairs(bytes: Uint8Array): Pairs | null {
  if (bytes.length === 0) return [];
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (count === 0) return [];
  if (4 + count * 8 > bytes.length) return null;
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    sizes.push([view.getUint32(4 + i * 8, true), view.getUint32(8 + i * 8, true)]);
  }
  let off = 4 + count * 8;
  const out: Pairs = [];
  for (const [klen, vlen] of sizes) {
    if (off + klen + 1 + vlen + 1 > bytes.length) return null;
    const key = bytes.subarray(off, off + klen);
    off += klen;
    if (bytes[off] !== 0) return null;
    off += 1;
    const value = bytes.subarray(off, off + vlen);
    off += vlen;
    if (bytes[off] !== 0) return null;
    off += 1;
    out.push([fromUtf8(key), fromUtf8(value)]);
  }
  return out;
}
