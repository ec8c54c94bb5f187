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
// This file holds the host itself: its API, start-up, the work queue, VM
// calls and traps, logs, contexts and call answers. Streams are in
// stream.ts and filter-chain/, the functions offered to the module in
// vm/imports/, the public API in index.ts.

import { readFile } from "node:fs/promises";
import { ABI_MARKERS, LOG_LEVEL_NAMES, LogLevel, ROOT_ID, WasmResult } from "./abi/constants.ts";
import { utf8 } from "./abi/pairs.ts";
import { ABI_0_1_0_ONLY, ENV_FUNCTIONS, WASI_FUNCTIONS, WASI_MODULES } from "./abi/signatures.ts";
import { readImports } from "./abi/wasm-binary.ts";
import { errorMessage, toBytes } from "./bytes.ts";
import { FilterChain } from "./filter-chain/index.ts";
import type { StreamState } from "./filter-chain/state.ts";
import { toPairs } from "./header-map.ts";
import type { HttpStream } from "./stream.ts";
import type { BodyInit, HeadersInit, HostOptions, HttpCall, LogEntry, MetricValue, StreamProps } from "./types.ts";
import { VmMemory } from "./vm/memory.ts";
import { buildImports, MetricStore, ProcExit, type CallResponse, type ImportHost } from "./vm/imports/index.ts";

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
  /** The current VM trapped (or exited) and was not re-created yet. */
  failed = false;
  /** What failed the VM last (kept after a re-creation). */
  failure: { function: string; message: string; stack?: string } | undefined = undefined;
  /** VM generation: 1, then one more per re-creation after a failure. */
  generation = 1;
  /** VM re-creations that succeeded. */
  restarts = 0;
  /** "0.2.100", "0.2.1" or "0.2.0". */
  abiVersion = "";
  /** The module's exports. */
  exports: WebAssembly.Exports = {};
  /** The tick period the module set (ms, 0 = none). */
  tickPeriodMs = 0;
  readonly options: HostOptions;
  readonly rootContextId = ROOT_ID;

  private readonly mem = new VmMemory();
  private module: WebAssembly.Module | undefined;
  private imports: WebAssembly.Imports | undefined;
  private lastConfig: Uint8Array | null = null;
  private lastRestartAttempt: number | undefined = undefined;
  private readonly failStrategy: "close" | "open";
  private readonly logLevel: number;
  private readonly chain: FilterChain;
  private readonly metricStore = new MetricStore();
  private nextContextId = ROOT_ID + 1;
  private readonly pending = new Map<number, HttpCall>();
  private readonly dropped = new Set<number>();
  private nextToken = 1;
  private callResponse: CallResponse | null = null;
  private status = { code: 0, message: "" };
  private currentContext = 0;
  private effectiveContext = 0;
  private readonly queue: Array<() => void> = [];
  private readonly afterActions: Array<() => void> = [];
  private draining = false;
  private pluginConfig: Uint8Array | null = null;
  private readonly vmConfig: Uint8Array;
  private tickTimer: NodeJS.Timeout | undefined;
  private rootAlive = false;
  private rootDonePending = false;
  private closed = false;

  constructor(opts: HostOptions = {}) {
    this.options = opts;
    this.failStrategy = opts.failStrategy ?? "close";
    this.logLevel = Math.max(0, Math.min(5, opts.logLevel ?? 0));
    this.vmConfig = configBytes(opts.vmConfig);
    const host = this;
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
      invoke: (name, contextId, ...args) => this.invoke(name, contextId, ...args),
      run: (fn) => this.run(fn),
      after: (fn) => {
        this.afterActions.push(fn);
      },
      beforeNewStream: () => this.maybeRestart(),
      hostLog: (level, message, contextId) => this.hostLog(level, message, contextId),
    });
  }

  // ----- public API --------------------------------------------------------

  /** Runs proxy_on_configure with this plugin configuration; returns its result. */
  configure(config: string | object | Uint8Array): boolean {
    if (this.draining) throw new Error("configure() cannot be called from inside a host callback");
    if (this.failed || this.closed) return false;
    const bytes = configBytes(config);
    let result = false;
    this.run(() => {
      this.pluginConfig = bytes;
      try {
        const r = this.invoke("proxy_on_configure", ROOT_ID, ROOT_ID, bytes.length);
        result = !this.failed && (r === undefined || r !== 0);
      } finally {
        this.pluginConfig = null;
      }
    });
    if (result) this.lastConfig = bytes;
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
    return [...this.pending.values()];
  }

  /** Delivers an answer to an HTTP call (proxy_on_http_call_response on the root context). */
  answer(call: HttpCall | number, status: number, headers?: HeadersInit, body?: BodyInit): void {
    const token = this.checkToken(call);
    if (token === undefined) return;
    const pairs = toPairs(headers).filter(([k]) => k !== ":status");
    pairs.unshift([":status", String(status)]);
    const bytes = toBytes(body);
    this.run(() => this.deliverAnswer(token, { headers: pairs, body: bytes, trailers: [] }));
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
    const token = this.checkToken(call);
    if (token === undefined) return;
    this.run(() => this.deliverAnswer(token, null));
  }

  /** Calls proxy_on_tick on the root context. */
  tick(): void {
    this.run(() => {
      this.invoke("proxy_on_tick", ROOT_ID, ROOT_ID);
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
    this.run(() => {
      if (!this.rootAlive || this.failed) return;
      const r = this.invoke("proxy_on_done", ROOT_ID, ROOT_ID);
      if (r === 0 && !this.failed) {
        this.rootDonePending = true;
        return;
      }
      this.deleteRoot();
    });
  }

  // ----- start-up ----------------------------------------------------------

  /** @internal Compiles, links and starts the module. Use loadHost(). */
  async start(bytes: Uint8Array): Promise<void> {
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new Error(`Failed to load Wasm module: ${errorMessage(e)}`);
    }
    this.checkImports(module, bytes);
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const marker = ABI_MARKERS.find(([name]) => exported.has(name));
    if (!marker) {
      throw new Error(
        "Wasm module is missing the Proxy-Wasm ABI version: export one of proxy_abi_version_0_2_100, proxy_abi_version_0_2_1, proxy_abi_version_0_2_0",
      );
    }
    if (marker[1] === "0.1.0") throw new Error("Proxy-Wasm ABI 0.1.0 modules are not supported by this host");
    this.abiVersion = marker[1];
    if (!exported.has("memory")) throw new Error('Wasm module does not export its memory as "memory"');
    if (!exported.has("malloc") && !exported.has("proxy_on_memory_allocate")) {
      throw new Error(
        "Wasm module exports neither malloc nor proxy_on_memory_allocate: the host cannot hand it any data",
      );
    }
    this.module = module;
    this.imports = buildImports(this.importHost(), this.options.trace);
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, this.imports);
    } catch (e) {
      throw new Error(`Failed to instantiate Wasm module: ${errorMessage(e)}`);
    }
    this.bindInstance(instance);

    let vmStarted = true;
    this.run(() => {
      vmStarted = this.startVm();
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

  private bindInstance(instance: WebAssembly.Instance): void {
    this.exports = instance.exports;
    this.mem.bind(
      instance.exports.memory as WebAssembly.Memory,
      (instance.exports.malloc ?? instance.exports.proxy_on_memory_allocate) as (n: number) => number,
    );
  }

  /** _initialize (or _start), the root context and proxy_on_vm_start. False when the VM refused or failed. */
  private startVm(): boolean {
    if (this.has("_initialize")) {
      this.invoke("_initialize", 0);
      if (this.has("main")) this.invoke("main", 0, 0, 0);
    } else if (this.has("_start")) {
      this.invoke("_start", 0);
    }
    if (this.failed) return false;
    this.rootAlive = true;
    this.invoke("proxy_on_context_create", ROOT_ID, ROOT_ID, 0);
    const r = this.invoke("proxy_on_vm_start", ROOT_ID, ROOT_ID, this.vmConfig.length);
    return !this.failed && r !== 0;
  }

  /**
   * Higress re-creates a failed VM when a new stream arrives (FilterConfig::
   * createFilter -> rebuild(true)), at most once per interval: a fresh
   * instance of the same module, started and configured with the last
   * accepted configuration. Streams of the failed VM stay failed.
   */
  private maybeRestart(): void {
    if (!this.failed || this.closed || this.options.vmRestart === false || !this.module || !this.imports) return;
    const interval = this.options.vmRestartIntervalMs ?? HIGRESS_DEFAULTS.vmRestartIntervalMs;
    const now = this.options.monotonicMs ? this.options.monotonicMs() : performance.now();
    if (this.lastRestartAttempt !== undefined && now - this.lastRestartAttempt < interval) return;
    this.lastRestartAttempt = now;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, this.imports);
    } catch (e) {
      this.hostLog(LogLevel.error, `Wasm VM re-creation failed: ${errorMessage(e)}`, 0);
      return;
    }
    this.bindInstance(instance);
    this.failed = false;
    this.generation++;
    this.rootAlive = false;
    this.rootDonePending = false;
    this.tickPeriodMs = 0;
    this.currentContext = 0;
    this.effectiveContext = 0;
    const started = this.startVm();
    let configured = started;
    if (started && this.lastConfig) {
      this.pluginConfig = this.lastConfig;
      try {
        const r = this.invoke("proxy_on_configure", ROOT_ID, ROOT_ID, this.lastConfig.length);
        configured = !this.failed && (r === undefined || r !== 0);
      } finally {
        this.pluginConfig = null;
      }
    }
    if (!configured) {
      if (!this.failed) {
        this.failed = true;
        this.failure = {
          function: "proxy_on_vm_start",
          message: "the re-created VM refused to start or to take its configuration",
        };
      }
      this.hostLog(LogLevel.error, `Wasm VM re-creation failed: ${this.failure?.message}`, 0);
      return;
    }
    this.restarts++;
    this.hostLog(LogLevel.info, `Wasm VM re-created after a failure (generation ${this.generation})`, 0);
  }

  private checkImports(module: WebAssembly.Module, bytes: Uint8Array): void {
    const declared = WebAssembly.Module.imports(module);
    const detailed = readImports(bytes);
    const missing: string[] = [];
    const mismatched: string[] = [];
    for (const imp of declared) {
      const key = `${imp.module}.${imp.name}`;
      let expected: string | undefined;
      if (imp.kind === "function") {
        if (imp.module === "env") expected = ENV_FUNCTIONS[imp.name];
        else if (WASI_MODULES.includes(imp.module)) expected = WASI_FUNCTIONS[imp.name];
      }
      if (!expected) {
        const note =
          imp.kind !== "function" ? ` (${imp.kind})` : ABI_0_1_0_ONLY.has(imp.name) ? " (ABI 0.1.0 only)" : "";
        missing.push(key + note);
        continue;
      }
      const actual = detailed?.find((d) => d.module === imp.module && d.name === imp.name)?.signature;
      if (actual !== undefined && actual !== expected) {
        mismatched.push(`${key}: module wants (${actual}), host provides (${expected})`);
      }
    }
    if (missing.length) {
      throw new Error(
        `Failed to load Wasm module due to a missing import: ${missing.join(", ")}. ` +
          "Like Higress's Envoy, this host provides only env.proxy_* functions and WASI (wasi_snapshot_preview1).",
      );
    }
    if (mismatched.length) {
      throw new Error(`Failed to load Wasm module due to an import type mismatch: ${mismatched.join("; ")}`);
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
      pluginConfig: () => this.pluginConfig,
      callResponse: () => this.callResponse,
      callStatus: () => this.status,
      pending: this.pending,
      nextCallToken: () => this.nextToken++,
      effective: () => this.effective(),
      effectiveStream: () => this.effectiveStream(),
      setEffective: (id) => this.setEffective(id),
      record: (level, message, contextId, source) => this.record(level, message, contextId, source),
      hostLog: (level, message) => this.hostLog(level, message),
      after: (fn) => {
        this.afterActions.push(fn);
      },
      run: (fn) => this.run(fn),
      invoke: (name, contextId, ...args) => this.invoke(name, contextId, ...args),
      now: () => this.now(),
      setTickPeriod: (ms) => this.setTickPeriod(ms),
      rootDone: () => {
        if (!this.rootDonePending) return false;
        this.afterActions.push(() => this.deleteRoot());
        return true;
      },
    };
  }

  // ----- event loop: no VM re-entry ---------------------------------------

  /** Runs fn now, or after the current work when the host is busy (inside a VM call or a hook). */
  private run(fn: () => void): void {
    this.queue.push(fn);
    if (this.draining) return;
    this.draining = true;
    let error: unknown = undefined;
    const step = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        error ??= e; // a throwing event listener must not stall the queue
      }
    };
    try {
      while (this.queue.length) {
        step(this.queue.shift()!);
        while (this.afterActions.length) step(this.afterActions.shift()!);
      }
    } finally {
      this.draining = false;
    }
    if (error !== undefined) throw error;
  }

  private has(name: string): boolean {
    return typeof this.exports[name] === "function";
  }

  /**
   * Calls an export. Returns its i32 result (unsigned), 0 for a void export,
   * undefined when the export does not exist or the VM failed.
   */
  private invoke(name: string, contextId: number, ...args: number[]): number | undefined {
    if (this.failed) return undefined;
    const f = this.exports[name];
    if (typeof f !== "function") return undefined;
    const saved = [this.currentContext, this.effectiveContext];
    this.currentContext = contextId;
    this.effectiveContext = contextId;
    try {
      const r = (f as (...a: number[]) => unknown)(...args);
      if (typeof r === "number") return r >>> 0;
      if (typeof r === "bigint") return Number(BigInt.asUintN(32, r));
      return 0;
    } catch (e) {
      this.trap(name, e, contextId);
      return undefined;
    } finally {
      [this.currentContext, this.effectiveContext] = saved;
    }
  }

  private trap(fn: string, e: unknown, contextId: number): void {
    if (this.failed) return;
    this.failed = true;
    const message =
      e instanceof ProcExit ? e.message : `Uncaught ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const stack = e instanceof Error ? e.stack : undefined;
    this.failure = { function: fn, message, stack };
    const frames = (stack ?? "")
      .split("\n")
      .filter((l) => l.includes("wasm"))
      .map((l, i) => `  ${i}: ${l.trim().replace(/^at /, "")}`);
    this.hostLog(
      LogLevel.critical,
      `Function: ${fn} failed: ${message}` +
        (frames.length ? `\nProxy-Wasm plugin in-VM backtrace:\n${frames.join("\n")}` : ""),
      contextId,
    );
    for (const token of this.pending.keys()) this.dropped.add(token);
    this.pending.clear();
    this.stopTicks();
    // The stream whose callback trapped fails as the callback returns, before
    // anything else the failed call queued; the others at their next callback.
    if (contextId !== ROOT_ID && contextId !== 0)
      this.afterActions.unshift(() => this.chain.failedInCallback(contextId));
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

  private checkToken(call: HttpCall | number): number | undefined {
    const token = typeof call === "number" ? call : call.token;
    if (this.pending.has(token)) return token;
    if (this.dropped.has(token)) return undefined; // dropped by a VM failure or already answered
    throw new Error(`no pending HTTP call with token ${token}`);
  }

  private deliverAnswer(token: number, response: CallResponse | null): void {
    if (!this.pending.has(token)) return;
    this.pending.delete(token);
    this.dropped.add(token);
    if (this.failed || !this.rootAlive) return;
    this.callResponse = response;
    this.status = response ? { code: 0, message: "" } : { code: WasmResult.BrokenConnection, message: "reset" };
    try {
      this.invoke(
        "proxy_on_http_call_response",
        ROOT_ID,
        ROOT_ID,
        token,
        response ? response.headers.length : 0,
        response ? response.body.length : 0,
        response ? response.trailers.length : 0,
      );
    } finally {
      this.callResponse = null;
      this.status = { code: 0, message: "" };
    }
  }

  // ----- contexts, time, ticks ---------------------------------------------

  /** The effective context id (falls back to the called context when it no longer exists). */
  private effective(): number {
    const id = this.effectiveContext;
    if (id === ROOT_ID || this.chain.current(id)) return id;
    return this.currentContext;
  }

  private effectiveStream(): StreamState | undefined {
    return this.chain.current(this.effective());
  }

  private setEffective(id: number): boolean {
    if (id !== ROOT_ID && !this.chain.current(id)) return false;
    if (id === ROOT_ID && !this.rootAlive) return false;
    this.effectiveContext = id;
    return true;
  }

  private deleteRoot(): void {
    this.rootDonePending = false;
    this.invoke("proxy_on_delete", ROOT_ID, ROOT_ID);
    this.rootAlive = false;
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
