// as-pect configuration: unit specs run on the same AssemblyScript sources the
// plugin is built from. The fake host below offers the proxy-wasm imports those
// sources link against; unit-tested functions are pure, so it only records logs.
export default {
  entries: ["tests/unit/**/*.spec.ts"],
  include: ["tests/unit/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    let instance;
    const logs = [];
    const env = new Proxy(
      {
        proxy_log(level, ptr, len) {
          const bytes = new Uint8Array(instance.exports.memory.buffer).slice(ptr, ptr + len);
          logs.push([level, Buffer.from(bytes).toString("utf8")]);
          return 0;
        },
        proxy_get_log_level(out) {
          new DataView(instance.exports.memory.buffer).setUint32(out, 0, true);
          return 0;
        },
      },
      {
        // Any other proxy_* import answers NotFound (1): nothing is there in a unit test.
        get(target, name) {
          if (name in target) return target[name];
          if (typeof name === "string" && name.startsWith("proxy_")) return () => 1;
          return undefined;
        },
        has() {
          return true;
        },
      },
    );
    const result = await instantiate(binary, createImports({ env }));
    instance = result.instance;
    return result;
  },
  outputBinary: false,
};
