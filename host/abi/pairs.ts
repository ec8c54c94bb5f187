// Header map (pairs) serialization, byte for byte as proxy-wasm-cpp-host does it:
//   u32 count, count x (u32 key_len, u32 value_len), then for each pair
//   key bytes, NUL, value bytes, NUL. All integers little-endian.
// An empty map is sent as 0 bytes; 0 bytes or a 4-byte zero count are accepted.
//
// Header names and values are bytes on the ABI (Envoy passes them as they came
// off the wire). The host keeps them as strings: valid UTF-8 as its text, and
// each byte of an invalid UTF-8 sequence as the lone surrogate U+DC00 + byte
// (U+DC80..U+DCFF), so that any byte sequence comes back unchanged
// (headerText / headerBytes).

import type { Pairs } from "../types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// A header's bytes are kept as they are: a leading byte order mark stays.
const headerDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const strictHeaderDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/**
 * A header name or value from its bytes: valid UTF-8 as text, each byte of an
 * invalid sequence as U+DC00 + byte. headerBytes gives the bytes back.
 */
export function headerText(b: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return headerDecoder.decode(b);
  try {
    return strictHeaderDecoder.decode(b);
  } catch {
    // Not valid UTF-8: decode sequence by sequence.
  }
  let out = "";
  let i = 0;
  while (i < b.length) {
    const n = utf8SequenceLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b[i]);
      i += 1;
    } else {
      out += headerDecoder.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** The length of the well-formed UTF-8 sequence at b[i] (RFC 3629), or 0 when it is not one. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => j < b.length && b[j] >= lo && b[j] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf; // no surrogates
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf; // nothing past U+10FFFF
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** The bytes of a header name or value: UTF-8, but U+DC80..U+DCFF (from headerText) as the byte they stand for. */
export function headerBytes(s: string): Uint8Array {
  if (!/[\udc80-\udcff]/.test(s)) return encoder.encode(s);
  const parts: number[] = [];
  let run = "";
  const flush = (): void => {
    if (run) for (const x of encoder.encode(run)) parts.push(x);
    run = "";
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const lone = c >= 0xdc80 && c <= 0xdcff && !(i > 0 && isHighSurrogate(s.charCodeAt(i - 1)));
    if (lone) {
      flush();
      parts.push(c - 0xdc00);
    } else {
      run += s[i];
    }
  }
  flush();
  return Uint8Array.from(parts);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Serializes a header map. An empty map gives an empty array. */
export function encodePairs(pairs: Pairs): Uint8Array {
  if (pairs.length === 0) return new Uint8Array(0);
  const encoded = pairs.map(([k, v]) => [headerBytes(k), headerBytes(v)] as const);
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
    out.push([headerText(key), headerText(value)]);
  }
  return out;
}
