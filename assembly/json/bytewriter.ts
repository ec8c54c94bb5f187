// ByteWriter: the output buffer under JsonWriter. It grows, or (sendTo) hands
// full buffers to a sink so that an output of any size is written in pieces;
// it writes JSON's leaves (literals, numbers, escaped strings) and copies
// source text, compacted, straight to the sink when runs are long.

import {
  byteAt,
  putByte,
  unitAt,
  putCodePoint,
  utf8SequenceLength,
  REPLACEMENT,
  skipPlainBytes,
  utf8ToString,
  stringPtr,
} from "./utf8";
import { scanStringEnd } from "./tape";
import { writeNumberText } from "./number_format";
import { escapeLetter, needsEscape4, putEscape, putUnicodeEscape } from "./escape";
import { ByteSink } from "./bytes";

/** Runs of source text from this length on go to a writer's sink as views, without a copy (compactSource). */
const RUN_BYTES: i32 = 4096;

/** UTF-16 code units handled per buffer reservation in string(). */
const STRING_CHUNK: i32 = 4096;

export class ByteWriter {
  protected buf: ArrayBuffer;
  protected len: i32 = 0;
  /** Where full buffers go (sendTo), or null: the buffer grows instead. */
  protected sink: ByteSink | null = null;
  protected sinkFailed: bool = false;

  constructor(initialCapacity: i32 = 256) {
    let cap = initialCapacity;
    if (cap < 16) cap = 16;
    if (cap > 1 << 30) cap = 1 << 30;
    this.buf = new ArrayBuffer(cap);
  }

  /** Bytes written so far. */
  get byteLength(): i32 {
    return this.len;
  }

  // --- buffer ---------------------------------------------------------------

  /** Makes room for `extra` more bytes and returns the address to write them at. */
  // @ts-ignore: decorator
  @inline protected reserve(extra: i32): usize {
    if (<i64>this.len + <i64>extra > <i64>this.buf.byteLength) this.grow(extra);
    return changetype<usize>(this.buf) + <usize>this.len;
  }

  protected grow(extra: i32): void {
    if (this.sink !== null) {
      // Sending in pieces: empty the buffer first; grow only for a single larger write.
      this.flush();
      if (extra <= this.buf.byteLength) return;
    }
    let need = <i64>this.len + <i64>extra;
    let next = <i64>this.buf.byteLength * 2;
    if (next < need) next = need;
    if (next > 0x7ffffff0) next = need; // past 2 GiB only grow by what is needed
    let grown = new ArrayBuffer(<i32>next);
    memory.copy(changetype<usize>(grown), changetype<usize>(this.buf), <usize>this.len);
    this.buf = grown;
  }

  // @ts-ignore: decorator
  @inline protected put1(c: u32): void {
    let p = this.reserve(1);
    putByte(p, c);
    this.len++;
  }

  protected putBytes(ptr: usize, n: i32): void {
    if (n <= 0) return;
    if (this.sink !== null && n > this.buf.byteLength - this.len) {
      // Sending in pieces: a long run goes through the buffer a bufferful at a time.
      while (n > 0) {
        let room = this.buf.byteLength - this.len;
        if (room == 0) {
          this.flush();
          room = this.buf.byteLength;
        }
        let k = n < room ? n : room;
        memory.copy(changetype<usize>(this.buf) + <usize>this.len, ptr, <usize>k);
        this.len += k;
        ptr += <usize>k;
        n -= k;
      }
      return;
    }
    let p = this.reserve(n);
    if (n <= 16) {
      // Short runs (names, numbers, literals): a byte loop beats a bulk copy call.
      for (let i = 0; i < n; i++) putByte(p + <usize>i, byteAt(ptr + <usize>i));
    } else {
      memory.copy(p, ptr, <usize>n);
    }
    this.len += n;
  }

  // --- output in pieces -------------------------------------------------------

  /** True when the sink refused some bytes: the output is incomplete. */
  get failed(): bool {
    return this.sinkFailed;
  }

  /** Hands what is buffered to the sink (sendTo); false when the output failed. */
  flush(): bool {
    let sink = this.sink;
    if (sink !== null && this.len > 0) {
      if (!this.sinkFailed && !sink.write(Uint8Array.wrap(this.buf, 0, this.len))) this.sinkFailed = true;
      this.len = 0;
    }
    return !this.sinkFailed;
  }

  /** compactSource without the comma bookkeeping. */
  protected compactRuns(src: Uint8Array, start: i32, end: i32): void {
    let base = src.dataStart;
    let run = start;
    let pos = start;
    while (pos < end) {
      let c = <u32>load<u8>(base + <usize>pos);
      if (c == 0x22) {
        pos = scanStringEnd(src, pos + 1) + 1;
        continue;
      }
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) {
        this.putRun(src, run, pos);
        while (pos < end) {
          let d = <u32>load<u8>(base + <usize>pos);
          if (d != 0x20 && d != 0x0a && d != 0x0d && d != 0x09) break;
          pos++;
        }
        run = pos;
        continue;
      }
      pos++;
    }
    this.putRun(src, run, pos < end ? pos : end);
  }

  /** Bytes [start, end) of `src` as they are: through the buffer, or (a long run, with a sink) straight to the sink. */
  protected putRun(src: Uint8Array, start: i32, end: i32): void {
    let n = end - start;
    if (n <= 0) return;
    let sink = this.sink;
    if (sink === null || n < RUN_BYTES) {
      this.putBytes(src.dataStart + <usize>start, n);
      return;
    }
    if (this.flush() && !sink.write(src.subarray(start, end))) this.sinkFailed = true;
  }

  // --- output ---------------------------------------------------------------

  /** A copy of the bytes written, exactly as long as the output. */
  toBytes(): Uint8Array {
    let out = new Uint8Array(this.len);
    memory.copy(out.dataStart, changetype<usize>(this.buf), <usize>this.len);
    return out;
  }

  /**
   * The bytes written, handed over without a copy: a view of the buffer (the
   * unused capacity stays with it; size the writer for the output). The
   * writer must not be used afterwards.
   */
  takeBytes(): Uint8Array {
    if (this.len == this.buf.byteLength) return Uint8Array.wrap(this.buf);
    return Uint8Array.wrap(this.buf, 0, this.len);
  }

  /** The output decoded from UTF-8. */
  toString(): string {
    return utf8ToString(changetype<usize>(this.buf), this.len);
  }

  // --- internals ------------------------------------------------------------

  /** 0: null, 1: true, 2: false */
  protected writeLiteral(which: i32): void {
    let p = this.reserve(5);
    if (which == 0) {
      store<u32>(p, 0x6c6c756e); // "null"
      this.len += 4;
    } else if (which == 1) {
      store<u32>(p, 0x65757274); // "true"
      this.len += 4;
    } else {
      store<u32>(p, 0x736c6166); // "fals"
      putByte(p + 4, 0x65); // "e"
      this.len += 5;
    }
  }

  protected writeNumber(n: f64): void {
    if (!isFinite(n)) {
      this.writeLiteral(0);
      return;
    }
    let p = this.reserve(32);
    this.len += writeNumberText(p, n);
  }

  /** Writes `s` as a quoted, escaped JSON string. */
  protected writeQuoted(s: string): void {
    this.put1(0x22);
    let n = s.length;
    let i = 0;
    while (i < n) {
      let chunkEnd = n - i > STRING_CHUNK ? i + STRING_CHUNK : n;
      // Worst case 6 bytes per code unit (\u00XX or a lone surrogate escape).
      let base = this.reserve((chunkEnd - i) * 6 + 8);
      let o: usize = 0;
      let src = stringPtr(s);
      while (i < chunkEnd) {
        // Four ASCII code units that need no escape: copy them as four bytes.
        if (i + 4 <= chunkEnd) {
          let w = load<u64>(src + ((<usize>i) << 1));
          if ((w & 0xff80ff80ff80ff80) == 0 && !needsEscape4(w)) {
            store<u32>(
              base + o,
              <u32>((w & 0xff) | ((w >> 8) & 0xff00) | ((w >> 16) & 0xff0000) | ((w >> 24) & 0xff000000)),
            );
            o += 4;
            i += 4;
            continue;
          }
        }
        let c = unitAt(s, i);
        i++;
        if (c < 0x80) {
          let e = escapeLetter(c);
          if (e == 0) {
            putByte(base + o, c);
            o++;
          } else {
            o += putEscape(base + o, c, e);
          }
          continue;
        }
        if ((c & 0xf800) == 0xd800) {
          // Surrogates: a valid pair is one code point; a lone one is escaped.
          if (c < 0xdc00 && i < n) {
            let c2 = unitAt(s, i);
            if ((c2 & 0xfc00) == 0xdc00) {
              o += <usize>putCodePoint(base + o, 0x10000 + ((c & 0x3ff) << 10) + (c2 & 0x3ff));
              i++;
              if (i > chunkEnd) chunkEnd = i; // the pair straddled the chunk end
              continue;
            }
          }
          o += putUnicodeEscape(base + o, c);
          continue;
        }
        o += <usize>putCodePoint(base + o, c);
      }
      this.len += <i32>o;
    }
    this.put1(0x22);
  }

  /** Writes `len` bytes of UTF-8 text at `ptr` as a quoted, escaped JSON string. */
  protected writeQuotedUtf8(ptr: usize, len: i32): void {
    this.put1(0x22);
    this.writeEscapedUtf8(ptr, len);
    this.put1(0x22);
  }

  /** Writes `len` bytes of UTF-8 text at `ptr` escaped as the inside of a JSON string. */
  protected writeEscapedUtf8(ptr: usize, len: i32): void {
    let pos = 0;
    while (pos < len) {
      // Copy the run of bytes that need nothing, eight at a time where possible.
      let run = skipPlainBytes(ptr, pos, len);
      while (run < len) {
        let c = byteAt(ptr + <usize>run);
        if (c >= 0x80 || escapeLetter(c) != 0) break;
        run++;
      }
      if (run > pos) {
        this.putBytes(ptr + <usize>pos, run - pos);
        pos = run;
      }
      if (pos >= len) break;
      let c = byteAt(ptr + <usize>pos);
      if (c < 0x80) {
        let p = this.reserve(6);
        this.len += <i32>putEscape(p, c, escapeLetter(c));
        pos++;
        continue;
      }
      let n = utf8SequenceLength(ptr, pos, len);
      if (n == 0) {
        let p = this.reserve(3);
        this.len += putCodePoint(p, REPLACEMENT);
        pos++;
      } else {
        this.putBytes(ptr + <usize>pos, n);
        pos += n;
      }
    }
  }

  /** Copies a parsed string's source text together with its quotes. */
  // @ts-ignore: decorator
  @inline protected putQuotedSource(src: Uint8Array, start: i32, end: i32): void {
    this.putBytes(src.dataStart + <usize>(start - 1), end - start + 2);
  }
}
