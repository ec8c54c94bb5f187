// Reads the import section of a Wasm binary together with each function
// import's signature. Node's WebAssembly API lists imports by name only; the
// host needs the signatures to refuse a mismatched import the way V8 in Envoy
// does ("Failed to load Wasm module due to an import type mismatch").

export interface ImportEntry {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  /** "i32,i64->i32" style signature for functions; undefined when unknown. */
  signature?: string;
}

const VALTYPES: Record<number, string> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.b.length;
  }
  byte(): number {
    if (this.pos >= this.b.length) throw new Error("unexpected end of module");
    return this.b[this.pos++];
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 63) throw new Error("LEB128 too long");
    }
    return result;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new Error("unexpected end of module");
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder().decode(this.bytes(this.u32()));
  }
  limits(): void {
    const flags = this.u32();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/**
 * Returns the module's imports with function signatures, or null when the
 * binary uses type encodings this small reader does not know (the caller then
 * checks names only).
 */
export function readImports(bytes: Uint8Array): ImportEntry[] | null {
  try {
    const r = new Reader(bytes);
    r.bytes(8); // magic + version
    const types: string[] = [];
    while (!r.done) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === 1) {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          if (r.byte() !== 0x60) return null; // GC / rec types: give up
          const vec = (): string[] => {
            const n = r.u32();
            const out: string[] = [];
            for (let j = 0; j < n; j++) {
              const t = VALTYPES[r.byte()];
              if (t === undefined) throw new Error("unknown value type");
              out.push(t);
            }
            return out;
          };
          const params = vec();
          const results = vec();
          types.push(`${params.join(",")}->${results.join(",")}`);
        }
      } else if (id === 2) {
        const count = r.u32();
        const out: ImportEntry[] = [];
        for (let i = 0; i < count; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          if (kind === 0) {
            out.push({ module, name, kind: "function", signature: types[r.u32()] });
          } else if (kind === 1) {
            r.byte();
            r.limits();
            out.push({ module, name, kind: "table" });
          } else if (kind === 2) {
            r.limits();
            out.push({ module, name, kind: "memory" });
          } else if (kind === 3) {
            r.byte();
            r.byte();
            out.push({ module, name, kind: "global" });
          } else if (kind === 4) {
            r.byte();
            r.u32();
            out.push({ module, name, kind: "tag" });
          } else {
            return null;
          }
        }
        return out;
      } else if (id > 2 && id !== 0) {
        return []; // sections are ordered: past the imports means there are none
      }
      r.pos = end;
    }
    return [];
  } catch {
    return null;
  }
}
