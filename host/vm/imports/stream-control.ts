// proxy_continue_stream, proxy_close_stream and proxy_send_local_response.
// They only record what to do: the filter chain applies it after the VM
// call returns (the VM is never re-entered).

import { LogLevel, STREAM_TYPE_MAX, StreamType, WasmResult as R } from "../../abi/constants.ts";
import { decodePairs } from "../../abi/pairs.ts";
import { makeLocalResponse } from "../../filter-chain/replies.ts";
import { decodeModulePairs } from "./headers.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

export function streamControlImports(h: ImportHost): ImportGroup {
  const { mem, chain } = h;
  return {
    proxy_continue_stream: {
      fn: (type: number) => {
        const t = type >>> 0;
        if (t > STREAM_TYPE_MAX) return R.BadArgument;
        if (t === StreamType.Upstream) return R.Unimplemented;
        if (t === StreamType.Downstream) return R.Ok;
        const s = h.effectiveStream();
        if (!s) {
          h.hostLog(
            LogLevel.warn,
            "proxy_continue_stream called from the root context: no stream is resumed (call proxy_set_effective_context first)",
          );
          return R.Ok;
        }
        if (t === StreamType.Response) s.resumed++;
        else s.resumedRequest++;
        // Envoy drops its request-side pointers on continue.
        s.req.mapOpen = false;
        const d = t === StreamType.Response ? s.res : s.req;
        h.after(() => chain.resume(s, d));
        return R.Ok;
      },
      trace: (type: number) => [type >>> 0],
    },
    proxy_close_stream: {
      fn: (type: number) => {
        const t = type >>> 0;
        if (t > STREAM_TYPE_MAX) return R.BadArgument;
        const s = h.effectiveStream();
        if (s && (t === StreamType.Request || t === StreamType.Response)) {
          h.after(() => chain.resetStream(s, "wasm_close_stream"));
        }
        return R.Ok;
      },
      trace: (type: number) => [type >>> 0],
    },
    proxy_send_local_response: {
      fn: (
        status: number,
        dPtr: number,
        dLen: number,
        bPtr: number,
        bLen: number,
        hPtr: number,
        hLen: number,
        grpc: number,
      ) => {
        const details = mem.readString(dPtr, dLen).replace(/\s/g, "_");
        const body = mem.read(bPtr, bLen);
        const headers = decodeModulePairs(h, mem.read(hPtr, hLen), "proxy_send_local_response");
        const s = h.effectiveStream();
        if (!s) {
          h.hostLog(LogLevel.warn, "proxy_send_local_response called without a stream context: ignored");
          return R.Ok;
        }
        if (!chain.requestLocalResponse(s, makeLocalResponse(status >>> 0, body, headers, details, grpc | 0)))
          return R.BadArgument;
        h.after(() => chain.applyLocalResponse(s));
        return R.Ok;
      },
      trace: (
        status: number,
        dPtr: number,
        dLen: number,
        _bPtr: number,
        bLen: number,
        hPtr: number,
        hLen: number,
        grpc: number,
      ) => [status >>> 0, mem.readString(dPtr, dLen), bLen >>> 0, decodePairs(mem.read(hPtr, hLen)), grpc | 0],
    },
  };
}
