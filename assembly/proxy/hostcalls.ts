// Typed wrappers over the raw host functions: strings in, strings out.
// The host hands results back by writing (pointer, length) into two out
// slots, in memory it allocates through our exported `malloc`. That memory is
// a managed ArrayBuffer, pinned until the wrapper adopts it: the bytes the
// host wrote are the result, never copied (a 10 MiB body exists once). A
// caller that has room for a result elsewhere (a body collected chunk by
// chunk) has the host write straight there (getBufferBytesInto).

import * as imports from "./imports";
import {
  BufferTypeValues,
  LogLevelValues,
  MapTypeValues,
  MetricTypeValues,
  StreamTypeValues,
  WasmResultValues,
} from "./abi";
import { Headers, HeaderPair, decodeHeaders, encodeHeaders } from "./headers";

// Two out slots for (pointer, length) results, outside the managed heap.
const OUT_PTR: usize = memory.data(8);
const OUT_LEN: usize = memory.data(8);

/** The block handed to the host by the last malloc and not adopted yet (pinned), or 0. */
let pending: usize = 0;
/** Where the next malloc of at most `intoRoom` bytes goes instead (getBufferBytesInto), or 0. */
let into: usize = 0;
let intoRoom: usize = 0;

/**
 * Results from this size on are preceded by a full garbage collection
 * (makeRoomFor): linear memory never shrinks, and the allocator cannot reuse
 * garbage it has not been told about, so a large block would otherwise grow
 * memory while as much garbage (a request sent, a body let go) waits.
 */
export const LARGE_BYTES: i64 = 65536;

/** About to hold `bytes` more bytes: collects garbage first when they are many (see LARGE_BYTES). */
export function makeRoomFor(bytes: i64): void {
  if (bytes >= LARGE_BYTES) __collect();
}

/** Lets go of a block the host was given but did not hand back (it becomes garbage). */
function dropPending(): void {
  const p = pending;
  if (p != 0) {
    pending = 0;
    __unpin(p);
  }
}

/**
 * The exported allocator the host uses for every buffer it hands us: a
 * managed ArrayBuffer (pinned until a wrapper adopts it), or the room a
 * caller set aside for the result.
 */
export function malloc(size: usize): usize {
  if (into != 0 && size <= intoRoom) {
    const p = into;
    into = 0;
    return p;
  }
  dropPending();
  const p = __new(size, idof<ArrayBuffer>());
  __pin(p);
  pending = p;
  return p;
}

/** The host's result from the out slots: the block it filled, adopted as it is. */
function takeResult(): Uint8Array {
  const ptr = load<usize>(OUT_PTR);
  const len = <i32>load<usize>(OUT_LEN);
  if (ptr != 0 && ptr == pending) {
    const buffer = changetype<ArrayBuffer>(ptr);
    const out = Uint8Array.wrap(buffer, 0, min(len, buffer.byteLength));
    pending = 0;
    __unpin(ptr);
    return out;
  }
  // Not a block of ours (an empty result, or a host that wrote elsewhere): copied.
  const out = new Uint8Array(len);
  if (ptr != 0 && len > 0) memory.copy(out.dataStart, ptr, <usize>len);
  dropPending();
  return out;
}

function clearOut(): void {
  dropPending();
  store<usize>(OUT_PTR, 0);
  store<usize>(OUT_LEN, 0);
}

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

// ---- logging ---------------------------------------------------------------

export function log(level: LogLevelValues, message: string): void {
  const b = utf8(message);
  imports.proxy_log(<u32>level, changetype<usize>(b), b.byteLength);
}

/** The host's current log level; info when the host does not say. */
export function getLogLevel(): LogLevelValues {
  store<u32>(OUT_PTR, 2);
  if (imports.proxy_get_log_level(OUT_PTR) != WasmResultValues.Ok) return LogLevelValues.info;
  const level = load<u32>(OUT_PTR);
  return level > 5 ? LogLevelValues.critical : <LogLevelValues>level;
}

// ---- properties ------------------------------------------------------------

/** A property as raw bytes, or null when absent. Path segments are NUL-joined. */
export function getProperty(path: string[]): Uint8Array | null {
  const joined = utf8(path.join("\0"));
  clearOut();
  const r = imports.proxy_get_property(changetype<usize>(joined), joined.byteLength, OUT_PTR, OUT_LEN);
  if (r != WasmResultValues.Ok) return null;
  return takeResult();
}

/** A string property, or null when absent. */
export function getPropertyString(path: string[]): string | null {
  const b = getProperty(path);
  if (b === null) return null;
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

/**
 * Sets a property of the current stream (Envoy keeps it in the stream's filter
 * state, readable again with getProperty). Higress's Envoy also acts on some
 * names: `set_encoder_buffer_limit`, `set_decoder_buffer_limit`,
 * `clear_route_cache` (see the higress layer).
 */
export function setProperty(path: string[], value: string): WasmResultValues {
  const joined = utf8(path.join("\0"));
  const v = utf8(value);
  return <WasmResultValues>(
    imports.proxy_set_property(changetype<usize>(joined), joined.byteLength, changetype<usize>(v), v.byteLength)
  );
}

// ---- header maps -----------------------------------------------------------

export function getHeaderMapValue(map: MapTypeValues, key: string): string | null {
  const k = utf8(key);
  clearOut();
  const r = imports.proxy_get_header_map_value(<u32>map, changetype<usize>(k), k.byteLength, OUT_PTR, OUT_LEN);
  if (r != WasmResultValues.Ok) return null;
  const b = takeResult();
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

export function getHeaderMapPairs(map: MapTypeValues): Headers {
  clearOut();
  const r = imports.proxy_get_header_map_pairs(<u32>map, OUT_PTR, OUT_LEN);
  if (r != WasmResultValues.Ok) return new Array<HeaderPair>();
  return decodeHeaders(takeResult());
}

export function setHeaderMapPairs(map: MapTypeValues, headers: Headers): WasmResultValues {
  const b = encodeHeaders(headers);
  return <WasmResultValues>imports.proxy_set_header_map_pairs(<u32>map, b.dataStart, b.length);
}

export function addHeaderMapValue(map: MapTypeValues, key: string, value: string): WasmResultValues {
  const k = utf8(key);
  const v = utf8(value);
  return <WasmResultValues>(
    imports.proxy_add_header_map_value(<u32>map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength)
  );
}

export function replaceHeaderMapValue(map: MapTypeValues, key: string, value: string): WasmResultValues {
  const k = utf8(key);
  const v = utf8(value);
  return <WasmResultValues>(
    imports.proxy_replace_header_map_value(
      <u32>map,
      changetype<usize>(k),
      k.byteLength,
      changetype<usize>(v),
      v.byteLength,
    )
  );
}

export function removeHeaderMapValue(map: MapTypeValues, key: string): WasmResultValues {
  const k = utf8(key);
  return <WasmResultValues>imports.proxy_remove_header_map_value(<u32>map, changetype<usize>(k), k.byteLength);
}

// ---- buffers ---------------------------------------------------------------

/** Bytes [start, start + maxSize) of a buffer (clamped by the host); empty when absent. */
export function getBufferBytes(buffer: BufferTypeValues, start: u32, maxSize: u32): Uint8Array {
  clearOut();
  const r = imports.proxy_get_buffer_bytes(<u32>buffer, start, maxSize, OUT_PTR, OUT_LEN);
  if (r != WasmResultValues.Ok) return new Uint8Array(0);
  return takeResult();
}

/**
 * Reads bytes [start, start + maxSize) of a buffer straight into `dest` at
 * `offset` (the host writes them there: no copy), which must have room for
 * `maxSize` bytes. Returns the number of bytes read; -1 when the buffer is
 * absent or the host refuses.
 */
export function getBufferBytesInto(
  buffer: BufferTypeValues,
  start: u32,
  maxSize: u32,
  dest: Uint8Array,
  offset: i32,
): i32 {
  if (offset < 0 || offset > dest.length) return -1;
  const room = <u32>(dest.length - offset);
  const size = maxSize < room ? maxSize : room;
  clearOut();
  const at = dest.dataStart + <usize>offset;
  into = at;
  intoRoom = size;
  const r = imports.proxy_get_buffer_bytes(<u32>buffer, start, size, OUT_PTR, OUT_LEN);
  into = 0;
  if (r != WasmResultValues.Ok) {
    dropPending();
    return -1;
  }
  const ptr = load<usize>(OUT_PTR);
  const len = <i32>min(load<usize>(OUT_LEN), <usize>size);
  if (ptr == at || len == 0) {
    dropPending();
    return len;
  }
  // The host wrote elsewhere (a block of ours it asked for): copy what fits.
  memory.copy(at, ptr, <usize>len);
  dropPending();
  return len;
}

/**
 * Writes into a buffer. start 0 with length >= the buffer's size replaces the
 * whole buffer; start >= size appends.
 */
export function setBufferBytes(buffer: BufferTypeValues, start: u32, length: u32, data: Uint8Array): WasmResultValues {
  return <WasmResultValues>imports.proxy_set_buffer_bytes(<u32>buffer, start, length, data.dataStart, data.length);
}

// ---- streams ---------------------------------------------------------------

export function continueStream(stream: StreamTypeValues): WasmResultValues {
  return <WasmResultValues>imports.proxy_continue_stream(<u32>stream);
}

export function sendLocalResponse(status: u32, details: string, body: Uint8Array, headers: Headers): WasmResultValues {
  const d = utf8(details);
  const h = encodeHeaders(headers);
  return <WasmResultValues>(
    imports.proxy_send_local_response(
      status,
      changetype<usize>(d),
      d.byteLength,
      body.dataStart,
      body.length,
      h.dataStart,
      h.length,
      -1,
    )
  );
}

export function setEffectiveContext(contextId: u32): WasmResultValues {
  return <WasmResultValues>imports.proxy_set_effective_context(contextId);
}

// ---- HTTP calls ------------------------------------------------------------

/** Result of dispatching an HTTP call: the host's verdict and, when Ok, the token. */
export class HttpCallDispatch {
  constructor(
    public result: WasmResultValues,
    public token: u32,
  ) {}
}

export function httpCall(cluster: string, headers: Headers, body: Uint8Array, timeoutMs: u32): HttpCallDispatch {
  const c = utf8(cluster);
  const h = encodeHeaders(headers);
  const t = encodeHeaders(new Array<HeaderPair>());
  store<u32>(OUT_PTR, 0);
  const r = imports.proxy_http_call(
    changetype<usize>(c),
    c.byteLength,
    h.dataStart,
    h.length,
    body.dataStart,
    body.length,
    t.dataStart,
    t.length,
    timeoutMs,
    OUT_PTR,
  );
  return new HttpCallDispatch(<WasmResultValues>r, load<u32>(OUT_PTR));
}

// ---- time and metrics ------------------------------------------------------

export function getCurrentTimeNanoseconds(): u64 {
  store<u64>(OUT_PTR, 0);
  imports.proxy_get_current_time_nanoseconds(OUT_PTR);
  return load<u64>(OUT_PTR);
}

/** Defines a metric; returns its id, or u32.MAX_VALUE when the host refuses. */
export function defineMetric(type: MetricTypeValues, name: string): u32 {
  const n = utf8(name);
  store<u32>(OUT_PTR, 0);
  const r = imports.proxy_define_metric(<u32>type, changetype<usize>(n), n.byteLength, OUT_PTR);
  if (r != WasmResultValues.Ok) return u32.MAX_VALUE;
  return load<u32>(OUT_PTR);
}

export function incrementMetric(id: u32, delta: i64): void {
  if (id != u32.MAX_VALUE) imports.proxy_increment_metric(id, delta);
}

export function recordMetric(id: u32, value: u64): void {
  if (id != u32.MAX_VALUE) imports.proxy_record_metric(id, value);
}
