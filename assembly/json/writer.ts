// JsonWriter: builds compact JSON text as UTF-8 bytes.
//
// Commas are written automatically: a comma goes before any key or value that
// follows another value at the same level. The writer never traps; calls in a
// wrong order (a value where a key is due) simply produce invalid JSON.

import { putByte, unitAt } from "./utf8";
import { JsonValue, JsonKind, FLAG_TRUE } from "./value";
import { ByteSink } from "./bytes";
import {
  JsonDoc,
  TAPE_KIND_MASK,
  TAPE_FLAG,
  wrapNode,
  tapeObjectDuplicates,
  scanStringEnd,
  scanNumberEnd,
  DUPS_NONE,
} from "./tape";
import { writeUnsigned } from "./number_format";
import { escapeLetter } from "./escape";
import { compactInto } from "./source";
import { parseJsonPrefix } from "./parse";
import { ByteWriter } from "./bytewriter";

export class JsonWriter extends ByteWriter {
  /** A value was just completed at the current level: the next key or value needs a comma. */
  private needComma: bool = false;
  /** Explicit stack of open containers for value(), reused between calls. */
  private frames: WriteFrame[] = [];
  private depth: i32 = 0;

  constructor(initialCapacity: i32 = 256) {
    super(initialCapacity);
  }

  /** Writes the comma a new key or value needs, if any. */
  // @ts-ignore: decorator
  @inline private separate(): void {
    if (this.needComma) this.put1(0x2c);
  }

  // --- structure ------------------------------------------------------------

  beginObject(): JsonWriter {
    this.separate();
    this.put1(0x7b);
    this.needComma = false;
    return this;
  }

  endObject(): JsonWriter {
    this.put1(0x7d);
    this.needComma = true;
    return this;
  }

  beginArray(): JsonWriter {
    this.separate();
    this.put1(0x5b);
    this.needComma = false;
    return this;
  }

  endArray(): JsonWriter {
    this.put1(0x5d);
    this.needComma = true;
    return this;
  }

  /** Writes a member name and its colon (with a comma before it when needed). */
  key(k: string): JsonWriter {
    this.separate();
    this.writeQuoted(k);
    this.put1(0x3a);
    this.needComma = false;
    return this;
  }

  // --- scalars --------------------------------------------------------------

  /** A string value, escaped per RFC 8259 and written as UTF-8. */
  string(s: string): JsonWriter {
    this.separate();
    this.writeQuoted(s);
    this.needComma = true;
    return this;
  }

  /** A string value from UTF-8 bytes, escaped without a UTF-16 detour; invalid bytes become U+FFFD. */
  stringFromUtf8(bytes: Uint8Array): JsonWriter {
    this.separate();
    this.writeQuotedUtf8(bytes.dataStart, bytes.length);
    this.needComma = true;
    return this;
  }

  /** A number in JavaScript's shortest round-trip form; NaN and +-Infinity are written as null. */
  number(n: f64): JsonWriter {
    this.separate();
    this.writeNumber(n);
    this.needComma = true;
    return this;
  }

  integer(n: i64): JsonWriter {
    this.separate();
    let p = this.reserve(21);
    let o = 0;
    let magnitude: u64;
    if (n < 0) {
      putByte(p, 0x2d);
      o = 1;
      magnitude = <u64>-(n + 1) + 1; // safe for i64.MIN_VALUE
    } else {
      magnitude = <u64>n;
    }
    o += writeUnsigned(p + <usize>o, magnitude);
    this.len += o;
    this.needComma = true;
    return this;
  }

  bool(b: bool): JsonWriter {
    this.separate();
    this.writeLiteral(b ? 1 : 2);
    this.needComma = true;
    return this;
  }

  null(): JsonWriter {
    this.separate();
    this.writeLiteral(0);
    this.needComma = true;
    return this;
  }

  /** A member name given as the content of an unescaped string of `src` (between its quotes). */
  keyFromSource(src: Uint8Array, start: i32, end: i32): JsonWriter {
    this.separate();
    this.putQuotedSource(src, start, end);
    this.put1(0x3a);
    this.needComma = false;
    return this;
  }

  /**
   * A string value whose content is given as escaped text (valid inside a
   * JSON string, as found between the quotes of parsed strings), in pieces:
   * beginEscapedString(), escapedPart() for each piece, endEscapedString().
   */
  beginEscapedString(): JsonWriter {
    this.separate();
    this.put1(0x22);
    return this;
  }

  /** Bytes [start, end) of `src` inside the string begun by beginEscapedString, as they are. */
  escapedPart(src: Uint8Array, start: i32, end: i32): JsonWriter {
    if (start >= 0 && end <= src.length && start < end) this.putBytes(src.dataStart + <usize>start, end - start);
    return this;
  }

  endEscapedString(): JsonWriter {
    this.put1(0x22);
    this.needComma = true;
    return this;
  }

  /** Bytes around the JSON (framing such as an SSE prefix), written as they are: no comma before or after. */
  framing(bytes: Uint8Array): JsonWriter {
    this.putBytes(bytes.dataStart, bytes.length);
    return this;
  }

  /** Trusted, already serialized JSON, copied as is. */
  raw(bytes: Uint8Array): JsonWriter {
    this.separate();
    this.putBytes(bytes.dataStart, bytes.length);
    this.needComma = true;
    return this;
  }

  /**
   * Compact serialization of `v`. Parsed strings and numbers are copied from
   * their source text. An object whose names repeat is written with each name
   * once, at its first position, with its last value (as JSON.parse then
   * JSON.stringify would).
   */
  value(v: JsonValue): JsonWriter {
    this.separate();
    if (changetype<usize>(v) == 0) this.writeLiteral(0);
    else if (v.isUnparsed()) this.writeUnparsed(v);
    else if (v.kind == JsonKind.Array || v.kind == JsonKind.Object) this.writeContainer(v);
    else this.writeScalar(v);
    this.needComma = true;
    return this;
  }

  /**
   * Sends the output to `sink` as it is written: whenever the buffer is full
   * its bytes go to the sink and it is reused, so the writer holds about its
   * initial capacity whatever the output's size. Check `failed` at the end
   * (and call flush()).
   */
  sendTo(sink: ByteSink): JsonWriter {
    this.sink = sink;
    return this;
  }

  /**
   * The compact form of the valid value in [start, end) of `src`, in which no
   * object repeats a name (compactInto(src, start, end, 0) >= 0): whitespace
   * outside strings is dropped; with a sink, runs of 4 KiB or more go to it
   * as views of `src`, without a copy.
   */
  compactSource(src: Uint8Array, start: i32, end: i32): JsonWriter {
    this.separate();
    this.compactRuns(src, start, end);
    this.needComma = true;
    return this;
  }

  /**
   * Writes a container made by sourceValue() from its text: compacted in
   * place when no object in it repeats a name (or spells one with escapes),
   * else parsed and written as value() writes parsed containers.
   */
  private writeUnparsed(v: JsonValue): void {
    let src = v._src!;
    let n = compactInto(src, v._start, v._end, 0);
    if (n >= 0 && this.sink !== null && n > this.buf.byteLength) {
      this.compactRuns(src, v._start, v._end);
      return;
    }
    if (n >= 0) {
      let p = this.reserve(n);
      compactInto(src, v._start, v._end, p);
      this.len += n;
      return;
    }
    v.parseSource();
    this.writeContainer(v);
  }

  /** Writes a scalar value (not a container). */
  private writeScalar(v: JsonValue): void {
    switch (v.kind) {
      case JsonKind.Null: {
        this.writeLiteral(0);
        break;
      }
      case JsonKind.Bool: {
        this.writeLiteral((v._flags & FLAG_TRUE) != 0 ? 1 : 2);
        break;
      }
      case JsonKind.Number: {
        let src = v._src;
        if (src !== null) this.putBytes(v.sourcePtr(src), v._end - v._start);
        else this.writeNumber(v._num);
        break;
      }
      case JsonKind.String: {
        let text = v._text;
        let src = v._src;
        if (text !== null) this.writeQuoted(text);
        else if (src !== null) this.putQuotedSource(src, v._start, v._end);
        else this.writeQuoted("");
        break;
      }
      default:
        this.writeLiteral(0);
    }
  }

  /** Writes a scalar tape node (copying source text for strings and numbers). */
  private writeNodeScalar(doc: JsonDoc, node: i32): void {
    let w0 = doc.word(node);
    let kind = w0 & TAPE_KIND_MASK;
    if (kind == JsonKind.String) {
      let start = doc.payload(node);
      this.putQuotedSource(doc.src, start, scanStringEnd(doc.src, start));
    } else if (kind == JsonKind.Number) {
      let start = doc.payload(node);
      this.putBytes(doc.src.dataStart + <usize>start, scanNumberEnd(doc.src, start) - start);
    } else if (kind == JsonKind.Bool) {
      this.writeLiteral((w0 & TAPE_FLAG) != 0 ? 1 : 2);
    } else {
      this.writeLiteral(0);
    }
  }

  /**
   * Writes an Array or Object with an explicit stack (depth cannot overflow the
   * call stack). Parsed containers are written straight from the tape; built
   * ones (and parsed objects whose names repeat) member by member.
   */
  private writeContainer(root: JsonValue): void {
    let baseDepth = this.depth;
    this.openValue(root);
    while (this.depth > baseDepth) {
      let f = unchecked(this.frames[this.depth - 1]);
      let doc = f.doc;
      if (doc !== null) {
        // Tape frame: children are consecutive nodes (name, value, ... for objects).
        // Write scalars in a tight loop; stop to descend into a child container.
        let pos = f.pos;
        let end = f.end;
        let emitted = f.emitted;
        let isObject = f.isObject;
        let descended = false;
        while (pos < end) {
          if (emitted > 0) this.put1(0x2c);
          emitted++;
          if (isObject) {
            this.writeNodeScalar(doc, pos);
            this.put1(0x3a);
            pos++;
          }
          let kind = doc.kindOf(pos);
          if (kind == JsonKind.Array || kind == JsonKind.Object) {
            f.pos = doc.payload(pos);
            f.emitted = emitted;
            this.openNode(doc, pos, kind);
            descended = true;
            break;
          }
          this.writeNodeScalar(doc, pos);
          pos++;
        }
        if (!descended) this.closeFrame(f);
        continue;
      }
      // Value frame: members of a built container, or of a deduplicated object.
      let v = f.value;
      if (v === null || f.pos >= f.end) {
        this.closeFrame(f);
        continue;
      }
      let i = f.pos;
      f.pos = i + 1;
      if (i > 0) this.put1(0x2c);
      let child: JsonValue;
      let vdoc = v._doc;
      if (vdoc !== null) {
        // A parsed object whose names repeat: each name once, with its last value.
        let index = v.objectIndex();
        this.writeQuoted(unchecked(index.names[i]));
        this.put1(0x3a);
        let node = unchecked(index.last[i]);
        let kind = vdoc.kindOf(node);
        if (kind == JsonKind.Array || kind == JsonKind.Object) this.openNode(vdoc, node, kind);
        else this.writeNodeScalar(vdoc, node);
        continue;
      }
      let items = v._items;
      if (items === null) continue;
      if (f.isObject) {
        let index = v._index;
        if (f.dedupe && index !== null) {
          this.writeQuoted(unchecked(index.names[i]));
          child = unchecked(items[unchecked(index.last[i])]);
        } else {
          let names = v._names;
          if (names !== null) this.writeScalar(unchecked(names[i]));
          else this.writeQuoted("");
          child = unchecked(items[i]);
        }
        this.put1(0x3a);
      } else {
        child = unchecked(items[i]);
      }
      if (child.kind == JsonKind.Array || child.kind == JsonKind.Object) this.openValue(child);
      else this.writeScalar(child);
    }
  }

  /** Opens a container value: from its tape when parsed, else member by member. */
  private openValue(v: JsonValue): void {
    let doc = v._doc;
    if (doc !== null) {
      this.openNode(doc, v._node, v.kind);
      return;
    }
    let f = this.pushFrame();
    f.value = v;
    f.isObject = v.kind == JsonKind.Object;
    f.dedupe = false;
    let items = v._items;
    f.end = items === null ? 0 : items.length;
    this.put1(f.isObject ? 0x7b : 0x5b);
  }

  /** Opens a parsed container; an object whose names repeat goes through a deduplicating value frame. */
  private openNode(doc: JsonDoc, node: i32, kind: JsonKind): void {
    let isObject = kind == JsonKind.Object;
    if (isObject && tapeObjectDuplicates(doc, node) != DUPS_NONE) {
      let v = wrapNode(doc, node);
      if (v.hasDuplicateNames()) {
        let index = v.objectIndex();
        let f = this.pushFrame();
        f.value = v;
        f.isObject = true;
        f.dedupe = true;
        f.end = index.names.length;
        this.put1(0x7b);
        return;
      }
    }
    let f = this.pushFrame();
    f.doc = doc;
    f.pos = node + 1;
    f.end = doc.payload(node);
    f.isObject = isObject;
    this.put1(isObject ? 0x7b : 0x5b);
  }

  private pushFrame(): WriteFrame {
    let frames = this.frames;
    let depth = this.depth;
    let f: WriteFrame;
    if (depth < frames.length) {
      f = unchecked(frames[depth]);
    } else {
      f = new WriteFrame();
      frames.push(f);
    }
    f.value = null;
    f.doc = null;
    f.pos = 0;
    f.end = 0;
    f.emitted = 0;
    f.dedupe = false;
    this.depth = depth + 1;
    return f;
  }

  private closeFrame(f: WriteFrame): void {
    this.put1(f.isObject ? 0x7d : 0x5d);
    f.value = null;
    f.doc = null;
    this.depth--;
  }
}

/** One open container while value() writes. */
class WriteFrame {
  /** Value frame: the container whose members are written by index. */
  value: JsonValue | null = null;
  /** Tape frame: the document whose nodes [pos, end) are the children. */
  doc: JsonDoc | null = null;
  /** Next child: node (tape frame) or member index (value frame). */
  pos: i32 = 0;
  /** End node (tape frame) or member count (value frame). */
  end: i32 = 0;
  /** Children written so far (tape frames). */
  emitted: i32 = 0;
  isObject: bool = false;
  /** Members come from the object's name index (repeated names collapsed). */
  dedupe: bool = false;
}

/**
 * Bytes JsonWriter.string(s) writes for `s`, quotes included: an exact size
 * for a writer (escapes counted, a lone surrogate as its 6-byte escape).
 */
export function quotedLength(s: string): i32 {
  let n = s.length;
  let bytes = 2;
  for (let i = 0; i < n; i++) {
    let c = unitAt(s, i);
    if (c < 0x80) {
      let e = escapeLetter(c);
      bytes += e == 0 ? 1 : e == 0x75 ? 6 : 2;
    } else if (c < 0x800) {
      bytes += 2;
    } else if ((c & 0xf800) == 0xd800) {
      if (c < 0xdc00 && i + 1 < n && (unitAt(s, i + 1) & 0xfc00) == 0xdc00) {
        bytes += 4;
        i++;
      } else {
        bytes += 6;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/** Compact JSON text of `v`. */
export function stringifyJson(v: JsonValue): string {
  let w = new JsonWriter(64);
  w.value(v);
  return w.toString();
}

/**
 * Compact JSON text of the valid value in [start, end) of `src`, exactly
 * sized: compacted from the text when no object in it repeats a name, else
 * parsed and serialized.
 */
export function serializeSource(src: Uint8Array, start: i32, end: i32): Uint8Array {
  let n = compactInto(src, start, end, 0);
  if (n >= 0) {
    let out = new Uint8Array(n);
    compactInto(src, start, end, out.dataStart);
    return out;
  }
  let r = parseJsonPrefix(src, start);
  let v = r.value;
  return v !== null ? serializeJson(v) : new Uint8Array(0);
}

/** Compact JSON text of `v` as UTF-8 bytes. */
export function serializeJson(v: JsonValue): Uint8Array {
  let w = new JsonWriter(64);
  w.value(v);
  return w.toBytes();
}
