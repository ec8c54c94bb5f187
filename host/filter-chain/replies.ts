// Replies that do not come from the upstream, and resets: local replies
// (proxy_send_local_response, recorded during the VM call and applied after
// it, through the filter chain or straight to the client), fail closed's 503
// wasm_fail_stream, and stream resets.

import { fromUtf8 } from "../abi/pairs.ts";
import { addHeader, firstValue, setHeader } from "../header-map.ts";
import type { LocalResponse, Pairs } from "../types.ts";
import { onBody, onHeaders } from "./callbacks.ts";
import { vmGone, type Chain } from "./chain.ts";
import { armIdle, settle } from "./idle-timeout.ts";
import { releaseData, releaseEnd, releaseHeaders } from "./release.ts";
import type { StreamState } from "./state.ts";

/** Details of the local reply a failed VM produces (Envoy's FailStreamResponseDetails). */
export const FAIL_STREAM_DETAILS = "wasm_fail_stream";

/** A local reply as the stream shows it (HttpStream.localResponse). */
export function makeLocalResponse(
  status: number,
  body: Uint8Array,
  headers: Pairs,
  details: string,
  grpcStatus: number,
): LocalResponse {
  return { status, body, bodyText: fromUtf8(body), headers, details, grpcStatus };
}

/** Headers of a local reply: :status, the module's extra headers, then content-length/type for a body. */
function localReplyHeaders(lr: LocalResponse): Pairs {
  const map: Pairs = [[":status", String(lr.status)]];
  for (const [k, v] of lr.headers) addHeader(map, k.toLowerCase(), v);
  if (lr.body.length) {
    setHeader(map, "content-length", String(lr.body.length));
    if (!firstValue(map, "content-type")) addHeader(map, "content-type", "text/plain");
  }
  return map;
}

/** Resets the stream: it ends here, with this reason (nothing more reaches either side). */
export function resetStream(c: Chain, s: StreamState, reason: string): void {
  if (s.finished) return;
  settle(c, s);
  s.resetReason = reason;
  s.events.emit("reset", reason);
}

/**
 * Fail closed (the stream's VM failed): a 503 with no body, details
 * wasm_fail_stream and gRPC status 14, straight to the client; a reset if
 * the response already started.
 */
export function failStream(c: Chain, s: StreamState): void {
  if (s.finished || s.reply === "failure") return;
  s.reply = "failure";
  s.pendingReply = null;
  const lr = makeLocalResponse(503, new Uint8Array(0), [], FAIL_STREAM_DETAILS, 14);
  s.localResponse = lr;
  s.events.emit("local-response", lr);
  if (s.res.headers === "released") resetStream(c, s, FAIL_STREAM_DETAILS);
  else directReply(c, s, lr);
}

/** A reply sent straight to the client, bypassing the module. */
function directReply(c: Chain, s: StreamState, lr: LocalResponse): void {
  const d = s.res;
  d.map = localReplyHeaders(lr);
  d.mapOpen = true;
  d.headers = "seen";
  d.buffered = null;
  d.current = null;
  d.heldAll = false;
  d.heldAllData = false;
  d.trailers = null;
  d.trailersOpen = false;
  d.trailersPending = false;
  d.stopped = false;
  d.bufferingView = false;
  d.reach("arrived");
  releaseHeaders(c, s, d, lr.body.length === 0);
  releaseData(s, d, lr.body);
  releaseEnd(c, s, d);
}

/** proxy_send_local_response, recorded during the VM call; applied after it by applyLocalResponse. */
export function requestLocalResponse(s: StreamState, lr: LocalResponse): boolean {
  if (s.reply !== "none" || s.finished) return false;
  s.reply = "pending";
  s.pendingReply = lr;
  return true;
}

/** A local reply, applied outside the VM call that asked for it. */
export function applyLocalResponse(c: Chain, s: StreamState): void {
  const lr = s.pendingReply;
  if (s.reply === "pending") s.reply = "none";
  s.pendingReply = null;
  if (!lr || s.stopped || s.reply === "failure") return;
  s.reply = "sent";
  s.localResponse = lr;
  s.events.emit("local-response", lr);
  if (s.res.headers === "released") {
    resetStream(c, s, `local reply after the response started (${lr.details || lr.status})`);
  } else if (s.res.headers === "seen" || s.bypass || vmGone(c, s)) {
    // The response is being processed (or the module is out of the way): Envoy sends the reply directly.
    directReply(c, s, lr);
  } else {
    // No response yet: the reply goes through the filter chain, so the
    // module's own response callbacks see it (and it counts as activity).
    armIdle(c, s);
    s.res.heldAll = false;
    onHeaders(c, s, s.res, localReplyHeaders(lr), lr.body.length === 0);
    if (lr.body.length && !s.stopped) {
      s.res.reach("arrived");
      onBody(c, s, s.res, lr.body, true);
    }
  }
}
