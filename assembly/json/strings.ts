// String helpers the layers above share.

/**
 * ASCII lower-case: header names, schemes and host names are ASCII, and this
 * avoids linking the Unicode case tables of String#toLowerCase.
 */
export function asciiLower(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
    i++;
  }
  if (i == n) return s;
  const units = new Uint16Array(n);
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    units[j] = <u16>(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return String.UTF16.decodeUnsafe(units.dataStart, (<usize>n) << 1);
}
