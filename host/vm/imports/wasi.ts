// WASI (wasi_snapshot_preview1 and wasi_unstable), as much as proxy-wasm
// modules use: fd_write to stdout/stderr becomes log lines, clocks, random,
// environment variables, empty arguments, proc_exit (fails the VM) and stubs.
// Memory faults are EFAULT here.

import { randomFillSync } from "node:crypto";
import { LogLevel, WasiErrno } from "../../abi/constants.ts";
import { fromUtf8, utf8 } from "../../abi/pairs.ts";
import { concatBytes } from "../../bytes.ts";
import { MemoryFault } from "../memory.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

/** Thrown by WASI proc_exit: it ends the VM call like a trap. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

export function wasiImports(h: ImportHost): ImportGroup {
  const { mem } = h;
  const EFAULT = WasiErrno.Fault;
  const environ = (): Uint8Array[] => Object.entries(h.options.env ?? {}).map(([k, v]) => utf8(`${k}=${v}\0`));

  /** The bytes of an iovec list. */
  const gather = (iovs: number, iovsLen: number): Uint8Array => {
    const view = mem.dataView();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < iovsLen >>> 0; i++) {
      const at = (iovs >>> 0) + i * 8;
      if (at + 8 > view.byteLength) throw new MemoryFault("iovec out of bounds");
      parts.push(mem.read(view.getUint32(at, true), view.getUint32(at + 4, true)));
    }
    return concatBytes(parts);
  };

  const stub = (errno: number) => ({ fn: () => errno });

  return {
    fd_write: {
      fn: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
        if (fd !== 1 && fd !== 2) return WasiErrno.BadF;
        const data = gather(iovs, iovsLen);
        let text = fromUtf8(data);
        if (text.endsWith("\n")) text = text.slice(0, -1);
        const level = fd === 1 ? LogLevel.info : LogLevel.error;
        if (data.length && level >= h.logLevel) h.record(level, text, h.effective(), "plugin");
        mem.writeU32(nwrittenPtr, data.length);
        return WasiErrno.Success;
      },
      onFault: EFAULT,
      trace: (fd: number, iovs: number, iovsLen: number) => [fd, fromUtf8(gather(iovs, iovsLen))],
    },
    fd_read: stub(WasiErrno.NoSys),
    fd_seek: stub(WasiErrno.Success),
    fd_close: stub(WasiErrno.Success),
    fd_fdstat_get: {
      fn: (fd: number, out: number) => {
        if (fd !== 1 && fd !== 2) return WasiErrno.BadF;
        const stat = new Uint8Array(24);
        stat[8] = 64; // fs_rights_base = FD_WRITE
        mem.writeBytes(out, stat);
        return WasiErrno.Success;
      },
      onFault: EFAULT,
    },
    environ_sizes_get: {
      fn: (countPtr: number, sizePtr: number) => {
        const entries = environ();
        mem.writeU32(countPtr, entries.length);
        mem.writeU32(
          sizePtr,
          entries.reduce((n, e) => n + e.length, 0),
        );
        return WasiErrno.Success;
      },
      onFault: EFAULT,
    },
    environ_get: {
      fn: (arrayPtr: number, bufPtr: number) => {
        let buf = bufPtr >>> 0;
        let arr = arrayPtr >>> 0;
        for (const e of environ()) {
          mem.writeU32(arr, buf);
          mem.writeBytes(buf, e);
          buf += e.length;
          arr += 4;
        }
        return WasiErrno.Success;
      },
      onFault: EFAULT,
    },
    args_sizes_get: {
      fn: (argcPtr: number, sizePtr: number) => {
        mem.writeU32(argcPtr, 0);
        mem.writeU32(sizePtr, 0);
        return WasiErrno.Success;
      },
      onFault: EFAULT,
    },
    args_get: stub(WasiErrno.Success),
    clock_time_get: {
      fn: (id: number, _precision: bigint, out: number) => {
        if (id === 0) mem.writeU64(out, h.now());
        else if (id === 1) mem.writeU64(out, process.hrtime.bigint());
        else return WasiErrno.NotSup;
        return WasiErrno.Success;
      },
      onFault: EFAULT,
    },
    random_get: {
      fn: (ptr: number, len: number) => {
        const bytes = new Uint8Array(len >>> 0);
        randomFillSync(bytes);
        mem.writeBytes(ptr, bytes);
        return WasiErrno.Success;
      },
      onFault: EFAULT,
    },
    proc_exit: {
      fn: (code: number) => {
        throw new ProcExit(code);
      },
    },
    path_open: stub(WasiErrno.NotCapable),
    fd_prestat_get: stub(WasiErrno.BadF),
    fd_prestat_dir_name: stub(WasiErrno.BadF),
  };
}
