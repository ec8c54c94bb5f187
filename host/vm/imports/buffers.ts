// Buffers: the stream's bodies (0, 1: what Envoy 1.27's Wasm filter points
// at now: the buffered data after StopIterationAndBuffer, else the chunk of
// the body callback running now), the call answer's body (4, during
// proxy_on_http_call_response), the VM and plugin configurations (6, 7).
// Only the bodies can be written.

import { BUFFER_TYPE_MAX, BufferType, LogLevel, WasmResult as R } from "../../abi/constants.ts";
import { concatBytes, type ByteBuffer } from "../../bytes.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

interface BufferAccess {
  get: () => Uint8Array;
  /** Absent for a read-only buffer. */
  set?: (start: number, len: number, data: Uint8Array) => number;
}

export function bufferImports(h: ImportHost): ImportGroup {
  const { mem } = h;

  /** The buffer a get/set refers to, or null when it does not exist now. */
  const bufferFor = (type: number): BufferAccess | null => {
    const s = h.effectiveStream();
    switch (type) {
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody: {
        const d = s ? (type === BufferType.HttpRequestBody ? s.req : s.res) : undefined;
        const target = s && d ? h.chain.bodyTarget(s, d) : ({ kind: "none" } as const);
        const empty = new Uint8Array(0);
        switch (target.kind) {
          case "buffered":
          case "current": {
            const buf = target.buf;
            return {
              get: () => buf.view(),
              set: (start, len, data) => {
                const r = editBuffer(buf, start, len, data);
                // Envoy's buffered data is a watermark buffer: a write over the limit trips at once.
                if (r === R.Ok && target.kind === "buffered" && s && d) h.chain.bufferWritten(s, d);
                return r;
              },
            };
          }
          case "dead":
            return {
              get: () => empty,
              set: () => {
                h.hostLog(
                  LogLevel.warn,
                  `proxy_set_buffer_bytes: the ${type === BufferType.HttpRequestBody ? "request" : "response"} body buffer is the chunk of the last body callback, which Envoy no longer holds (it returned without StopIterationAndBuffer); the write is lost`,
                );
                return R.Ok;
              },
            };
          default:
            return { get: () => empty, set: () => R.NotFound };
        }
      }
      case BufferType.HttpCallResponseBody: {
        const r = h.callResponse();
        return r ? { get: () => r.body } : null;
      }
      case BufferType.VmConfiguration:
        return { get: () => h.vmConfig };
      case BufferType.PluginConfiguration: {
        const c = h.pluginConfig();
        return c ? { get: () => c } : null;
      }
      case BufferType.DownstreamData:
      case BufferType.UpstreamData:
      case BufferType.GrpcReceiveBuffer:
      case BufferType.CallData: {
        const empty = new Uint8Array(0);
        return { get: () => empty, set: () => R.NotFound };
      }
      default:
        return null;
    }
  };

  return {
    proxy_get_buffer_status: {
      fn: (type: number, lenPtr: number, flagsPtr: number) => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
        const b = bufferFor(type);
        if (!b) return R.NotFound;
        mem.writeU32(lenPtr, b.get().length);
        mem.writeU32(flagsPtr, 0);
        return R.Ok;
      },
    },
    proxy_get_buffer_bytes: {
      fn: (type: number, start: number, maxLen: number, ptrPtr: number, sizePtr: number) => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
        const b = bufferFor(type);
        if (!b) return R.NotFound;
        const data = b.get();
        const from = Math.min(start >>> 0, data.length);
        const to = Math.min(from + (maxLen >>> 0), data.length);
        mem.copyOut(data.slice(from, to), ptrPtr, sizePtr);
        return R.Ok;
      },
    },
    proxy_set_buffer_bytes: {
      fn: (type: number, start: number, len: number, ptr: number, size: number) => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
        const b = bufferFor(type);
        if (!b) return R.NotFound;
        const data = mem.read(ptr, size);
        if (!b.set) return R.BadArgument; // read-only: call answer body, configurations
        return b.set(start >>> 0, len >>> 0, data);
      },
      trace: (type: number, start: number, len: number, _ptr: number, size: number) => [
        type >>> 0,
        start >>> 0,
        len >>> 0,
        size >>> 0,
      ],
    },
  };
}

/** Envoy's Buffer::copyFrom: start 0 drops `len` bytes then prepends; start >= size appends; else BadArgument. */
function editBuffer(buf: ByteBuffer, start: number, len: number, data: Uint8Array): number {
  const cur = buf.view();
  if (start === 0) {
    buf.assign(concatBytes([data, cur.subarray(Math.min(len, cur.length))]));
    return R.Ok;
  }
  if (start >= cur.length) {
    buf.append(data);
    return R.Ok;
  }
  return R.BadArgument;
}
