// The functions the host offers a module, with the Wasm signature each one
// must be imported with (wasm32: every pointer and size is an i32).
// This is the list proxy-wasm-cpp-host registers for ABI 0.2.x; a module that
// imports anything else fails to load, as it does in Higress's Envoy.

const i32 = (n: number): string => Array(n).fill("i32").join(",");
const fn = (params: string, results = "i32"): string => `${params}->${results}`;

export const ENV_FUNCTIONS: Readonly<Record<string, string>> = {
  proxy_log: fn(i32(3)),
  proxy_get_log_level: fn(i32(1)),
  proxy_get_status: fn(i32(3)),
  proxy_get_property: fn(i32(4)),
  proxy_set_property: fn(i32(4)),
  proxy_send_local_response: fn(i32(8)),
  proxy_get_shared_data: fn(i32(5)),
  proxy_set_shared_data: fn(i32(5)),
  proxy_register_shared_queue: fn(i32(3)),
  proxy_resolve_shared_queue: fn(i32(5)),
  proxy_dequeue_shared_queue: fn(i32(3)),
  proxy_enqueue_shared_queue: fn(i32(3)),
  proxy_get_header_map_value: fn(i32(5)),
  proxy_add_header_map_value: fn(i32(5)),
  proxy_replace_header_map_value: fn(i32(5)),
  proxy_remove_header_map_value: fn(i32(3)),
  proxy_get_header_map_pairs: fn(i32(3)),
  proxy_set_header_map_pairs: fn(i32(3)),
  proxy_get_header_map_size: fn(i32(2)),
  proxy_get_buffer_status: fn(i32(3)),
  proxy_get_buffer_bytes: fn(i32(5)),
  proxy_set_buffer_bytes: fn(i32(5)),
  proxy_http_call: fn(i32(10)),
  proxy_grpc_call: fn(i32(12)),
  proxy_grpc_stream: fn(i32(9)),
  proxy_grpc_close: fn(i32(1)),
  proxy_grpc_cancel: fn(i32(1)),
  proxy_grpc_send: fn(i32(4)),
  proxy_set_tick_period_milliseconds: fn(i32(1)),
  proxy_get_current_time_nanoseconds: fn(i32(1)),
  proxy_define_metric: fn(i32(4)),
  proxy_increment_metric: fn("i32,i64"),
  proxy_record_metric: fn("i32,i64"),
  proxy_get_metric: fn(i32(2)),
  proxy_set_effective_context: fn(i32(1)),
  proxy_done: fn(""),
  proxy_call_foreign_function: fn(i32(6)),
  proxy_continue_stream: fn(i32(1)),
  proxy_close_stream: fn(i32(1)),
  // Not proxy-wasm, but registered in "env" by proxy-wasm-cpp-host.
  pthread_equal: fn(i32(2)),
  emscripten_notify_memory_growth: fn(i32(1), ""),
};

/** Names that exist only in ABI 0.1.0 and do not link in a 0.2.x module. */
export const ABI_0_1_0_ONLY = new Set([
  "proxy_get_configuration",
  "proxy_continue_request",
  "proxy_continue_response",
  "proxy_clear_route_cache",
]);

/** WASI functions, offered under both `wasi_snapshot_preview1` and `wasi_unstable`. */
export const WASI_FUNCTIONS: Readonly<Record<string, string>> = {
  fd_write: fn(i32(4)),
  fd_read: fn(i32(4)),
  fd_seek: fn("i32,i64,i32,i32"),
  fd_close: fn(i32(1)),
  fd_fdstat_get: fn(i32(2)),
  environ_get: fn(i32(2)),
  environ_sizes_get: fn(i32(2)),
  args_get: fn(i32(2)),
  args_sizes_get: fn(i32(2)),
  clock_time_get: fn("i32,i64,i32"),
  random_get: fn(i32(2)),
  proc_exit: fn(i32(1), ""),
  path_open: fn("i32,i32,i32,i32,i32,i64,i64,i32,i32"),
  fd_prestat_get: fn(i32(2)),
  fd_prestat_dir_name: fn(i32(3)),
};

export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"];
