// Envoy's buffered data for a direction and Envoy 1.27's per-stream buffer
// limit (the filter manager's watermark buffer): appending, the limit check
// and its local replies, set_encoder/decoder_buffer_limit, and what the
// module's body buffer (0 or 1) refers to.

import { LogLevel } from "../abi/constants.ts";
import { utf8 } from "../abi/pairs.ts";
import { ByteBuffer } from "../bytes.ts";
import type { Chain } from "./chain.ts";
import { applyLocalResponse, makeLocalResponse, requestLocalResponse } from "./replies.ts";
import type { Direction, StreamState } from "./state.ts";

/** Envoy's answer when a buffered response body passes the buffer limit (response_payload_too_large). */
export const RESPONSE_TOO_LARGE_BODY = "Internal Server Error";
/** Envoy's answer when a buffered request body passes the buffer limit (request_payload_too_large). */
export const REQUEST_TOO_LARGE_BODY = "Payload Too Large";

/** Where the module's body buffer points now (proxy_get/set_buffer_bytes on buffer 0 or 1). */
export type BodyTarget =
  { kind: "buffered"; buf: ByteBuffer } | { kind: "current"; buf: ByteBuffer } | { kind: "dead" } | { kind: "none" };

/**
 * Appends to the buffered data and checks the buffer limit (Envoy's
 * watermark buffer). Returns false when the limit tripped (the stream got
 * its local reply).
 */
export function bufferInto(c: Chain, s: StreamState, d: Direction, data: Uint8Array, inVm: boolean): boolean {
  if (!d.buffered) d.buffered = new ByteBuffer();
  d.buffered.append(data);
  return checkLimit(c, s, d, inVm);
}

/**
 * Envoy 1.27's buffer limit: the buffered data of a direction going over the
 * stream's limit answers 500 (response: Internal Server Error,
 * response_payload_too_large, straight to the client, or a reset once the
 * response started) or 413 (request: Payload Too Large,
 * request_payload_too_large, through the filter chain), unless the last
 * stop was a watermark one (then Envoy only applies back-pressure).
 * Returns false when it tripped.
 */
function checkLimit(c: Chain, s: StreamState, d: Direction, inVm: boolean): boolean {
  if (c.host.model === "ideal" || s.bufferLimit <= 0 || !d.buffered) return true;
  const len = d.buffered.length;
  if (d.overLimit && len < s.bufferLimit / 2) d.overLimit = false; // below the low watermark
  if (len <= s.bufferLimit || d.overLimit) return true;
  d.overLimit = true;
  if (d.streaming) return true;
  const lr =
    d.kind === "response"
      ? makeLocalResponse(500, utf8(RESPONSE_TOO_LARGE_BODY), [], "response_payload_too_large", -1)
      : makeLocalResponse(413, utf8(REQUEST_TOO_LARGE_BODY), [], "request_payload_too_large", -1);
  c.host.hostLog(
    LogLevel.info,
    `stream ${s.id}: ${d.kind} data too large: ${len} bytes buffered, over the buffer limit of ${s.bufferLimit}; Envoy answers ${lr.status}`,
    s.id,
  );
  if (!requestLocalResponse(s, lr)) return false;
  if (inVm) c.host.after(() => applyLocalResponse(c, s));
  else applyLocalResponse(c, s);
  return false;
}

/** Sets the stream's buffer limit (proxy_set_property set_encoder/decoder_buffer_limit); re-checks what is held. */
export function setBufferLimit(c: Chain, s: StreamState, limit: number): void {
  s.bufferLimit = limit;
  for (const d of [s.res, s.req]) if (!checkLimit(c, s, d, true)) return;
}

/** What the module's body buffer (0 or 1) refers to now. */
export function bodyTarget(s: StreamState, d: Direction): BodyTarget {
  if (d.bufferingView && d.buffered) return { kind: "buffered", buf: d.buffered };
  if (d.current) return { kind: "current", buf: d.current };
  return { kind: d.chunkRef };
}

/** The module wrote to the buffered data (proxy_set_buffer_bytes): Envoy's watermark buffer checks at once. */
export function bufferWritten(c: Chain, s: StreamState, d: Direction): void {
  checkLimit(c, s, d, true);
}
