// JSON pointers (RFC 6901) and URI fragments, for `$ref` resolution and for
// the `#/...` locations in compile errors.

/** A location for messages: very long pointers keep their start and end. */
export function shortPointer(p: string): string {
  if (p.length <= 120) return p;
  return p.substring(0, 50) + "..." + p.substring(p.length - 50);
}

/** JSON-pointer escaping of one reference token: `~` -> `~0`, `/` -> `~1`. */
export function escapeToken(s: string): string {
  if (s.indexOf("~") < 0 && s.indexOf("/") < 0) return s;
  return s.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Reverses escapeToken; null on a `~` not followed by 0 or 1. */
export function unescapeToken(s: string): string | null {
  let i = s.indexOf("~");
  if (i < 0) return s;
  let parts = new Array<string>();
  let start = 0;
  while (i >= 0) {
    if (i + 1 >= s.length) return null;
    let c = s.charCodeAt(i + 1);
    if (c != 0x30 && c != 0x31) return null;
    parts.push(s.substring(start, i));
    parts.push(c == 0x30 ? "~" : "/");
    start = i + 2;
    i = s.indexOf("~", start);
  }
  parts.push(s.substring(start));
  return parts.join("");
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Decodes %XX escapes (UTF-8 bytes) in a URI fragment; null on a malformed escape. */
export function percentDecode(s: string): string | null {
  if (s.indexOf("%") < 0) return s;
  let parts = new Array<string>();
  let n = s.length;
  let i = 0;
  let start = 0;
  while (i < n) {
    if (s.charCodeAt(i) != 0x25) {
      i++;
      continue;
    }
    if (i > start) parts.push(s.substring(start, i));
    let bytes = new Array<u8>();
    while (i < n && s.charCodeAt(i) == 0x25) {
      if (i + 2 >= n) return null;
      let hi = hexValue(s.charCodeAt(i + 1));
      let lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return null;
      bytes.push(<u8>((hi << 4) | lo));
      i += 3;
    }
    let buf = new Uint8Array(bytes.length);
    for (let j = 0; j < bytes.length; j++) buf[j] = bytes[j];
    parts.push(String.UTF8.decode(buf.buffer));
    start = i;
  }
  if (n > start) parts.push(s.substring(start, n));
  return parts.join("");
}

/** A JSON-pointer array index ("0", "17"; no sign, no leading zero), or -1. */
export function arrayIndex(tok: string): i32 {
  let n = tok.length;
  if (n == 0 || n > 9) return -1;
  if (n > 1 && tok.charCodeAt(0) == 0x30) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    let c = tok.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    x = x * 10 + (c - 0x30);
  }
  return x;
}
