// Decoding the content of a JSON string literal that holds backslash escapes.
//
// Input is the text between the quotes, already checked by the parser (valid
// UTF-8, well-formed escapes); the functions still never read past `len`.

import { byteAt, putByte, hex4At, putCodePoint, REPLACEMENT, utf8SequenceLength, decodeSequence } from "./utf8";

/** The character a one-letter escape stands for, or -1 for 'u' and invalid letters. */
function simpleEscape(c: u32): i32 {
  switch (c) {
    case 0x22:
      return 0x22; // \"
    case 0x5c:
      return 0x5c; // \\
    case 0x2f:
      return 0x2f; // \/
    case 0x62:
      return 0x08; // \b
    case 0x66:
      return 0x0c; // \f
    case 0x6e:
      return 0x0a; // \n
    case 0x72:
      return 0x0d; // \r
    case 0x74:
      return 0x09; // \t
  }
  return -1;
}

/** Code unit of the \uXXXX escape whose backslash is at `pos`, or -1 if absent/invalid. */
// @ts-ignore: decorator
@inline function unicodeEscapeAt(ptr: usize, pos: i32, len: i32): i32 {
  if (pos + 6 > len) return -1;
  if (byteAt(ptr + <usize>pos) != 0x5c || byteAt(ptr + <usize>pos + 1) != 0x75) return -1;
  return hex4At(ptr + <usize>pos + 2);
}

/**
 * Decodes escaped string content to UTF-16. Lone surrogate escapes are kept as
 * the code units they name (as JavaScript does).
 */
export function unescapeToString(ptr: usize, len: i32): string {
  if (len <= 0) return "";
  // Never more code units than bytes: every escape is at least two bytes long
  // and yields at most one unit per two bytes.
  let out = changetype<string>(__new((<usize>len) << 1, idof<string>()));
  let dst = changetype<usize>(out);
  let units = 0;
  let pos = 0;
  while (pos < len) {
    let c = byteAt(ptr + <usize>pos);
    if (c == 0x5c && pos + 1 < len) {
      let e = byteAt(ptr + <usize>pos + 1);
      let simple = simpleEscape(e);
      if (simple >= 0) {
        store<u16>(dst + ((<usize>units) << 1), <u16>simple);
        units++;
        pos += 2;
        continue;
      }
      let unit = unicodeEscapeAt(ptr, pos, len);
      if (unit >= 0) {
        store<u16>(dst + ((<usize>units) << 1), <u16>unit);
        units++;
        pos += 6;
        continue;
      }
      // Malformed escape (not produced by the parser): keep the backslash.
      store<u16>(dst + ((<usize>units) << 1), <u16>c);
      units++;
      pos++;
      continue;
    }
    if (c < 0x80) {
      store<u16>(dst + ((<usize>units) << 1), <u16>c);
      units++;
      pos++;
      continue;
    }
    let n = utf8SequenceLength(ptr, pos, len);
    if (n == 0) {
      store<u16>(dst + ((<usize>units) << 1), <u16>REPLACEMENT);
      units++;
      pos++;
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
  return changetype<string>(__renew(changetype<usize>(out), (<usize>units) << 1));
}

/**
 * Decodes escaped string content to UTF-8 bytes. A \uXXXX surrogate pair
 * becomes its 4-byte form; a lone surrogate escape becomes U+FFFD (EF BF BD).
 */
export function unescapeToUtf8(ptr: usize, len: i32): Uint8Array {
  if (len <= 0) return new Uint8Array(0);
  // Output never exceeds input: \uXXXX (6 bytes) -> at most 3 bytes,
  // a pair (12 bytes) -> 4 bytes, two-byte escapes -> 1 byte.
  let tmp = new Uint8Array(len);
  let dst = tmp.dataStart;
  let o = 0;
  let pos = 0;
  while (pos < len) {
    let c = byteAt(ptr + <usize>pos);
    if (c != 0x5c || pos + 1 >= len) {
      putByte(dst + <usize>o, c);
      o++;
      pos++;
      continue;
    }
    let e = byteAt(ptr + <usize>pos + 1);
    let simple = simpleEscape(e);
    if (simple >= 0) {
      putByte(dst + <usize>o, <u32>simple);
      o++;
      pos += 2;
      continue;
    }
    let unit = unicodeEscapeAt(ptr, pos, len);
    if (unit < 0) {
      putByte(dst + <usize>o, c);
      o++;
      pos++;
      continue;
    }
    pos += 6;
    let cp = <u32>unit;
    if ((cp & 0xfc00) == 0xd800) {
      let low = unicodeEscapeAt(ptr, pos, len);
      if (low >= 0 && (low & 0xfc00) == 0xdc00) {
        cp = 0x10000 + ((cp & 0x3ff) << 10) + ((<u32>low) & 0x3ff);
        pos += 6;
      } else {
        cp = REPLACEMENT;
      }
    } else if ((cp & 0xfc00) == 0xdc00) {
      cp = REPLACEMENT;
    }
    o += putCodePoint(dst + <usize>o, cp);
  }
  if (o == len) return tmp;
  return tmp.slice(0, o);
}
