// as-pect configuration: unit specs run on the same AssemblyScript sources the
// plugin is built from. The fake host below offers the proxy-wasm imports those
// sources link against. It records log lines, and plays the few host functions
// the body and property specs need, as Higress's Envoy does them:
//   proxy_get_buffer_bytes / proxy_set_buffer_bytes   one byte buffer per buffer type
//   proxy_get_property / proxy_set_property           a property map (NUL-joined paths)
//   proxy_get_current_time_nanoseconds                a clock the spec sets
//   proxy_http_call                                   Ok with a fresh token
//   proxy_set_effective_context                       Ok
// A spec that uses them exports the allocator (`export { malloc } from ...`),
// and drives the fake through the `fakehost_*` imports (tests/unit/fakehost.ts).
// Any other proxy_* import of assembly/proxy/imports.ts answers NotFound (1).
import { readFileSync } from "node:fs";

export default {
  entries: ["tests/unit/**/*.spec.ts"],
  include: ["tests/unit/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    let instance;
    const logs = [];
    const buffers = new Map();
    const properties = new Map();
    let propertySets = 0;
    let now = 0n;
    let nextToken = 1;
    const mem = () => new Uint8Array(instance.exports.memory.buffer);
    const view = () => new DataView(instance.exports.memory.buffer);
    const read = (ptr, len) => mem().slice(ptr, ptr + len);
    const text = (ptr, len) => Buffer.from(read(ptr, len)).toString("utf8");
    /** Writes `bytes` into memory from the module's malloc and (ptr, len) to the out slots. */
    const hand = (bytes, ptrOut, lenOut) => {
      if (bytes.length === 0) {
        view().setUint32(ptrOut, 0, true);
        view().setUint32(lenOut, 0, true);
        return 0;
      }
      const ptr = instance.exports.malloc(bytes.length);
      mem().set(bytes, ptr);
      view().setUint32(ptrOut, ptr, true);
      view().setUint32(lenOut, bytes.length, true);
      return 0;
    };
    const env = {
      proxy_log(level, ptr, len) {
        logs.push([level, text(ptr, len)]);
        return 0;
      },
      proxy_get_log_level(out) {
        view().setUint32(out, 0, true);
        return 0;
      },
      proxy_get_buffer_bytes(type, start, max, ptrOut, lenOut) {
        const b = buffers.get(type);
        if (b === undefined) return 1;
        return hand(b.subarray(Math.min(start, b.length), Math.min(start + max, b.length)), ptrOut, lenOut);
      },
      proxy_set_buffer_bytes(type, start, len, ptr, size) {
        const b = buffers.get(type) ?? new Uint8Array(0);
        const data = read(ptr, size);
        let next;
        if (start === 0) next = Buffer.concat([data, b.subarray(Math.min(len, b.length))]);
        else if (start >= b.length) next = Buffer.concat([b, data]);
        else return 2;
        buffers.set(type, new Uint8Array(next));
        return 0;
      },
      proxy_get_property(pathPtr, pathLen, ptrOut, lenOut) {
        const v = properties.get(text(pathPtr, pathLen));
        if (v === undefined) return 1;
        return hand(v, ptrOut, lenOut);
      },
      proxy_set_property(pathPtr, pathLen, valuePtr, valueLen) {
        properties.set(text(pathPtr, pathLen), read(valuePtr, valueLen));
        propertySets++;
        return 0;
      },
      proxy_get_current_time_nanoseconds(out) {
        view().setBigUint64(out, now, true);
        return 0;
      },
      proxy_set_effective_context() {
        return 0;
      },
      proxy_http_call(_up, _upLen, _h, _hLen, _b, _bLen, _t, _tLen, _timeout, tokenOut) {
        view().setUint32(tokenOut, nextToken++, true);
        return 0;
      },
      // ---- controls for the specs --------------------------------------
      fakehost_reset() {
        buffers.clear();
        properties.clear();
        propertySets = 0;
        now = 0n;
      },
      fakehost_set_buffer(type, ptr, len) {
        buffers.set(type, read(ptr, len));
      },
      fakehost_property_sets() {
        return propertySets;
      },
      fakehost_set_time(ns) {
        now = BigInt.asUintN(64, ns);
      },
    };
    // createImports copies the object's own keys: every other proxy_* import of
    // assembly/proxy/imports.ts answers NotFound (1).
    for (const m of readFileSync(new URL("./assembly/proxy/imports.ts", import.meta.url), "utf8").matchAll(
      /"(proxy_\w+)"/g,
    )) {
      if (!(m[1] in env)) env[m[1]] = () => 1;
    }
    const result = await instantiate(binary, createImports({ env }));
    instance = result.instance;
    return result;
  },
  outputBinary: false,
};
