// The plugin's HTTP calls, performed for real: the call goes to its
// cluster's base URL, and its outcome goes back to the host as Envoy's async
// client reports it (an answer, a 504 timeout, a 503 refusal, a reset).

import type { ProxyWasmHost } from "../host.ts";
import type { HttpCall } from "../types.ts";
import type { ResolvedTarget } from "./config.ts";
import {
  rawToPairs,
  toNodeHeaders,
  toWire,
  type GatewayLog,
  type Timers,
  type UpstreamRequest,
  type UpstreamResponse,
  type Upstreams,
} from "./upstream.ts";

export interface CallContext {
  host: ProxyWasmHost;
  upstreams: Upstreams;
  timers: Timers;
  resolveCluster(name: string): ResolvedTarget | undefined;
  log: GatewayLog;
}

/**
 * Performs a plugin HTTP call for real and hands the outcome to the host.
 * Every call gets exactly one outcome. The timeout is armed first; a call
 * that cannot even be sent (Node refuses a header name or value, the path, or
 * anything else throws while the request is built) fails like one whose
 * connection failed before the answer's headers: Envoy's router then answers
 * the async client with its 503, which reaches the plugin as the call's
 * answer. Nothing here throws into the host.
 */
export function performCall(ctx: CallContext, call: HttpCall): void {
  const { host: h, timers, log } = ctx;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let req: UpstreamRequest | undefined;
  const settle = (f: () => void): void => {
    if (settled) return;
    settled = true;
    timers.clear(timer);
    f();
  };
  if (call.timeoutMs > 0) {
    timer = timers.set(() => {
      settle(() => {
        log(3, `http call ${call.token} to ${call.cluster} timed out after ${call.timeoutMs} ms`);
        req?.destroy();
        h.timeout(call);
      });
    }, call.timeoutMs);
  }
  // The outcome of a call that failed before its answer's headers, delivered after the plugin's callback returned.
  const refuse = (why: string): void => {
    setImmediate(() =>
      settle(() => {
        log(3, `http call ${call.token} to ${call.cluster} failed: ${why}`);
        h.refuse(call);
      }),
    );
  };
  try {
    const target = ctx.resolveCluster(call.cluster);
    if (!target) {
      // The host only dispatches known clusters; this cannot happen unless the config changed.
      refuse("unknown cluster");
      return;
    }
    const headers = ["host", toWire(call.authority), ...toNodeHeaders(call.headers, new Set(["host"]))];
    const sent = ctx.upstreams.send(target, toWire(call.method), toWire(call.path), headers);
    req = sent;
    let gotHeaders = false;
    sent.on("response", (res: UpstreamResponse) => {
      gotHeaders = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (!res.complete) return; // aborted: handled by "close"
        settle(() => h.answer(call, res.statusCode ?? 0, rawToPairs(res.rawHeaders, new Set()), Buffer.concat(chunks)));
      });
      res.on("close", () => {
        if (!res.complete) settle(() => h.reset(call));
      });
      res.on("error", () => settle(() => h.reset(call)));
    });
    sent.on("error", (err: Error) => {
      settle(() => {
        log(3, `http call ${call.token} to ${call.cluster} failed: ${redact(err.message, call)}`);
        if (gotHeaders) h.reset(call);
        else h.refuse(call);
      });
    });
    sent.end(call.body.length ? Buffer.from(call.body) : undefined);
  } catch (e) {
    if (req && !req.destroyed) {
      try {
        req.destroy();
      } catch {
        // already gone
      }
    }
    refuse(`cannot send it: ${redact(e instanceof Error ? e.message : String(e), call)}`);
  }
}

/**
 * An error message without the call's header values: some of Node's errors
 * quote the value they refuse, and a call's headers may hold a key.
 */
function redact(message: string, call: HttpCall): string {
  let out = message;
  for (const [k, v] of call.headers) {
    if (k.startsWith(":") || v.length < 4) continue;
    out = out.split(v).join(`<${k} value>`);
    out = out.split(toWire(v)).join(`<${k} value>`);
  }
  return out;
}
