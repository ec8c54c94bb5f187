// Higress conventions any plugin could reuse: _rules_, cluster names, HTTP client,
// logging, metrics.
export * from "./cluster";
export * from "./url";
export * from "./rules";
export * from "./log";
export * from "./sdk";
export * from "./http_client";
export * from "./metrics";
export * from "./body";
export * from "./digest";
