// Bytes for the layers above, so that code outside json/ and proxy/ needs no
// raw memory: a growable byte builder, a byte reader that never traps, and
// searches and comparisons over byte ranges.

import { unescapeToString } from "./unescape";
import { swarHasZero, swarFirstIndex } from "./utf8";

/**
 * Where output written in pieces goes (a body sent on as it is written): each
 * write hands over bytes the sink copies or sends before it returns, so the
 * caller may reuse them at once.
 */
export abstract class ByteSink {
  /** False when the bytes were refused: the output is incomplete and must not be used. */
  abstract write(bytes: Uint8Array): bool;
}

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

/** A sink that keeps what it is given, for callers that want output written in pieces as one buffer. */
export class CollectingSink extends ByteSink {
  bytes: ByteBuilder = new ByteBuilder(1024);
  write(b: Uint8Array): bool {
    this.bytes.pushBytes(b);
    return true;
  }
}

/** The byte at index `i` of `bytes`, or 0 when `i` is out of range. */
// @ts-ignore: decorator
@inline export function byteAt(bytes: Uint8Array, i: i32): u32 {
  return <u32>i < <u32>bytes.length ? <u32>load<u8>(bytes.dataStart + <usize>i) : 0;
}

/** Offset of the first LF or CR in bytes [pos, end) of `bytes` (eight bytes at a time), or `end`. */
export function lineEnd(bytes: Uint8Array, pos: i32, end: i32): i32 {
  if (end > bytes.length) end = bytes.length;
  const base = bytes.dataStart;
  while (pos + 8 <= end) {
    const w = load<u64>(base + <usize>pos);
    const m = swarHasZero(w ^ 0x0a0a0a0a0a0a0a0a) | swarHasZero(w ^ 0x0d0d0d0d0d0d0d0d);
    if (m != 0) return pos + swarFirstIndex(m);
    pos += 8;
  }
  while (pos < end) {
    const b = load<u8>(base + <usize>pos);
    if (b == 0x0a || b == 0x0d) return pos;
    pos++;
  }
  return end;
}

/** Offset of the first byte `b` in bytes [pos, end) of `bytes`, or `end`. */
export function indexOfByte(bytes: Uint8Array, b: u8, pos: i32, end: i32): i32 {
  if (end > bytes.length) end = bytes.length;
  const base = bytes.dataStart;
  while (pos < end && load<u8>(base + <usize>pos) != b) pos++;
  return pos;
}

/** Whether bytes [start, end) of `bytes` are exactly `key`. */
export function bytesEqual(bytes: Uint8Array, start: i32, end: i32, key: Uint8Array): bool {
  const n = key.length;
  if (start < 0 || end > bytes.length || end - start != n) return false;
  return memory.compare(bytes.dataStart + <usize>start, key.dataStart, <usize>n) == 0;
}

/** Blocks from this size on are allocated with headroom (allocateWithHeadroom). */
const HEADROOM_FROM: i32 = 65536;
/** Free bytes left after such a block, at most. */
const HEADROOM: i32 = 1 << 20;

/**
 * Makes `bytes` contiguous bytes free at once (a block that size is taken
 * from the allocator and given back): when memory must grow for what comes
 * next, it grows once by all of it rather than doubling at each piece.
 */
export function reserveMemory(bytes: i64): void {
  if (bytes < <i64>HEADROOM_FROM || bytes > 0x3fff0000) return;
  heap.free(heap.alloc(<usize>bytes));
}

/**
 * Prepares the allocation of one large block of `bytes` so that at least
 * min(bytes, 1 MiB) more stay free after it: a block of both sizes together
 * is taken from the allocator and given back at once. When memory must grow,
 * it then grows once by what is needed, instead of growing for the block
 * alone and doubling at the next small allocation (the allocator grows
 * linear memory by at least its current size). Call right before the
 * allocation.
 */
export function makeHeadroom(bytes: i32): void {
  if (bytes < HEADROOM_FROM) return;
  let extra = bytes < HEADROOM ? bytes : HEADROOM;
  let total = <usize>bytes + <usize>extra;
  if (total > 0x3fff0000) return;
  heap.free(heap.alloc(total));
}

/** A new array of `n` numbers holding the first `used` of `a` (all of them by default): a stack or list grown. */
export function grownArray<T>(a: StaticArray<T>, n: i32, used: i32 = a.length): StaticArray<T> {
  if (isReference<T>()) ERROR("grownArray copies numbers only");
  let b = new StaticArray<T>(n);
  memory.copy(changetype<usize>(b), changetype<usize>(a), (<usize>used) << alignof<T>());
  return b;
}
