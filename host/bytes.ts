// Bytes: a growable buffer for bodies, released chunks, conversions.

import { utf8 } from "./abi/pairs.ts";
import type { BodyInit } from "./types.ts";

/** A growable byte buffer (bodies arrive in many small chunks). */
export class ByteBuffer {
  private buf = new Uint8Array(0);
  length = 0;

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.length + data.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.length + data.length, this.buf.length * 2, 256));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the contents. */
  copy(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** Replaces the contents. */
  assign(data: Uint8Array): void {
    this.buf = new Uint8Array(data);
    this.length = data.length;
  }
}

/** Chunks released in order; their concatenation is computed once per change. */
export class Chunks {
  private readonly parts: Uint8Array[] = [];
  private cache: Uint8Array | null = null;

  push(chunk: Uint8Array): void {
    this.parts.push(chunk);
    this.cache = null;
  }

  bytes(): Uint8Array {
    if (!this.cache) this.cache = concatBytes(this.parts);
    return this.cache;
  }
}

export function toBytes(body: BodyInit | undefined | null): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array(0);
  return typeof body === "string" ? utf8(body) : new Uint8Array(body);
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
