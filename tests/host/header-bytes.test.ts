// Header names and values as the host keeps them: valid UTF-8 as text, other
// bytes as U+DC80..U+DCFF, so that any byte sequence comes back unchanged
// through a header map (encodePairs / decodePairs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePairs, encodePairs } from "../../host/index.ts";
import { headerBytes, headerText } from "../../host/abi/pairs.ts";

/** A small deterministic generator (the test must give the same cases every run). */
function* byteStrings(count: number): Generator<Uint8Array> {
  let x = 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  // Bytes that start, continue or break UTF-8 sequences, a BOM, surrogates encoded as UTF-8.
  const interesting = [0x41, 0x80, 0xbf, 0xc0, 0xc2, 0xc3, 0xa9, 0xe0, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xef, 0xbb];
  for (let i = 0; i < count; i++) {
    const len = next() % 10;
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = next() % 3 === 0 ? next() % 256 : interesting[next() % interesting.length];
    yield b;
  }
  yield Uint8Array.from([0xf0, 0x9f, 0x98, 0x80, 0xf4, 0x90, 0x80, 0x80]);
}

test("any bytes round-trip; valid UTF-8 is its text; other bytes are U+DC00 + byte", () => {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (const b of byteStrings(20000)) {
    const text = headerText(b);
    assert.deepEqual(Buffer.from(headerBytes(text)), Buffer.from(b), JSON.stringify(text));
    let valid: string | undefined;
    try {
      valid = strict.decode(b);
    } catch {
      valid = undefined;
    }
    if (valid !== undefined) assert.equal(text, valid);
    else assert.match(text, /[\udc80-\udcff]/);
  }
  assert.equal(headerText(Uint8Array.from([0xff, 0xfe])), "\udcff\udcfe");
  assert.equal(headerText(Buffer.from("café")), "café");
  assert.equal(headerText(Uint8Array.from([0x63, 0x61, 0x66, 0xe9])), "caf\udce9");
  assert.equal(headerText(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41])), "\ufeffA", "a leading BOM is kept");
  // A surrogate pair is a character, not two escapes; a lone surrogate outside U+DC80..U+DCFF is U+FFFD as before.
  assert.deepEqual(Buffer.from(headerBytes("\ud83d\ude00")), Buffer.from("😀"));
  assert.deepEqual(Buffer.from(headerBytes("\udc00")), Buffer.from([0xef, 0xbf, 0xbd]));
});

test("a header map with invalid UTF-8 decodes and encodes to the same bytes", () => {
  const bytes = Uint8Array.from([
    ...[2, 0, 0, 0],
    ...[5, 0, 0, 0, 2, 0, 0, 0],
    ...[6, 0, 0, 0, 3, 0, 0, 0],
    ...Buffer.from("x-bad"),
    0,
    0xff,
    0xfe,
    0,
    ...Buffer.from("x-caf\xe9", "latin1"),
    0,
    0x61,
    0xc3,
    0xa9,
    0,
  ]);
  const pairs = decodePairs(bytes);
  assert.deepEqual(pairs, [
    ["x-bad", "\udcff\udcfe"],
    ["x-caf\udce9", "aé"],
  ]);
  assert.deepEqual(Buffer.from(encodePairs(pairs!)), Buffer.from(bytes));
});
