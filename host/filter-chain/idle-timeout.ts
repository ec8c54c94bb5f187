// Envoy's stream idle timeout: one real (unref'd) timer per stream, re-armed
// by any input or continue, stopped when the stream ends; when it fires the
// stream gets Envoy's 504/408 "stream timeout" reply, or a reset.

import { LogLevel } from "../abi/constants.ts";
import { utf8 } from "../abi/pairs.ts";
import type { Chain } from "./chain.ts";
import { applyLocalResponse, makeLocalResponse, requestLocalResponse, resetStream } from "./replies.ts";
import type { StreamState } from "./state.ts";

/** Envoy's stream idle timeout answer body. */
export const STREAM_TIMEOUT_BODY = "stream timeout";

/** (Re)starts the stream idle timer: any input or continue counts as activity. */
export function armIdle(c: Chain, s: StreamState): void {
  const ms = c.host.idleTimeoutMs;
  if (ms <= 0 || s.stopped) return;
  if (s.idleTimer) clearTimeout(s.idleTimer);
  s.idleTimer = setTimeout(() => c.host.run(() => idleTimeout(c, s)), ms);
  s.idleTimer.unref();
  c.timed.add(s);
}

/** The stream ended: no more timers. */
export function settle(c: Chain, s: StreamState): void {
  s.finished = true;
  if (s.idleTimer) clearTimeout(s.idleTimer);
  s.idleTimer = undefined;
  c.timed.delete(s);
}

/**
 * Envoy's stream idle timeout: 504 "stream timeout" when the request was
 * complete (408 otherwise), details stream_idle_timeout; straight to the
 * client when response headers are held, through the filter chain when
 * there is no response yet, a reset once the response started.
 */
function idleTimeout(c: Chain, s: StreamState): void {
  s.idleTimer = undefined;
  c.timed.delete(s);
  if (s.stopped) return;
  const status = s.req.input === "closed" ? 504 : 408;
  c.host.hostLog(
    LogLevel.info,
    `stream ${s.id}: stream idle timeout after ${c.host.idleTimeoutMs} ms: ${status} stream timeout`,
    s.id,
  );
  const lr = makeLocalResponse(status, utf8(STREAM_TIMEOUT_BODY), [], "stream_idle_timeout", -1);
  if (s.res.headers === "released") {
    s.localResponse ??= lr;
    resetStream(c, s, "stream_idle_timeout");
    return;
  }
  s.reply = "none";
  s.pendingReply = null;
  if (requestLocalResponse(s, lr)) applyLocalResponse(c, s);
}

/** Stops every stream idle timer (the host is closing). */
export function stopTimers(c: Chain): void {
  for (const s of c.timed) if (s.idleTimer) clearTimeout(s.idleTimer);
  c.timed.clear();
}
