// The plugin's HTTP calls, performed for real: the call goes to its
// cluster's base URL, and its outcome goes back to the host as Envoy's async
// client reports it (an answer, a 504 timeout, a 503 refusal, a reset).

import type { ProxyWasmHost } from "../host.ts";
import type { HttpCall } from "../types.ts";
import type { ResolvedTarget } from "./config.ts";
import {
  rawToPairs,
  toNodeHeaders,
  type GatewayLog,
  type Timers,
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

/** Performs a plugin HTTP call for real and hands the outcome to the host. */
export function performCall(ctx: CallContext, call: HttpCall): void {
  const { host: h, timers, log } = ctx;
  const target = ctx.resolveCluster(call.cluster);
  if (!target) {
    // The host only dispatches known clusters; this cannot happen unless the config changed.
    setImmediate(() => h.refuse(call));
    return;
  }
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const settle = (f: () => void): void => {
    if (settled) return;
    settled = true;
    timers.clear(timer);
    f();
  };
  const headers = ["host", call.authority, ...toNodeHeaders(call.headers, new Set(["host"]))];
  const req = ctx.upstreams.send(target, call.method, call.path, headers);
  if (call.timeoutMs > 0) {
    timer = timers.set(() => {
      settle(() => {
        log(3, `http call ${call.token} to ${call.cluster} timed out after ${call.timeoutMs} ms`);
        req.destroy();
        h.timeout(call);
      });
    }, call.timeoutMs);
  }
  let gotHeaders = false;
  req.on("response", (res: UpstreamResponse) => {
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
  req.on("error", (err: Error) => {
    settle(() => {
      log(3, `http call ${call.token} to ${call.cluster} failed: ${err.message}`);
      if (gotHeaders) h.reset(call);
      else h.refuse(call);
    });
  });
  req.end(call.body.length ? Buffer.from(call.body) : undefined);
}
