// SHA-256 (FIPS 180-4), for values derived from the plugin configuration, and
// a comparison that takes the same time wherever two strings differ.

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];

/** The SHA-256 digest of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  const h: StaticArray<u32> = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ];
  const n = data.length;
  // Message + 0x80 + zeros + 64-bit big-endian bit length, padded to 64 bytes.
  const total = ((n + 9 + 63) >> 6) << 6;
  const msg = new Uint8Array(total);
  msg.set(data);
  msg[n] = 0x80;
  const bits: u64 = <u64>n * 8;
  for (let i = 0; i < 8; i++) msg[total - 1 - i] = <u8>(bits >> (<u64>i * 8));
  const w = new StaticArray<u32>(64);
  for (let off = 0; off < total; off += 64) {
    for (let t = 0; t < 16; t++) {
      const p = off + t * 4;
      const v =
        ((<u32>unchecked(msg[p])) << 24) |
        ((<u32>unchecked(msg[p + 1])) << 16) |
        ((<u32>unchecked(msg[p + 2])) << 8) |
        (<u32>unchecked(msg[p + 3]));
      unchecked((w[t] = v));
    }
    for (let t = 16; t < 64; t++) {
      const a = unchecked(w[t - 15]);
      const b = unchecked(w[t - 2]);
      const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
      const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
      const v = unchecked(w[t - 16]) + s0 + unchecked(w[t - 7]) + s1;
      unchecked((w[t] = v));
    }
    let a = h[0],
      b = h[1],
      c = h[2],
      d = h[3],
      e = h[4],
      f = h[5],
      g = h[6],
      k = h[7];
    for (let t = 0; t < 64; t++) {
      const s1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = k + s1 + ch + unchecked(K[t]) + unchecked(w[t]);
      const s0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = s0 + maj;
      k = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    out[i * 4] = <u8>(h[i] >>> 24);
    out[i * 4 + 1] = <u8>(h[i] >>> 16);
    out[i * 4 + 2] = <u8>(h[i] >>> 8);
    out[i * 4 + 3] = <u8>h[i];
  }
  return out;
}

/** Lower-case hex of the first `count` bytes of `bytes` (all of them by default). */
export function toHex(bytes: Uint8Array, count: i32 = -1): string {
  const n = count < 0 || count > bytes.length ? bytes.length : count;
  const digits = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = <i32>bytes[i];
    s += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return s;
}

/** True when `a` and `b` are equal; the time taken depends on the lengths only. */
export function equalsConstantTime(a: string, b: string): bool {
  if (a.length != b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff == 0;
}
