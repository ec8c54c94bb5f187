// Escaping inside JSON strings (RFC 8259): which ASCII bytes need an escape
// and which one, a four-lane check for UTF-16 text, and the escapes themselves.

import { putByte, hexDigit } from "./utf8";

/**
 * For ASCII byte c: 0 when it is written as is inside a string, otherwise the
 * letter of its two-character escape, or 'u' for the \u00XX form.
 */
// @ts-ignore: decorator
@lazy const ESCAPE_LETTER = memory.data<u8>([
  // 0x00 .. 0x1F
  0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x62, 0x74, 0x6e, 0x75, 0x66, 0x72, 0x75, 0x75, 0x75, 0x75, 0x75,
  0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75,
  // 0x20 .. 0x2F: '"' is escaped
  0, 0, 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  // 0x50 .. 0x5F: '\\' is escaped
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);

// @ts-ignore: decorator
@inline export function escapeLetter(c: u32): u32 {
  return <u32>load<u8>(ESCAPE_LETTER + <usize>c);
}

/** True when one of four ASCII UTF-16 lanes of `w` is a control character, '"' or '\\'. */
// @ts-ignore: decorator
@inline export function needsEscape4(w: u64): bool {
  const LANE_ONES: u64 = 0x0001000100010001;
  const LANE_HIGHS: u64 = 0x8000800080008000;
  let control = (w - 0x0020002000200020) & ~w & LANE_HIGHS;
  let q = w ^ 0x0022002200220022;
  let quote = (q - LANE_ONES) & ~q & LANE_HIGHS;
  let b = w ^ 0x005c005c005c005c;
  let backslash = (b - LANE_ONES) & ~b & LANE_HIGHS;
  return (control | quote | backslash) != 0;
}

/** Writes the escape of ASCII c whose letter is e ('u' for \u00XX); returns its length. */
export function putEscape(p: usize, c: u32, e: u32): usize {
  putByte(p, 0x5c);
  if (e != 0x75) {
    putByte(p + 1, e);
    return 2;
  }
  return putUnicodeEscape(p, c);
}

/** Writes \uXXXX (lowercase hex) for code unit c; returns 6. */
export function putUnicodeEscape(p: usize, c: u32): usize {
  putByte(p, 0x5c);
  putByte(p + 1, 0x75);
  putByte(p + 2, hexDigit((c >> 12) & 0xf));
  putByte(p + 3, hexDigit((c >> 8) & 0xf));
  putByte(p + 4, hexDigit((c >> 4) & 0xf));
  putByte(p + 5, hexDigit(c & 0xf));
  return 6;
}
