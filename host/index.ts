// The public API of host/: the proxy-wasm host, the local gateway and the
// mock LLMs. Tests, benches and scripts import from here.

export { loadHost, ProxyWasmHost, HIGRESS_DEFAULTS, TIMEOUT_BODY, REFUSED_BODY } from "./host.ts";
export { HttpStream, type ForwardedRequest } from "./stream.ts";
export { FAIL_STREAM_DETAILS } from "./filter-chain/replies.ts";
export { RESPONSE_TOO_LARGE_BODY, REQUEST_TOO_LARGE_BODY } from "./filter-chain/buffers.ts";
export { STREAM_TIMEOUT_BODY } from "./filter-chain/idle-timeout.ts";
export { toPairs } from "./header-map.ts";
export * from "./types.ts";
export {
  BufferType,
  DataStatus,
  HeadersStatus,
  LogLevel,
  MapType,
  MetricType,
  StreamType,
  WasmResult,
} from "./abi/constants.ts";
export { decodePairs, encodePairs } from "./abi/pairs.ts";

export {
  startGateway,
  GatewayConfigError,
  loadGatewayConfigFile,
  resolveGatewayConfig,
  type Gateway,
  type GatewayOptions,
  type GatewayConfig,
  type RouteConfig,
  type ClusterTarget,
  type EnvoySection,
  type PluginSection,
  type ResolvedGatewayConfig,
} from "./gateway/index.ts";

export * from "./mock-llm.ts";
