// What the import groups see of the host, and how a group declares its
// functions. Each group is a function of an ImportHost returning its
// functions by name; vm/imports/index.ts wraps every one of them (memory
// faults, failures, the optional tracer).

import type { FilterChain } from "../../filter-chain/index.ts";
import type { StreamState } from "../../filter-chain/state.ts";
import type { HostOptions, HttpCall, Pairs } from "../../types.ts";
import type { VmMemory } from "../memory.ts";
import type { MetricStore } from "./metrics.ts";

/** The answer of an HTTP call while proxy_on_http_call_response runs (null for a reset). */
export interface CallResponse {
  headers: Pairs;
  body: Uint8Array;
  trailers: Pairs;
}

export interface ImportHost {
  readonly options: HostOptions;
  /** proxy_get_log_level; module lines below it are dropped. */
  readonly logLevel: number;
  readonly mem: VmMemory;
  readonly chain: FilterChain;
  readonly metrics: MetricStore;
  /** Buffer 6. */
  readonly vmConfig: Uint8Array;
  /** Buffer 7: set only while proxy_on_configure runs. */
  pluginConfig(): Uint8Array | null;
  /** The answer being delivered (maps 6/7, buffer 4), or null. */
  callResponse(): CallResponse | null;
  /** What proxy_get_status reports. */
  callStatus(): { code: number; message: string };
  /** HTTP calls dispatched and not answered, by token. */
  readonly pending: Map<number, HttpCall>;
  nextCallToken(): number;

  /** The effective context id (falls back to the called context when it no longer exists). */
  effective(): number;
  effectiveStream(): StreamState | undefined;
  /** proxy_set_effective_context: false for an unknown context. */
  setEffective(id: number): boolean;

  /** Records a log line of the module. */
  record(level: number, message: string, contextId: number, source: "plugin"): void;
  /** Records a log line of the host (effective context). */
  hostLog(level: number, message: string): void;

  /** Runs fn after the current VM call returns (before anything else queued). */
  after(fn: () => void): void;
  /** Runs fn after the current work (no VM re-entry). */
  run(fn: () => void): void;
  invoke(name: string, contextId: number, ...args: number[]): number | undefined;

  /** Nanoseconds since the epoch (options.now, else the wall clock). */
  now(): bigint;
  /** proxy_set_tick_period_milliseconds. */
  setTickPeriod(ms: number): void;
  /** proxy_done: false when the root context is not waiting for it. */
  rootDone(): boolean;
}

/** One function offered to the module. */
export interface HostFunction {
  /** The implementation: the raw Wasm arguments in, a WasmResult (or WASI errno) out. */
  fn: (...args: never[]) => number | void;
  /** Returned when a memory access is out of bounds (default InvalidMemoryAccess). */
  onFault?: number;
  /**
   * For a function that changes state: decodes its raw arguments for the
   * tracer (strings, header pairs, byte lengths). Called before fn, only
   * when HostOptions.trace is set; it must only read.
   */
  trace?: (...args: never[]) => unknown[];
}

export type ImportGroup = Record<string, HostFunction>;
