// The module's linear memory as the host functions use it: bounds-checked
// reads and writes, allocation through the module's own allocator, and
// copy-out of results (malloc + copy + (ptr, len) to the out-pointers).
// Memory may grow during any allocation, so every helper takes a fresh view.

import { fromUtf8 } from "../abi/pairs.ts";

/** Thrown by the memory helpers; host functions turn it into InvalidMemoryAccess (or EFAULT for WASI). */
export class MemoryFault extends Error {}

export class VmMemory {
  private memory: WebAssembly.Memory | undefined;
  private allocator: ((size: number) => number) | undefined;

  /** Binds the instance's memory and allocator (malloc, else proxy_on_memory_allocate). */
  bind(memory: WebAssembly.Memory, allocator: (size: number) => number): void {
    this.memory = memory;
    this.allocator = allocator;
  }

  /** Current size in 64 KiB pages (0 before the module is bound). */
  pages(): number {
    return this.memory ? this.memory.buffer.byteLength / 65536 : 0;
  }

  /** A DataView over the whole memory (valid until the next allocation). */
  dataView(): DataView {
    return new DataView(this.memory!.buffer);
  }

  private bytesView(): Uint8Array {
    return new Uint8Array(this.memory!.buffer);
  }

  read(ptr: number, len: number): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    const m = this.bytesView();
    if (ptr + len > m.length) throw new MemoryFault(`read of ${len} bytes at ${ptr} is out of bounds`);
    return m.slice(ptr, ptr + len);
  }

  readString(ptr: number, len: number): string {
    return fromUtf8(this.read(ptr, len));
  }

  writeBytes(ptr: number, data: Uint8Array): void {
    ptr >>>= 0;
    const m = this.bytesView();
    if (ptr + data.length > m.length) throw new MemoryFault(`write of ${data.length} bytes at ${ptr} is out of bounds`);
    m.set(data, ptr);
  }

  writeU32(ptr: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.writeBytes(ptr, b);
  }

  writeU64(ptr: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.writeBytes(ptr, b);
  }

  /** Allocates through the module's malloc. Memory may grow: views are re-created by every helper. */
  allocate(size: number): number {
    const p = this.allocator!(size) >>> 0;
    if (p === 0 || p + size > this.memory!.buffer.byteLength) throw new MemoryFault(`malloc(${size}) returned ${p}`);
    return p;
  }

  /** Hands bytes to the module: malloc + copy + (ptr, len) to the out-pointers; empty = 0/0 without malloc. */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): void {
    if (data.length === 0) {
      this.writeU32(ptrPtr, 0);
      this.writeU32(sizePtr, 0);
      return;
    }
    const p = this.allocate(data.length);
    this.writeBytes(p, data);
    this.writeU32(ptrPtr, p);
    this.writeU32(sizePtr, data.length);
  }
}
