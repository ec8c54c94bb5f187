// Text of compile errors and validation messages: quoted strings and keyword
// values, numbers as written, one-line messages.

import { JsonValue, stringifyJson } from "../json";

// Longest keyword value quoted in an error message (enum lists, const values).
const MAX_QUOTE: i32 = 200;

/** A JSON string literal for `s`. */
export function quote(s: string): string {
  let parts = new Array<string>();
  let n = s.length;
  let start = 0;
  parts.push('"');
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = '\\"';
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20) esc = "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    if (esc !== null) {
      if (i > start) parts.push(s.substring(start, i));
      parts.push(esc);
      start = i + 1;
    }
  }
  if (n > start) parts.push(s.substring(start, n));
  parts.push('"');
  return parts.join("");
}

/** Compact JSON text of a keyword value for messages, cut at MAX_QUOTE characters. */
export function quoteValue(v: JsonValue): string {
  let t = stringifyJson(v);
  if (t.length > MAX_QUOTE) t = t.substring(0, MAX_QUOTE) + "...";
  return t;
}

/** A number as written in the document (trimmed, cut if absurdly long). */
export function numberText(v: JsonValue): string {
  let t = v.rawText().trim();
  if (t.length == 0) t = v.asNumber().toString();
  if (t.length > 40) t = t.substring(0, 40) + "...";
  return t;
}

/** `s` with control characters written as JSON escapes (\n, \u0001...), so it stays on one line. */
export function oneLine(s: string): string {
  let n = s.length;
  let parts = new Array<string>();
  let start = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x20) continue;
    if (i > start) parts.push(s.substring(start, i));
    if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else parts.push("\\u00" + (c < 0x10 ? "0" : "") + c.toString(16));
    start = i + 1;
  }
  if (start == 0) return s;
  if (n > start) parts.push(s.substring(start, n));
  return parts.join("");
}
