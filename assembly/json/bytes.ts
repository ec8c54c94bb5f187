// Bytes for the layers above, so that code outside json/ and proxy/ needs no
// raw memory: a growable byte builder, and a byte reader that never traps.

import { unescapeToString } from "./unescape";

/** A growable byte buffer: append bytes, then take them out as a Uint8Array. */
export class ByteBuilder {
  private buf: Uint8Array;
  private len: i32 = 0;

  /** `initialCapacity` bytes are reserved; the buffer doubles when it is full. */
  constructor(initialCapacity: i32 = 256) {
    this.buf = new Uint8Array(initialCapacity < 1 ? 1 : initialCapacity);
  }

  /** Bytes appended so far. */
  get length(): i32 {
    return this.len;
  }

  /** Forgets the bytes appended so far; the capacity stays. */
  clear(): void {
    this.len = 0;
  }

  /** Appends one byte. */
  pushByte(b: u8): void {
    this.reserve(1);
    store<u8>(this.buf.dataStart + <usize>this.len, b);
    this.len++;
  }

  /** Appends bytes [start, end) of `src` (bounds are clamped to `src`). */
  pushRange(src: Uint8Array, start: i32, end: i32): void {
    if (start < 0) start = 0;
    if (end > src.length) end = src.length;
    const n = end - start;
    if (n <= 0) return;
    this.reserve(n);
    memory.copy(this.buf.dataStart + <usize>this.len, src.dataStart + <usize>start, <usize>n);
    this.len += n;
  }

  /** Appends all of `src`. */
  pushBytes(src: Uint8Array): void {
    this.pushRange(src, 0, src.length);
  }

  /** Appends `s` encoded as UTF-8. */
  pushString(s: string): void {
    const b = String.UTF8.encode(s);
    const n = b.byteLength;
    if (n == 0) return;
    this.reserve(n);
    memory.copy(this.buf.dataStart + <usize>this.len, changetype<usize>(b), <usize>n);
    this.len += n;
  }

  /** The bytes appended so far, without a copy: valid until the builder changes. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** The bytes appended so far, read as the (escaped) content of a JSON string. */
  escapedText(): string {
    return unescapeToString(this.buf.dataStart, this.len);
  }

  /** A copy of the bytes appended so far; the builder goes on. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    memory.copy(out.dataStart, this.buf.dataStart, <usize>this.len);
    return out;
  }

  /**
   * The bytes appended so far, handed over: without a copy when they fill the
   * buffer exactly (size the builder for that), else copied. The builder is
   * empty afterwards.
   */
  takeBytes(): Uint8Array {
    let out: Uint8Array;
    if (this.len == this.buf.length) {
      out = this.buf;
      this.buf = new Uint8Array(1);
    } else {
      out = this.toBytes();
    }
    this.len = 0;
    return out;
  }

  /** Makes room for `n` more bytes, doubling the capacity as often as needed. */
  private reserve(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    memory.copy(next.dataStart, this.buf.dataStart, <usize>this.len);
    this.buf = next;
  }
}

/** The byte at index `i` of `bytes`, or 0 when `i` is out of range. */
// @ts-ignore: decorator
@inline export function byteAt(bytes: Uint8Array, i: i32): u32 {
  return <u32>i < <u32>bytes.length ? <u32>load<u8>(bytes.dataStart + <usize>i) : 0;
}
