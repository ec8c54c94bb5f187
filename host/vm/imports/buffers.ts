// Buffers: the stream's bodies (0, 1: what the filter holds now), the call
// answer's body (4, during proxy_on_http_call_response), the VM and plugin
// configurations (6, 7). Only the bodies can be written.

import { BUFFER_TYPE_MAX, BufferType, WasmResult as R } from "../../abi/constants.ts";
import { concatBytes } from "../../bytes.ts";
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
        const held = d?.held ?? null;
        return {
          get: () => (held ? held.view() : new Uint8Array(0)),
          set: (start, len, data) => {
            if (!held) return R.NotFound;
            const cur = held.view();
            if (start === 0) {
              held.assign(concatBytes([data, cur.subarray(Math.min(len, cur.length))]));
              return R.Ok;
            }
            if (start >= cur.length) {
              held.append(data);
              return R.Ok;
            }
            return R.BadArgument;
          },
        };
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
