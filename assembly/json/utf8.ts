// UTF-8 / UTF-16 helpers and the few raw-memory accessors the JSON code uses.
//
// Every function that takes a pointer documents the range it may touch; callers
// keep the managed object that owns the memory alive (a local or a field), so
// the pointer stays valid (the collector never moves objects).

// ---------------------------------------------------------------------------
// Raw memory access, kept behind small named helpers.

/** Reads the byte at `ptr`. */
// @ts-ignore: decorator
@inline export function byteAt(ptr: usize): u32 {
  return <u32>load<u8>(ptr);
}

/** Writes the low 8 bits of `b` at `ptr`. */
// @ts-ignore: decorator
@inline export function putByte(ptr: usize, b: u32): void {
  store<u8>(ptr, <u8>b);
}

/** Reads 8 bytes at `ptr` (little-endian: the byte at `ptr` is the lowest). */
// @ts-ignore: decorator
@inline export function word64At(ptr: usize): u64 {
  return load<u64>(ptr);
}

/** Reads the UTF-16 code unit at index `i` of `s` (caller checks the bound). */
// @ts-ignore: decorator
@inline export function unitAt(s: string, i: i32): u32 {
  return <u32>load<u16>(changetype<usize>(s) + ((<usize>i) << 1));
}

/** Address of the first byte of a Uint8Array's contents. */
// @ts-ignore: decorator
@inline export function bytesPtr(a: Uint8Array): usize {
  return a.dataStart;
}

/** Address of the first code unit of a string. */
// @ts-ignore: decorator
@inline export function stringPtr(s: string): usize {
  return changetype<usize>(s);
}

/** A new Uint8Array holding a copy of `len` bytes at `ptr`. */
export function copyBytes(ptr: usize, len: i32): Uint8Array {
  if (len <= 0) return new Uint8Array(0);
  let out = new Uint8Array(len);
  memory.copy(out.dataStart, ptr, <usize>len);
  return out;
}

/** Allocates a string of `units` UTF-16 code units (contents uninitialised). */
// @ts-ignore: decorator
@inline function allocString(units: i32): string {
  return changetype<string>(__new((<usize>units) << 1, idof<string>()));
}

/** Shrinks a freshly allocated string to `units` code units. */
// @ts-ignore: decorator
@inline function shrinkString(s: string, units: i32): string {
  return changetype<string>(__renew(changetype<usize>(s), (<usize>units) << 1));
}

// ---------------------------------------------------------------------------
// Word-at-a-time (SWAR) tests on 8 bytes.

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** Non-zero iff some byte of `w` is zero (the lowest flagged byte is exact). */
// @ts-ignore: decorator
@inline export function swarHasZero(w: u64): u64 {
  return (w - ONES) & ~w & HIGHS;
}

/**
 * Non-zero iff some byte of `w` needs attention inside a JSON string:
 * a control character (< 0x20), '"', '\\', or a non-ASCII byte (>= 0x80).
 * The lowest set flag marks the first such byte.
 */
// @ts-ignore: decorator
@inline export function swarStringSpecial(w: u64): u64 {
  let control = (w - 0x2020202020202020) & ~w;
  let quote = swarHasZero(w ^ 0x2222222222222222);
  let backslash = swarHasZero(w ^ 0x5c5c5c5c5c5c5c5c);
  return (control & HIGHS) | quote | backslash | (w & HIGHS);
}

/** Index (0..7) of the byte flagged by the lowest set bit of a SWAR mask. */
// @ts-ignore: decorator
@inline export function swarFirstIndex(mask: u64): i32 {
  return <i32>(ctz<u64>(mask) >> 3);
}

/**
 * Offset of the first byte at or after `pos` that swarStringSpecial flags,
 * eight bytes at a time; where fewer than eight are left before `len`, the
 * offset reached, for the caller to go on byte by byte.
 */
// @ts-ignore: decorator
@inline export function skipPlainBytes(base: usize, pos: i32, len: i32): i32 {
  while (pos + 8 <= len) {
    let mask = swarStringSpecial(word64At(base + <usize>pos));
    if (mask != 0) return pos + swarFirstIndex(mask);
    pos += 8;
  }
  return pos;
}

// ---------------------------------------------------------------------------
// UTF-8 validation.

/**
 * Length (2..4) of the valid UTF-8 sequence whose lead byte (>= 0x80) is at
 * `ptr + pos`, reading no byte at or past `end`; 0 when the sequence is invalid
 * (stray continuation byte, overlong form, UTF-16 surrogate, > U+10FFFF,
 * or truncated).
 */
export function utf8SequenceLength(ptr: usize, pos: i32, end: i32): i32 {
  let c = byteAt(ptr + <usize>pos);
  if (c < 0xc2) return 0; // continuation byte or overlong 2-byte lead
  if (c < 0xe0) {
    if (pos + 1 >= end) return 0;
    return isContinuation(byteAt(ptr + <usize>pos + 1)) ? 2 : 0;
  }
  if (c < 0xf0) {
    if (pos + 2 >= end) return 0;
    let c1 = byteAt(ptr + <usize>pos + 1);
    let c2 = byteAt(ptr + <usize>pos + 2);
    if (!isContinuation(c1) || !isContinuation(c2)) return 0;
    if (c == 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c == 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogate
    return 3;
  }
  if (c < 0xf5) {
    if (pos + 3 >= end) return 0;
    let c1 = byteAt(ptr + <usize>pos + 1);
    if (!isContinuation(c1)) return 0;
    if (!isContinuation(byteAt(ptr + <usize>pos + 2))) return 0;
    if (!isContinuation(byteAt(ptr + <usize>pos + 3))) return 0;
    if (c == 0xf0 && c1 < 0x90) return 0; // overlong
    if (c == 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

// @ts-ignore: decorator
@inline function isContinuation(b: u32): bool {
  return (b & 0xc0) == 0x80;
}

/** Code point of the valid sequence of length `n` (2..4) at `ptr`. */
// @ts-ignore: decorator
@inline export function decodeSequence(ptr: usize, n: i32): u32 {
  let c = byteAt(ptr);
  if (n == 2) return ((c & 0x1f) << 6) | (byteAt(ptr + 1) & 0x3f);
  if (n == 3) {
    return ((c & 0x0f) << 12) | ((byteAt(ptr + 1) & 0x3f) << 6) | (byteAt(ptr + 2) & 0x3f);
  }
  return (
    ((c & 0x07) << 18) | ((byteAt(ptr + 1) & 0x3f) << 12) | ((byteAt(ptr + 2) & 0x3f) << 6) | (byteAt(ptr + 3) & 0x3f)
  );
}

/** True when `len` bytes at `ptr` are well-formed UTF-8. */
export function isValidUtf8(ptr: usize, len: i32): bool {
  let pos = 0;
  while (pos < len) {
    if (pos + 8 <= len && (word64At(ptr + <usize>pos) & HIGHS) == 0) {
      pos += 8;
      continue;
    }
    if (byteAt(ptr + <usize>pos) < 0x80) {
      pos++;
      continue;
    }
    let n = utf8SequenceLength(ptr, pos, len);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Encoding a code point.

/** Writes the UTF-8 form of code point `cp` (<= 0x10FFFF) at `ptr`; returns its length. */
export function putCodePoint(ptr: usize, cp: u32): i32 {
  if (cp < 0x80) {
    putByte(ptr, cp);
    return 1;
  }
  if (cp < 0x800) {
    putByte(ptr, 0xc0 | (cp >> 6));
    putByte(ptr + 1, 0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    putByte(ptr, 0xe0 | (cp >> 12));
    putByte(ptr + 1, 0x80 | ((cp >> 6) & 0x3f));
    putByte(ptr + 2, 0x80 | (cp & 0x3f));
    return 3;
  }
  putByte(ptr, 0xf0 | (cp >> 18));
  putByte(ptr + 1, 0x80 | ((cp >> 12) & 0x3f));
  putByte(ptr + 2, 0x80 | ((cp >> 6) & 0x3f));
  putByte(ptr + 3, 0x80 | (cp & 0x3f));
  return 4;
}

/** U+FFFD REPLACEMENT CHARACTER, used for lone surrogates and invalid bytes. */
export const REPLACEMENT: u32 = 0xfffd;

// ---------------------------------------------------------------------------
// UTF-8 -> UTF-16.

/**
 * Decodes `len` bytes of UTF-8 at `ptr` into a string. Invalid bytes become
 * U+FFFD (one per byte), so any input is safe; valid input takes a fast path.
 */
export function utf8ToString(ptr: usize, len: i32): string {
  if (len <= 0) return "";
  let out = allocString(len); // never more code units than bytes
  let dst = stringPtr(out);
  let pos = 0;
  let units = 0;
  while (pos < len) {
    // Eight ASCII bytes at a time: widen each byte to a 16-bit code unit.
    if (pos + 8 <= len) {
      let w = word64At(ptr + <usize>pos);
      if ((w & HIGHS) == 0) {
        let d = dst + ((<usize>units) << 1);
        store<u64>(d, widenLow4(w));
        store<u64>(d, widenLow4(w >> 32), 8);
        pos += 8;
        units += 8;
        continue;
      }
    }
    let c = byteAt(ptr + <usize>pos);
    if (c < 0x80) {
      store<u16>(dst + ((<usize>units) << 1), <u16>c);
      pos++;
      units++;
      continue;
    }
    let n = utf8SequenceLength(ptr, pos, len);
    if (n == 0) {
      store<u16>(dst + ((<usize>units) << 1), <u16>REPLACEMENT);
      pos++;
      units++;
      continue;
    }
    let cp = decodeSequence(ptr + <usize>pos, n);
    pos += n;
    if (cp < 0x10000) {
      store<u16>(dst + ((<usize>units) << 1), <u16>cp);
      units++;
    } else {
      cp -= 0x10000;
      store<u16>(dst + ((<usize>units) << 1), <u16>(0xd800 | (cp >> 10)));
      store<u16>(dst + ((<usize>units) << 1), <u16>(0xdc00 | (cp & 0x3ff)), 2);
      units += 2;
    }
  }
  if (units == len) return out;
  return shrinkString(out, units);
}

/** Spreads the low 4 bytes of `w` into four 16-bit lanes. */
// @ts-ignore: decorator
@inline function widenLow4(w: u64): u64 {
  return (w & 0xff) | ((w & 0xff00) << 8) | ((w & 0xff0000) << 16) | ((w & 0xff000000) << 24);
}

/** Number of UTF-16 code units the valid UTF-8 text at `ptr` decodes to. */
export function utf16LengthOfUtf8(ptr: usize, len: i32): i32 {
  let units = 0;
  let pos = 0;
  while (pos < len) {
    if (pos + 8 <= len && (word64At(ptr + <usize>pos) & HIGHS) == 0) {
      pos += 8;
      units += 8;
      continue;
    }
    let c = byteAt(ptr + <usize>pos);
    // Lead bytes and ASCII start a code point; 4-byte leads need two units.
    if ((c & 0xc0) != 0x80) units++;
    if (c >= 0xf0) units++;
    pos++;
  }
  return units;
}

// ---------------------------------------------------------------------------
// UTF-16 -> UTF-8.

/** Bytes needed to encode `s` as UTF-8 with lone surrogates as U+FFFD. */
export function utf8LengthOfString(s: string): i32 {
  let n = s.length;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    let c = unitAt(s, i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if ((c & 0xfc00) == 0xd800 && i + 1 < n && (unitAt(s, i + 1) & 0xfc00) == 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Encodes `s` as UTF-8. A valid surrogate pair becomes its 4-byte form; a
 * lone surrogate becomes U+FFFD (EF BF BD), so the result is always valid UTF-8.
 */
export function stringToUtf8(s: string): Uint8Array {
  let out = new Uint8Array(utf8LengthOfString(s));
  let dst = out.dataStart;
  let n = s.length;
  let o: usize = 0;
  for (let i = 0; i < n; i++) {
    let c = unitAt(s, i);
    if (c < 0x80) {
      putByte(dst + o, c);
      o++;
      continue;
    }
    if ((c & 0xf800) == 0xd800) {
      if (c < 0xdc00 && i + 1 < n) {
        let c2 = unitAt(s, i + 1);
        if ((c2 & 0xfc00) == 0xdc00) {
          o += <usize>putCodePoint(dst + o, 0x10000 + ((c & 0x3ff) << 10) + (c2 & 0x3ff));
          i++;
          continue;
        }
      }
      c = REPLACEMENT;
    }
    o += <usize>putCodePoint(dst + o, c);
  }
  return out;
}

/**
 * True when the valid UTF-8 bytes at `ptr` decode to exactly the code units of
 * `s`. No allocation. A lone surrogate in `s` never matches (valid UTF-8 cannot
 * hold one).
 */
export function utf8EqualsString(ptr: usize, len: i32, s: string): bool {
  let n = s.length;
  if (n > len) return false; // each code unit needs at least one byte
  let pos = 0;
  let i = 0;
  while (pos < len) {
    if (i >= n) return false;
    let b = byteAt(ptr + <usize>pos);
    if (b < 0x80) {
      if (unitAt(s, i) != b) return false;
      pos++;
      i++;
      continue;
    }
    let k = utf8SequenceLength(ptr, pos, len);
    if (k == 0) return false;
    let cp = decodeSequence(ptr + <usize>pos, k);
    pos += k;
    if (cp < 0x10000) {
      if (unitAt(s, i) != cp) return false;
      i++;
    } else {
      if (i + 1 >= n) return false;
      cp -= 0x10000;
      if (unitAt(s, i) != (0xd800 | (cp >> 10))) return false;
      if (unitAt(s, i + 1) != (0xdc00 | (cp & 0x3ff))) return false;
      i += 2;
    }
  }
  return i == n;
}

// ---------------------------------------------------------------------------
// Hex digits.

/** Value 0..15 of an ASCII hex digit, or -1. */
// @ts-ignore: decorator
@inline export function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  let l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** Lowercase hex digit for 0..15. */
// @ts-ignore: decorator
@inline export function hexDigit(v: u32): u32 {
  return v < 10 ? 0x30 + v : 0x61 + v - 10;
}

/** Reads the 4 hex digits at `ptr` (caller checked they are in bounds); -1 if not hex. */
export function hex4At(ptr: usize): i32 {
  let a = hexValue(byteAt(ptr));
  let b = hexValue(byteAt(ptr + 1));
  let c = hexValue(byteAt(ptr + 2));
  let d = hexValue(byteAt(ptr + 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/** "0x7d"-style text of a byte, for error messages. */
export function byteHex(b: u32): string {
  let s = "0x";
  s += String.fromCharCode(<i32>hexDigit((b >> 4) & 0xf));
  s += String.fromCharCode(<i32>hexDigit(b & 0xf));
  return s;
}
