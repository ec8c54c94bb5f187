// Whole bodies, collected in the plugin rather than in Envoy.
//
// Why: Higress's Envoy (1.27) answers 500 (response) or 413 (request) itself
// as soon as the body it buffers for a filter passes the stream's buffer limit
// (32 KiB per connection by default in Higress, 64 KiB for HTTP/2 clients),
// and its Wasm filter, once a body callback returned StopIterationAndBuffer,
// shows the next callback the data buffered BEFORE the current chunk: with an
// HTTP/2 upstream the end-of-stream callback then sees the body without its
// last DATA frame, and that frame is appended after whatever the plugin wrote
// (envoy#35884, envoy#36227; fixed upstream in 1.32 by adding the chunk to the
// buffer before the callback).
//
// How: every chunk before the end of the stream is copied here and the callback
// returns StopIterationNoBuffer. Envoy then buffers nothing (its limit cannot
// fire while the body is collected) and keeps its "buffering" flag off, so each
// callback sees exactly its own chunk, the last HTTP/2 frame included. At the
// end of the stream the whole body is here, and:
//   - finishing in the callback: the output (a new body, or the original one)
//     is written over the current chunk with set_buffer_bytes and the callback
//     returns Continue;
//   - pausing: the callback returns StopIterationAndBuffer, so Envoy buffers
//     exactly that last chunk; the output later replaces that buffer (start 0,
//     length >= its size) before the stream is continued. Nothing arrives after
//     the end of the stream, so nothing is ever appended to what was written.
// A body larger than `maxBytes` passes through byte for byte: what was
// collected is put back in front of the current chunk, and every later chunk
// continues untouched. The stream's buffer limit is raised (Higress's
// `set_encoder_buffer_limit` / `set_decoder_buffer_limit` properties) so the
// one buffer Envoy does hold, the output, stays under it.
//
// Works the same on Envoy builds that carry the 1.32 fix: with NoBuffer the
// fix's code path is never taken.
//
// Not covered: a body followed by trailers (gRPC-style HTTP/2). The body
// callbacks then never see the end of the stream, and the trailers callback
// has no body buffer to write into; callers should leave such streams alone
// (a `trailer` response header announces them).

import {
  BufferTypeValues,
  FilterDataStatusValues,
  WasmResultValues,
  getBufferBytes,
  getBufferBytesInto,
  getPropertyString,
  makeRoomFor,
  setBufferBytes,
  setProperty,
} from "../proxy";
import { ByteSink, reserveMemory } from "../json";

export enum BodyDirection {
  Request,
  Response,
}

/** What a body callback should do after `BodyCollector.onData`. */
export enum CollectStep {
  /** Not the end yet: return StopIterationNoBuffer. */
  More,
  /** The body passed `maxBytes`: it has been put back; return Continue (and for every later chunk). */
  TooLarge,
  /** End of stream: `body()` is the whole body. */
  Complete,
}

/** Where the collection is. */
export enum BodyState {
  Collecting,
  /** Too large: passed through untouched. */
  PassedThrough,
  /** In the end-of-stream callback: writes go over the current chunk. */
  Complete,
  /** After the end-of-stream callback returned StopIterationAndBuffer: writes replace Envoy's buffer. */
  Held,
  /** The output went on (continued or restored); nothing more to write. */
  Released,
}

/** Default `maxBytes`: 10 MiB. */
export const DEFAULT_MAX_BODY_BYTES: i64 = 10 * 1024 * 1024;
const MIB: i64 = 1024 * 1024;
const U32_MAX: i64 = 4294967295;

/**
 * The buffer limit a stream needs to collect bodies of up to `maxBytes` and
 * write an output up to twice as large: 2 x maxBytes + 1 MiB (a chunk read
 * past maxBytes, headroom for outputs that grow, such as escaped JSON).
 */
export function bufferLimitFor(maxBytes: i64): i64 {
  const limit = maxBytes * 2 + MIB;
  return limit > U32_MAX ? U32_MAX : limit;
}

/** Envoy's property that sets the stream's buffer limit for a direction (Higress). */
export function bufferLimitProperty(direction: BodyDirection): string {
  return direction == BodyDirection.Response ? "set_encoder_buffer_limit" : "set_decoder_buffer_limit";
}

/** Decimal digits to a number; -1 when `s` is not 1 to 10 digits. */
function parseDecimal(s: string): i64 {
  if (s.length == 0 || s.length > 10) return -1;
  let v: i64 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Raises the stream's buffer limit to at least `bytes` through Higress's
 * property (decimal bytes, a u32). A larger value some plugin already set on
 * this stream is kept: the limit is shared by all filters of the stream.
 * Returns the limit in force as far as the plugin can tell.
 */
export function raiseBufferLimit(direction: BodyDirection, bytes: i64): i64 {
  const name = bufferLimitProperty(direction);
  const current = getPropertyString([name]);
  if (current !== null) {
    const v = parseDecimal(current);
    if (v >= bytes) return v;
  }
  const value = bytes > U32_MAX ? U32_MAX : bytes;
  setProperty([name], value.toString());
  return value;
}

/** Parses a content-length header value; -1 when absent or not a plain decimal number. */
export function contentLengthOf(value: string | null): i64 {
  if (value === null) return -1;
  return parseDecimal(value.trim());
}

/** Room of a segment for small chunks of a body whose length is not known. */
const SEGMENT: i32 = 65536;

/**
 * Collects one direction's body of one stream. See the top of this file.
 *
 * Memory: the host writes each chunk straight into the collector (no copy of
 * its own). A body whose content-length is known is read into one buffer of
 * exactly that size; a body that arrives whole in one callback is the host's
 * block itself. Any other body is kept as segments (small chunks share 64 KiB
 * segments, a larger chunk is its own) and joined once at the end, so
 * collecting a body of n bytes holds at most 2n + 64 KiB, never a buffer
 * grown by doubling.
 */
export class BodyCollector {
  state: BodyState = BodyState.Collecting;
  /** Bytes seen so far (collected, or passed through once too large). */
  size: i64 = 0;
  /** The stream's buffer limit once raised; an output larger than this is refused. */
  limit: i64 = 0;
  /** True once an output replaced the body (no restore needed). */
  written: bool = false;
  /** Segments filled so far, in order; `current` is being filled. */
  private segments: Uint8Array[] = [];
  private current: Uint8Array = new Uint8Array(0);
  private used: i32 = 0;
  private whole: Uint8Array = new Uint8Array(0);

  /**
   * `maxBytes`: the largest body collected; `expected`: the content-length
   * when known (-1 otherwise), to read the body into one buffer of that size.
   */
  constructor(
    public direction: BodyDirection,
    public maxBytes: i64,
    public expected: i64 = -1,
  ) {}

  get bufferType(): BufferTypeValues {
    return this.direction == BodyDirection.Response
      ? BufferTypeValues.HttpResponseBody
      : BufferTypeValues.HttpRequestBody;
  }

  /** Raises the stream's buffer limit for this body (see bufferLimitFor). */
  raiseLimit(): void {
    this.limit = raiseBufferLimit(this.direction, bufferLimitFor(this.maxBytes));
  }

  /**
   * Call from the body callback with its arguments. Reads the current chunk
   * (exactly that chunk: nothing was buffered by Envoy) and says what to do.
   */
  onData(chunkSize: u32, endOfStream: bool): CollectStep {
    if (this.state != BodyState.Collecting) return CollectStep.TooLarge; // passed through, or data after the end
    const held = this.size;
    this.size += <i64>chunkSize;
    if (this.size > this.maxBytes) {
      // Put what was held back in front of this chunk (the chunk itself is never read); the rest flows on.
      this.putBack();
      this.state = BodyState.PassedThrough;
      return CollectStep.TooLarge;
    }
    if (endOfStream && held == 0) {
      // The whole body in one callback: the host's block is the body.
      makeRoomFor(<i64>chunkSize);
      this.whole = chunkSize > 0 ? getBufferBytes(this.bufferType, 0, chunkSize) : new Uint8Array(0);
      this.state = BodyState.Complete;
      return CollectStep.Complete;
    }
    if (chunkSize > 0) this.read(<i32>chunkSize);
    if (!endOfStream) return CollectStep.More;
    const pieces = this.segments.length + (this.used > 0 ? 1 : 0);
    this.whole = this.join();
    if (pieces > 1) makeRoomFor(<i64>this.whole.length); // the segments are garbage now
    this.state = BodyState.Complete;
    return CollectStep.Complete;
  }

  /** Reads the current chunk into the segment being filled, or a new one. */
  private read(n: i32): void {
    const type = this.bufferType;
    if (this.current.length - this.used < n) {
      this.closeSegment();
      const collected = <i32>this.size - n;
      let room = SEGMENT;
      if (collected == 0 && this.expected >= this.size && this.expected <= this.maxBytes) room = <i32>this.expected;
      if (collected == 0 || room < n) makeRoomFor(<i64>(room > n ? room : n));
      if (room < n) {
        // A large chunk is a segment of its own: the host's block.
        this.segments.push(getBufferBytes(type, 0, <u32>n));
        return;
      }
      this.current = new Uint8Array(room);
    }
    const got = getBufferBytesInto(type, 0, <u32>n, this.current, this.used);
    if (got > 0) this.used += got;
  }

  /** Moves the filled part of the current segment to the list. */
  private closeSegment(): void {
    if (this.used > 0) {
      const c = this.current;
      this.segments.push(this.used == c.length ? c : c.subarray(0, this.used));
    }
    this.current = new Uint8Array(0);
    this.used = 0;
  }

  /** The collected segments as one buffer: the only one as it is, several copied once into an exact buffer. */
  private join(): Uint8Array {
    this.closeSegment();
    const segments = this.segments;
    this.segments = [];
    if (segments.length == 0) return new Uint8Array(0);
    if (segments.length == 1) return segments[0];
    let total = 0;
    for (let i = 0; i < segments.length; i++) total += segments[i].length;
    makeRoomFor(<i64>total);
    // Room for the joined body and as much again (what the body is turned into: a request, an
    // output), reserved in one step: memory grows once by that, not by doubling twice.
    reserveMemory(<i64>total * 2 + <i64>(total >> 4) + 65536);
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      memory.copy(out.dataStart + <usize>at, s.dataStart, <usize>s.length);
      at += s.length;
    }
    return out;
  }

  /** Too large: what was held goes back in front of the current chunk, in order; nothing is kept. */
  private putBack(): void {
    this.closeSegment();
    const segments = this.segments;
    this.segments = [];
    // Each write with start 0 and length 0 goes in front: the last segment first.
    for (let i = segments.length - 1; i >= 0; i--) setBufferBytes(this.bufferType, 0, 0, segments[i]);
  }

  /** The whole body (valid from CollectStep.Complete until released). */
  body(): Uint8Array {
    return this.whole;
  }

  /**
   * Writes `data` as the body: over the current chunk during the end-of-stream
   * callback, over Envoy's buffer while held. False when there is nothing to
   * write into (still collecting, passed through, released), when `data` is
   * larger than the stream's buffer limit (Envoy would answer 500/413), or when
   * the host refuses.
   */
  write(data: Uint8Array): bool {
    if (this.state != BodyState.Complete && this.state != BodyState.Held) return false;
    if (this.limit > 0 && <i64>data.length > this.limit) return false;
    // start 0 and a length past the end replace the whole buffer (i32 max, as the Go SDK passes).
    if (setBufferBytes(this.bufferType, 0, <u32>i32.MAX_VALUE, data) != WasmResultValues.Ok) return false;
    this.written = true;
    return true;
  }

  /**
   * Writes one piece of an output written in pieces (BodyOutput): the first
   * replaces the body as write() does, the others are appended. `total` is the
   * output's size with this piece, checked against the stream's buffer limit.
   */
  writePart(data: Uint8Array, first: bool, total: i64): bool {
    if (this.state != BodyState.Complete && this.state != BodyState.Held) return false;
    if (this.limit > 0 && total > this.limit) return false;
    // Appending: any start at or past the buffer's end (Envoy's Buffer::copyFrom).
    const start: u32 = first ? 0 : <u32>i32.MAX_VALUE;
    const length: u32 = first ? <u32>i32.MAX_VALUE : 0;
    if (setBufferBytes(this.bufferType, start, length, data) != WasmResultValues.Ok) return false;
    this.written = true;
    return true;
  }

  /**
   * The end-of-stream callback is returning `action`: writes the original body
   * back when the stream goes on and nothing replaced it, and returns the
   * action to give Envoy (any stop becomes StopIterationAndBuffer, so Envoy
   * buffers the last chunk and a later write has a buffer to replace).
   */
  finishCallback(action: FilterDataStatusValues): FilterDataStatusValues {
    if (this.state != BodyState.Complete) return action;
    if (action == FilterDataStatusValues.Continue) {
      this.release();
      return FilterDataStatusValues.Continue;
    }
    this.state = BodyState.Held;
    return FilterDataStatusValues.StopIterationAndBuffer;
  }

  /**
   * The stream is about to go on (continue, or the end-of-stream callback
   * returning Continue): the original body is written back unless an output
   * replaced it, and the collected bytes are let go.
   */
  release(): void {
    if (this.state != BodyState.Complete && this.state != BodyState.Held) return;
    if (!this.written && this.whole.length > 0) {
      setBufferBytes(this.bufferType, 0, <u32>i32.MAX_VALUE, this.whole);
    }
    this.whole = new Uint8Array(0);
    this.state = BodyState.Released;
  }
}

/**
 * The body written in pieces, as an output is produced (JsonWriter.sendTo):
 * no whole copy of it is ever held. If a piece is refused, the output stops
 * and the original body is written back when the stream goes on (as when
 * nothing replaced it).
 */
export class BodyOutput extends ByteSink {
  /** Bytes written so far. */
  size: i64 = 0;
  /** False once a piece was refused. */
  ok: bool = true;
  private started: bool = false;

  constructor(public collector: BodyCollector) {
    super();
  }

  write(bytes: Uint8Array): bool {
    if (!this.ok) return false;
    const total = this.size + <i64>bytes.length;
    if (!this.collector.writePart(bytes, !this.started, total)) {
      this.ok = false;
      this.collector.written = false;
      return false;
    }
    this.started = true;
    this.size = total;
    return true;
  }
}
