// proxy_http_call, proxy_get_status, and the gRPC functions (Unimplemented).
// Calls belong to the root context; the answer comes back through
// ProxyWasmHost.answer()/timeout()/refuse()/reset().

import { LogLevel, ROOT_ID, WasmResult as R } from "../../abi/constants.ts";
import { decodePairs, fromUtf8, utf8 } from "../../abi/pairs.ts";
import { errorMessage } from "../../bytes.ts";
import { firstValue, setHeader } from "../../header-map.ts";
import type { HttpCall } from "../../types.ts";
import { decodeModulePairs } from "./headers.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

export function httpCallImports(h: ImportHost): ImportGroup {
  const { mem } = h;

  const clusterKnown = (name: string): boolean => {
    const c = h.options.clusters;
    if (c === undefined) return true;
    return typeof c === "function" ? c(name) : c.includes(name);
  };

  const clusterUnhealthy = (name: string): boolean => {
    const c = h.options.unhealthyClusters;
    if (c === undefined) return false;
    return typeof c === "function" ? c(name) : c.includes(name);
  };

  const unimplemented = { fn: () => R.Unimplemented };

  return {
    proxy_http_call: {
      fn: (
        upPtr: number,
        upLen: number,
        hPtr: number,
        hLen: number,
        bPtr: number,
        bLen: number,
        tPtr: number,
        tLen: number,
        timeoutMs: number,
        tokenPtr: number,
      ) => {
        const cluster = mem.readString(upPtr, upLen);
        const body = mem.read(bPtr, bLen);
        const headers = decodeModulePairs(h, mem.read(hPtr, hLen), "proxy_http_call headers");
        const trailers = decodeModulePairs(h, mem.read(tPtr, tLen), "proxy_http_call trailers");
        mem.writeU32(tokenPtr, 0); // verifies the out-pointer before dispatching
        if ((timeoutMs | 0) < 0) return R.BadArgument;
        if (!clusterKnown(cluster)) return R.BadArgument;
        const method = firstValue(headers, ":method");
        const path = firstValue(headers, ":path");
        const authority = firstValue(headers, ":authority");
        if (method === undefined || path === undefined || authority === undefined) return R.BadArgument;
        // No healthy endpoint: Envoy's router answers 503 before send() returns, send() gives
        // nothing, the call fails at once and its answer never comes.
        if (clusterUnhealthy(cluster)) return R.InternalFailure;
        if (body.length) setHeader(headers, "content-length", String(body.length));
        const token = h.nextCallToken();
        const call: HttpCall = {
          token,
          cluster,
          headers,
          body,
          trailers,
          timeoutMs: timeoutMs | 0,
          streamId: h.effective(),
          rootContextId: ROOT_ID,
          method,
          path,
          authority,
          get bodyText() {
            return fromUtf8(body);
          },
        };
        h.pending.set(token, call);
        mem.writeU32(tokenPtr, token);
        try {
          h.options.onHttpCall?.(call);
        } catch (e) {
          // Nobody will answer this call: it fails at once, as a call Envoy's async client cannot
          // send (send() gives nothing), instead of leaving its stream paused for good.
          h.pending.delete(token);
          mem.writeU32(tokenPtr, 0);
          h.hostLog(LogLevel.error, `onHttpCall hook failed: ${errorMessage(e)}; the call fails with InternalFailure`);
          return R.InternalFailure;
        }
        return R.Ok;
      },
      trace: (
        upPtr: number,
        upLen: number,
        hPtr: number,
        hLen: number,
        _bPtr: number,
        bLen: number,
        tPtr: number,
        tLen: number,
        timeoutMs: number,
      ) => [
        mem.readString(upPtr, upLen),
        decodePairs(mem.read(hPtr, hLen)),
        bLen >>> 0,
        decodePairs(mem.read(tPtr, tLen)),
        timeoutMs | 0,
      ],
    },
    proxy_get_status: {
      fn: (codePtr: number, msgPtr: number, msgLen: number) => {
        const status = h.callStatus();
        mem.writeU32(codePtr, status.code);
        mem.copyOut(utf8(status.message), msgPtr, msgLen);
        return R.Ok;
      },
    },
    proxy_grpc_call: unimplemented,
    proxy_grpc_stream: unimplemented,
    proxy_grpc_close: unimplemented,
    proxy_grpc_cancel: unimplemented,
    proxy_grpc_send: unimplemented,
  };
}
