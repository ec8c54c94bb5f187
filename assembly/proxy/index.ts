// The proxy-wasm ABI layer. Knows nothing of Higress or JSON mode.
export * from "./abi";
export * from "./headers";
export * from "./hostcalls";
export * from "./context";
