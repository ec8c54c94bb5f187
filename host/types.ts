// Public types of the proxy-wasm host and the local gateway.

/** A header map: ordered (key, value) pairs, keys lower-case, duplicates allowed. */
export type Pairs = [string, string][];

/** Headers as a test or the gateway passes them in. Keys are lower-cased on the way in. */
export type HeadersInit = Pairs | Record<string, string | number | string[]>;

/** Bytes or text (text is sent as UTF-8). */
export type BodyInit = string | Uint8Array;

import type { LogLevelName } from "./abi/constants.ts";

export type { LogLevelName } from "./abi/constants.ts";

export interface LogEntry {
  /** 0 trace .. 5 critical */
  level: number;
  levelName: LogLevelName;
  message: string;
  /** The context the line was written from (the effective context), 0 when none. */
  contextId: number;
  /**
   * "plugin": written by the module (proxy_log or WASI stdout/stderr);
   * "host": written by the host (traps, misuse); "gateway": written by the local gateway.
   */
  source: "plugin" | "host" | "gateway";
}

/** A value returned by proxy_get_property: text, raw bytes, or an integer (8 bytes little-endian). */
export type PropertyValue = string | Uint8Array | number | bigint | boolean | Pairs;

export interface HostOptions {
  /** Property `plugin_name`. Default "" (NotFound is never returned for it, as in Envoy). */
  pluginName?: string;
  /** Property `plugin_root_id`. Default "". */
  rootId?: string;
  /** Property `plugin_vm_id`. Default "". */
  vmId?: string;
  /** Buffer 6 during proxy_on_vm_start. */
  vmConfig?: string | object | Uint8Array;
  /** When given, loadHost() runs proxy_on_configure with it and throws if the module rejects it. */
  config?: string | object | Uint8Array;
  /** What happens to streams once the VM has failed. Default "close" (Higress FAIL_CLOSE). */
  failStrategy?: "close" | "open";
  /**
   * Which Envoy the host plays. "1.27" (default): Higress's Envoy 1.27, with
   * its per-stream buffer limits and its way of showing buffered bodies
   * (the chunk of the current callback joins the buffer after the callback
   * returns). "ideal": no buffer limits, and every body callback sees what
   * was buffered plus its own chunk (Envoy 1.32 and later).
   */
  envoy?: EnvoyModel;
  /**
   * Per-stream buffer limit (bytes) for streams of an HTTP/1 client: Envoy's
   * per_connection_buffer_limit_bytes. Default 32768 (Higress). 0 = none.
   * The one limit covers both directions, as in Envoy 1.27.
   */
  bufferLimitBytes?: number;
  /** The same for streams of an HTTP/2 client (the initial stream window). Default 65535 (Higress). */
  http2BufferLimitBytes?: number;
  /**
   * Stream idle timeout (ms): a stream with no activity for this long is
   * answered 504 (408 while the request is incomplete) "stream timeout", or
   * reset once its response started. Default 180000 (Higress). 0 = none.
   */
  streamIdleTimeoutMs?: number;
  /**
   * Re-create a failed VM for the next new stream (Higress). Default true;
   * false keeps a failed VM failed.
   */
  vmRestart?: boolean;
  /** At most one VM re-creation attempt per this many ms. Default 1000 (Higress envoy-1.27). */
  vmRestartIntervalMs?: number;
  /** Lines below this level are dropped; also what proxy_get_log_level returns. Default 0 (trace). */
  logLevel?: number;
  /**
   * Clusters proxy_http_call accepts (anything else is BadArgument).
   * Default: every cluster name is accepted.
   */
  clusters?: string[] | ((name: string) => boolean);
  /**
   * Known clusters without a healthy endpoint: proxy_http_call to one of
   * them fails at once with InternalFailure (Envoy's async client answers
   * "no healthy upstream" before the call returns). Default none.
   */
  unhealthyClusters?: string[] | ((name: string) => boolean);
  /**
   * Called (inside the VM call) for every dispatched HTTP call. The gateway
   * performs the call for real and later calls host.answer()/timeout()/refuse()/reset().
   * Anything it asks of the host from inside this hook is queued until the VM call returns.
   */
  onHttpCall?: (call: HttpCall) => void;
  /** Called for every recorded log line. */
  onLog?: (entry: LogEntry) => void;
  /** Host-wide properties (looked up after the stream's own). Keys are dotted paths, e.g. "node.id". */
  properties?: Record<string, PropertyValue>;
  /** Run proxy_on_tick on a real timer when the module sets a tick period. Default false (call host.tick()). */
  autoTick?: boolean;
  /** Clock for proxy_get_current_time_nanoseconds and WASI clock 0, in nanoseconds. */
  now?: () => bigint;
  /**
   * Monotonic clock (ms) for the VM re-creation interval (Envoy's dispatcher
   * time source). Default performance.now().
   */
  monotonicMs?: () => number;
  /** WASI environment variables (environ_get). Default none. */
  env?: Record<string, string>;
  /**
   * Called after every host function call that changes state, with its
   * decoded arguments and its result (see TraceEntry). Default none: the
   * host functions then run without any tracing cost.
   */
  trace?: (entry: TraceEntry) => void;
}

/**
 * One call of a state-changing host function, as HostOptions.trace sees it.
 * `args` are decoded as the module passed them (strings as text, header maps
 * as pairs or null when malformed, payloads as byte lengths); when they
 * cannot be read (out of bounds) `args` holds the raw numbers.
 *
 * | name | args |
 * |---|---|
 * | proxy_log | level, message |
 * | fd_write (WASI) | fd, text |
 * | proxy_set_property | path (dotted), value length |
 * | proxy_add_header_map_value, proxy_replace_header_map_value | map type, key, value |
 * | proxy_remove_header_map_value | map type, key |
 * | proxy_set_header_map_pairs | map type, pairs |
 * | proxy_set_buffer_bytes | buffer type, start, length, data length |
 * | proxy_http_call | cluster, headers, body length, trailers, timeout ms |
 * | proxy_send_local_response | status, details, body length, headers, gRPC status |
 * | proxy_continue_stream, proxy_close_stream | stream type |
 * | proxy_set_effective_context | context id |
 * | proxy_define_metric | metric type, name |
 * | proxy_increment_metric, proxy_record_metric | metric id, value (bigint) |
 * | proxy_set_tick_period_milliseconds | period ms |
 * | proxy_set_shared_data | key, value length, cas |
 * | proxy_register_shared_queue | name |
 * | proxy_enqueue_shared_queue | queue token, data length |
 * | proxy_dequeue_shared_queue | queue token |
 * | proxy_done | (none) |
 */
export interface TraceEntry {
  /** The import's name, e.g. "proxy_replace_header_map_value". */
  name: string;
  args: unknown[];
  /** The WasmResult (WASI: errno) the module got back. */
  result: number;
  /** The effective context when the call was made. */
  contextId: number;
  /** The arguments exactly as the module passed them (pointers and lengths), for a tracer that reads payloads. */
  raw: unknown[];
}

export interface StreamProps {
  /** Property `route_name`. */
  routeName?: string;
  /** Property `cluster_name`. */
  clusterName?: string;
  /** Shortcut: deliver these request headers right away (as requestHeaders(h, requestEnd)). */
  requestHeaders?: HeadersInit;
  /** With requestHeaders: whether the request ends with its headers. Default false. */
  requestEnd?: boolean;
  /** Extra properties for this stream, keys are dotted paths ("source.address"). */
  properties?: Record<string, PropertyValue>;
  /** Property `request.protocol`. Default "HTTP/1.1". "HTTP/2" streams get HostOptions.http2BufferLimitBytes. */
  protocol?: string;
  /**
   * The route table, for a cleared route cache: editing the request headers
   * clears it (unless the stream set the property `clear_route_cache` to
   * `off`), and when the request headers go upstream the route is computed
   * again from the edited headers. Returns the route's names, or null when
   * no route matches (Envoy's router then answers 404 route_not_found).
   * Without it the route never changes.
   */
  route?: (requestHeaders: Pairs) => RouteMatch | null;
}

/** What a route lookup gives. */
export interface RouteMatch {
  routeName?: string;
  clusterName?: string;
}

/** The Envoy the host plays (HostOptions.envoy). */
export type EnvoyModel = "1.27" | "ideal";

export interface HttpCall {
  /** Host-allocated token, as passed to proxy_on_http_call_response. */
  token: number;
  /** Cluster name the module asked for. */
  cluster: string;
  /** Request headers as they would go out (content-length set when the body is not empty). */
  headers: Pairs;
  body: Uint8Array;
  trailers: Pairs;
  /** 0 = no timeout (as in Envoy). */
  timeoutMs: number;
  /** The effective context when the call was dispatched (the stream id, or the root id). */
  streamId: number;
  /** The root context the answer is delivered to. */
  rootContextId: number;
  method: string;
  path: string;
  authority: string;
  /** Body as UTF-8 text. */
  readonly bodyText: string;
}

export interface LocalResponse {
  status: number;
  body: Uint8Array;
  bodyText: string;
  /** Extra headers the module passed. */
  headers: Pairs;
  details: string;
  /** -1 when none. */
  grpcStatus: number;
}

export interface MetricValue {
  /** 0 counter, 1 gauge, 2 histogram */
  type: number;
  /** Counter/gauge value; for a histogram the last recorded value. */
  value: bigint;
  /** Histogram samples. */
  samples?: bigint[];
}
