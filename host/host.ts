// A proxy-wasm host on Node's WebAssembly (V8), behaving as Higress's Envoy
// does for HTTP filters (see PROXY-WASM.md). It loads any proxy-wasm module
// (ABI 0.2.0, 0.2.1 or Higress's 0.2.100) and drives it through a timeline API:
//
//   const host = await loadHost("build/plugin.wasm", { pluginName: "p" });
//   host.configure({ ... });
//   const s = host.stream({ routeName: "r" }).requestHeaders({ ":path": "/" }, true);
//   s.responseHeaders({ ":status": "200" }).responseBody("hello", true);
//   host.answer(host.pendingCalls()[0], 200, {}, "{}");
//   s.done();  // proxy_on_log, proxy_on_done, proxy_on_delete
//
// Rules kept from Higress's Envoy 1.27:
// - The VM is never re-entered from inside a host call. Anything that calls
//   back (an answer, a continue, a local reply) is queued and runs after the
//   current VM call returns.
// - A trap fails the VM. A stream then fails at its next callback (503
//   wasm_fail_stream, fail closed) or passes through (fail open); answers to
//   calls of the failed VM are dropped; the next new stream re-creates the
//   VM (at most once per vmRestartIntervalMs).
// - Content-length is never recomputed; released headers are exactly the map
//   the module left.
//
// This file holds the host itself: its API, how its parts are wired, logs,
// contexts and ticks. The VM (start-up, calls, traps, re-creation) is in
// vm/vm.ts, the work queue in work-queue.ts, the HTTP calls' bookkeeping in
// http-calls.ts, streams in stream.ts and filter-chain/, the functions
// offered to the module in vm/imports/, the public API in index.ts.

import { readFile } from "node:fs/promises";
import { LOG_LEVEL_NAMES, ROOT_ID } from "./abi/constants.ts";
import { utf8 } from "./abi/pairs.ts";
import { toBytes } from "./bytes.ts";
import { FilterChain } from "./filter-chain/index.ts";
import type { StreamState } from "./filter-chain/state.ts";
import { toPairs } from "./header-map.ts";
import { HttpCalls } from "./http-calls.ts";
import type { HttpStream } from "./stream.ts";
import type { BodyInit, HeadersInit, HostOptions, HttpCall, LogEntry, MetricValue, StreamProps } from "./types.ts";
import { VmMemory } from "./vm/memory.ts";
import { buildImports, MetricStore, type CallResponse, type ImportHost } from "./vm/imports/index.ts";
import { Vm } from "./vm/vm.ts";
import { WorkQueue } from "./work-queue.ts";

/** Bodies of the answers Envoy's async HTTP client produces on its own. */
export const TIMEOUT_BODY = "upstream request timeout";
export const REFUSED_BODY =
  "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

/** Loads a module (file path or bytes), starts the VM and the root context. */
export async function loadHost(wasm: string | Uint8Array, opts: HostOptions = {}): Promise<ProxyWasmHost> {
  const bytes = typeof wasm === "string" ? new Uint8Array(await readFile(wasm)) : wasm;
  const host = new ProxyWasmHost(opts);
  await host.start(bytes);
  return host;
}

function configBytes(c: string | object | Uint8Array | undefined): Uint8Array {
  if (c === undefined) return new Uint8Array(0);
  if (typeof c === "string") return utf8(c);
  if (c instanceof Uint8Array) return c;
  return utf8(JSON.stringify(c));
}

/** Higress's defaults (its Envoy 1.27 and its higress-config). */
export const HIGRESS_DEFAULTS = {
  /** downstream.connectionBufferLimits: per_connection_buffer_limit_bytes. */
  bufferLimitBytes: 32768,
  /** downstream.http2.initialStreamWindowSize: an HTTP/2 stream's buffer limit. */
  http2BufferLimitBytes: 65535,
  /** downstream.idleTimeout: the stream idle timeout. */
  streamIdleTimeoutMs: 180_000,
  /** envoy-1.27's MIN_RECOVER_INTERVAL_SECONDS: at most one VM re-creation per second. */
  vmRestartIntervalMs: 1000,
} as const;

export class ProxyWasmHost {
  /** Every recorded log line (module lines at or above the log level, and host lines). */
  readonly logs: LogEntry[] = [];
  /** The module's exports. */
  exports: WebAssembly.Exports = {};
  /** The tick period the module set (ms, 0 = none). */
  tickPeriodMs = 0;
  readonly options: HostOptions;
  readonly rootContextId = ROOT_ID;

  private readonly mem = new VmMemory();
  private readonly vm: Vm;
  private readonly failStrategy: "close" | "open";
  private readonly logLevel: number;
  private readonly chain: FilterChain;
  private readonly metricStore = new MetricStore();
  private nextContextId = ROOT_ID + 1;
  private readonly calls = new HttpCalls();
  private readonly queue = new WorkQueue();
  private readonly vmConfig: Uint8Array;
  private tickTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: HostOptions = {}) {
    this.options = opts;
    this.failStrategy = opts.failStrategy ?? "close";
    this.logLevel = Math.max(0, Math.min(5, opts.logLevel ?? 0));
    this.vmConfig = configBytes(opts.vmConfig);
    const host = this;
    this.vm = new Vm(this.mem, this.vmConfig, {
      get exports() {
        return host.exports;
      },
      set exports(v) {
        host.exports = v;
      },
      get restart() {
        return host.options.vmRestart !== false;
      },
      get restartIntervalMs() {
        return host.options.vmRestartIntervalMs ?? HIGRESS_DEFAULTS.vmRestartIntervalMs;
      },
      monotonicMs: () => (this.options.monotonicMs ? this.options.monotonicMs() : performance.now()),
      hostLog: (level, message, contextId) => this.hostLog(level, message, contextId),
      trapped: (contextId) => {
        this.calls.dropAll();
        this.stopTicks();
        // The stream whose callback trapped fails as the callback returns, before
        // anything else the failed call queued; the others at their next callback.
        if (contextId !== ROOT_ID && contextId !== 0) this.queue.first(() => this.chain.failedInCallback(contextId));
      },
      replaced: () => {
        this.tickPeriodMs = 0;
      },
    });
    const limit = (v: number | undefined, fallback: number): number =>
      v === undefined ? fallback : Math.max(0, Math.floor(v));
    this.chain = new FilterChain({
      get failed() {
        return host.failed;
      },
      get generation() {
        return host.generation;
      },
      failStrategy: this.failStrategy,
      get abiVersion() {
        return host.abiVersion;
      },
      model: opts.envoy ?? "1.27",
      bufferLimit: limit(opts.bufferLimitBytes, HIGRESS_DEFAULTS.bufferLimitBytes),
      http2BufferLimit: limit(opts.http2BufferLimitBytes, HIGRESS_DEFAULTS.http2BufferLimitBytes),
      idleTimeoutMs: limit(opts.streamIdleTimeoutMs, HIGRESS_DEFAULTS.streamIdleTimeoutMs),
      invoke: (name, contextId, ...args) => this.vm.invoke(name, contextId, ...args),
      run: (fn) => this.queue.run(fn),
      after: (fn) => this.queue.after(fn),
      beforeNewStream: () => {
        if (!this.closed) this.vm.recreate();
      },
      hostLog: (level, message, contextId) => this.hostLog(level, message, contextId),
    });
  }

  /** The current VM trapped (or exited) and was not re-created yet. */
  get failed(): boolean {
    return this.vm.failed;
  }

  /** What failed the VM last (kept after a re-creation). */
  get failure(): { function: string; message: string; stack?: string } | undefined {
    return this.vm.failure;
  }

  /** VM generation: 1, then one more per re-creation after a failure. */
  get generation(): number {
    return this.vm.generation;
  }

  /** VM re-creations that succeeded. */
  get restarts(): number {
    return this.vm.restarts;
  }

  /** "0.2.100", "0.2.1" or "0.2.0". */
  get abiVersion(): string {
    return this.vm.abiVersion;
  }

  // ----- public API --------------------------------------------------------

  /** Runs proxy_on_configure with this plugin configuration; returns its result. */
  configure(config: string | object | Uint8Array): boolean {
    if (this.queue.busy) throw new Error("configure() cannot be called from inside a host callback");
    if (this.failed || this.closed) return false;
    const bytes = configBytes(config);
    let result = false;
    this.queue.run(() => {
      result = this.vm.configure(bytes);
    });
    if (result) this.vm.lastConfig = bytes;
    return result;
  }

  /** Creates an HTTP stream context (proxy_on_context_create(id, root)). */
  stream(props: StreamProps = {}): HttpStream {
    if (this.closed) throw new Error("stream(): the host is closed");
    const s = this.chain.open(this.nextContextId++, props);
    if (props.requestHeaders) s.requestHeaders(props.requestHeaders, props.requestEnd ?? false);
    return s;
  }

  /** HTTP calls dispatched and not yet answered, in dispatch order. */
  pendingCalls(): HttpCall[] {
    return [...this.calls.pending.values()];
  }

  /** Delivers an answer to an HTTP call (proxy_on_http_call_response on the root context). */
  answer(call: HttpCall | number, status: number, headers?: HeadersInit, body?: BodyInit): void {
    const token = this.calls.check(call);
    if (token === undefined) return;
    const pairs = toPairs(headers).filter(([k]) => k !== ":status");
    pairs.unshift([":status", String(status)]);
    const bytes = toBytes(body);
    this.queue.run(() => this.deliverAnswer(token, { headers: pairs, body: bytes, trailers: [] }));
  }

  /** The call timed out: Envoy answers 504 "upstream request timeout". */
  timeout(call: HttpCall | number): void {
    this.answer(
      call,
      504,
      { "content-length": String(TIMEOUT_BODY.length), "content-type": "text/plain" },
      TIMEOUT_BODY,
    );
  }

  /** The connection was refused: Envoy answers 503 with its connect-failure text. */
  refuse(call: HttpCall | number): void {
    this.answer(
      call,
      503,
      { "content-length": String(REFUSED_BODY.length), "content-type": "text/plain" },
      REFUSED_BODY,
    );
  }

  /** The call was reset after the answer started: the callback gets zero headers and no body. */
  reset(call: HttpCall | number): void {
    const token = this.calls.check(call);
    if (token === undefined) return;
    this.queue.run(() => this.deliverAnswer(token, null));
  }

  /** Calls proxy_on_tick on the root context. */
  tick(): void {
    this.queue.run(() => {
      this.vm.invoke("proxy_on_tick", ROOT_ID, ROOT_ID);
    });
  }

  /** Metrics the module defined, by name. */
  metrics(): Map<string, MetricValue> {
    return this.metricStore.snapshot();
  }

  /** Stream contexts created and not yet deleted (the root context is not counted). */
  liveContexts(): number {
    return this.chain.live.size;
  }

  /** Current size of the module's linear memory, in 64 KiB pages. */
  memoryPages(): number {
    return this.mem.pages();
  }

  /**
   * Shuts the root context down (proxy_on_done, then proxy_on_delete, or
   * after proxy_done if on_done returned false) and stops the tick timer.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTicks();
    this.chain.stopTimers();
    this.queue.run(() => this.vm.stopRoot());
  }

  // ----- start-up ----------------------------------------------------------

  /** @internal Compiles, links and starts the module. Use loadHost(). */
  async start(bytes: Uint8Array): Promise<void> {
    await this.vm.load(bytes, () => buildImports(this.importHost(), this.options.trace));
    let vmStarted = true;
    this.queue.run(() => {
      vmStarted = this.vm.start();
    });
    if (this.failed) throw new Error(`Wasm VM failed during start-up: ${this.failure?.message}`);
    if (!vmStarted) throw new Error("proxy_on_vm_start returned false: the VM refused to start");
    if (this.options.config !== undefined && !this.configure(this.options.config)) {
      throw new Error(
        this.failed
          ? `Wasm VM failed in proxy_on_configure: ${this.failure?.message}`
          : "proxy_on_configure returned false: the plugin rejected its configuration",
      );
    }
  }

  /** What the host functions see of the host (vm/imports/). */
  private importHost(): ImportHost {
    return {
      options: this.options,
      logLevel: this.logLevel,
      mem: this.mem,
      chain: this.chain,
      metrics: this.metricStore,
      vmConfig: this.vmConfig,
      pluginConfig: () => this.vm.pluginConfig,
      callResponse: () => this.calls.response,
      callStatus: () => this.calls.status,
      pending: this.calls.pending,
      nextCallToken: () => this.calls.nextCallToken(),
      effective: () => this.effective(),
      effectiveStream: () => this.effectiveStream(),
      setEffective: (id) => this.setEffective(id),
      record: (level, message, contextId, source) => this.record(level, message, contextId, source),
      hostLog: (level, message) => this.hostLog(level, message),
      after: (fn) => this.queue.after(fn),
      run: (fn) => this.queue.run(fn),
      invoke: (name, contextId, ...args) => this.vm.invoke(name, contextId, ...args),
      now: () => this.now(),
      setTickPeriod: (ms) => this.setTickPeriod(ms),
      rootDone: () => {
        if (!this.vm.rootDonePending) return false;
        this.queue.after(() => this.vm.deleteRoot());
        return true;
      },
    };
  }

  // ----- logs --------------------------------------------------------------

  private record(level: number, message: string, contextId: number, source: "plugin" | "host"): void {
    const entry: LogEntry = { level, levelName: LOG_LEVEL_NAMES[level] ?? "critical", message, contextId, source };
    this.logs.push(entry);
    this.chain.live.get(contextId)?.logs.push(entry);
    try {
      this.options.onLog?.(entry);
    } catch {
      // A faulty log hook must not affect the module.
    }
  }

  private hostLog(level: number, message: string, contextId = this.effective()): void {
    this.record(level, message, contextId, "host");
  }

  // ----- HTTP call answers -------------------------------------------------

  private deliverAnswer(token: number, response: CallResponse | null): void {
    if (!this.calls.close(token)) return;
    if (this.failed || !this.vm.rootAlive) return;
    this.calls.withAnswer(response, () => {
      this.vm.invoke(
        "proxy_on_http_call_response",
        ROOT_ID,
        ROOT_ID,
        token,
        response ? response.headers.length : 0,
        response ? response.body.length : 0,
        response ? response.trailers.length : 0,
      );
    });
  }

  // ----- contexts, time, ticks ---------------------------------------------

  /** The effective context id (falls back to the called context when it no longer exists). */
  private effective(): number {
    const id = this.vm.effectiveContext;
    if (id === ROOT_ID || this.chain.current(id)) return id;
    return this.vm.currentContext;
  }

  private effectiveStream(): StreamState | undefined {
    return this.chain.current(this.effective());
  }

  private setEffective(id: number): boolean {
    if (id !== ROOT_ID && !this.chain.current(id)) return false;
    if (id === ROOT_ID && !this.vm.rootAlive) return false;
    this.vm.effectiveContext = id;
    return true;
  }

  private now(): bigint {
    if (this.options.now) return this.options.now();
    return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  }

  private setTickPeriod(ms: number): void {
    this.tickPeriodMs = ms;
    if (this.options.autoTick && !this.closed && !this.failed) {
      this.stopTicks();
      if (this.tickPeriodMs > 0) {
        this.tickTimer = setInterval(() => this.tick(), this.tickPeriodMs);
        this.tickTimer.unref();
      }
    }
  }

  private stopTicks(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }
}
