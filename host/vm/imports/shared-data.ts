// Shared data (with CAS) and shared queues, within the one VM.

import { ROOT_ID, WasmResult as R } from "../../abi/constants.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

export function sharedDataImports(h: ImportHost): ImportGroup {
  const { mem } = h;
  const sharedData = new Map<string, { value: Uint8Array; cas: number }>();
  let nextCas = 1;
  const sharedQueues = new Map<number, { name: string; items: Uint8Array[] }>();
  let nextQueueToken = 1;
  const queueToken = (name: string): number | undefined => [...sharedQueues].find(([, q]) => q.name === name)?.[0];

  return {
    proxy_get_shared_data: {
      fn: (kPtr: number, kLen: number, vPtr: number, vLen: number, casPtr: number) => {
        const entry = sharedData.get(mem.readString(kPtr, kLen));
        if (!entry) return R.NotFound;
        mem.copyOut(entry.value, vPtr, vLen);
        mem.writeU32(casPtr, entry.cas);
        return R.Ok;
      },
    },
    proxy_set_shared_data: {
      fn: (kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number) => {
        const key = mem.readString(kPtr, kLen);
        const value = mem.read(vPtr, vLen);
        const entry = sharedData.get(key);
        if (cas >>> 0 !== 0 && entry && entry.cas !== cas >>> 0) return R.CasMismatch;
        sharedData.set(key, { value, cas: nextCas++ });
        return R.Ok;
      },
      trace: (kPtr: number, kLen: number, _vPtr: number, vLen: number, cas: number) => [
        mem.readString(kPtr, kLen),
        vLen >>> 0,
        cas >>> 0,
      ],
    },
    proxy_register_shared_queue: {
      fn: (nPtr: number, nLen: number, tokenPtr: number) => {
        const name = mem.readString(nPtr, nLen);
        let token = queueToken(name);
        if (token === undefined) {
          token = nextQueueToken++;
          sharedQueues.set(token, { name, items: [] });
        }
        mem.writeU32(tokenPtr, token);
        return R.Ok;
      },
      trace: (nPtr: number, nLen: number) => [mem.readString(nPtr, nLen)],
    },
    proxy_resolve_shared_queue: {
      fn: (_vmPtr: number, _vmLen: number, nPtr: number, nLen: number, tokenPtr: number) => {
        const token = queueToken(mem.readString(nPtr, nLen));
        if (token === undefined) return R.NotFound;
        mem.writeU32(tokenPtr, token);
        return R.Ok;
      },
    },
    proxy_dequeue_shared_queue: {
      fn: (token: number, dPtr: number, dLen: number) => {
        const q = sharedQueues.get(token >>> 0);
        if (!q) return R.NotFound;
        const item = q.items.shift();
        if (!item) return R.Empty;
        mem.copyOut(item, dPtr, dLen);
        return R.Ok;
      },
      trace: (token: number) => [token >>> 0],
    },
    proxy_enqueue_shared_queue: {
      fn: (token: number, dPtr: number, dLen: number) => {
        const t = token >>> 0;
        const q = sharedQueues.get(t);
        if (!q) return R.NotFound;
        q.items.push(mem.read(dPtr, dLen));
        h.run(() => {
          h.invoke("proxy_on_queue_ready", ROOT_ID, ROOT_ID, t);
        });
        return R.Ok;
      },
      trace: (token: number, _dPtr: number, dLen: number) => [token >>> 0, dLen >>> 0],
    },
  };
}
