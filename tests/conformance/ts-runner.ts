// Plays conformance scenarios (tests/conformance/README.md) on the project's own
// proxy-wasm host (host/, V8) and writes the same normalised transcript as the C++
// embedder (build/cpphost/ai-json-mode-cpphost run): the calls into the VM, every
// state-changing host call with its arguments and result, log lines at info and
// above, what went upstream and to each client, call answers, and at the end what
// each client received, the calls and the metrics.
//
// The host is driven only through its public API (host/index.ts): ProxyWasmHost
// with HostOptions.trace (host calls), onLog, onHttpCall, now/monotonicMs (the
// scenario's clocks), the stream API and the call answers. What the host does not
// report itself is observed from outside:
// - calls into the VM: the host calls the module's exports through
//   `host.exports`, which this runner wraps (and wraps again after a VM
//   re-creation binds a new instance);
// - payloads of host calls (set_buffer_bytes data, a call's body, property
//   values): read from the module's memory with TraceEntry.raw;
// - the stream idle timeout: the host arms timers with setTimeout; while a
//   scenario runs, setTimeout/clearTimeout keep them on the scenario's clock
//   and `advance` fires them, one at a time, in time order.
//
// Names follow the C++ runner: vm1, vm2 (a new one per re-creation), root1,
// root2 (one per accepted reconfiguration or re-creation), stream names, calls
// numbered by dispatch order. host/ has no configuration canary and reconfigures
// its one root context in place (docs/host.md); events of a configuration the
// plugin refused are named `rejected<index>` (the C++ host shows them on its
// canary).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  LogLevel,
  ProxyWasmHost,
  WasmResult,
  type HttpCall,
  type HttpStream,
  type LocalResponse,
  type LogEntry,
  type Pairs,
  type TraceEntry,
  decodePairs,
  toPairs,
} from "../../host/index.ts";
import {
  configText,
  resolveBody,
  type BodyJson,
  type BodySpec,
  type Scenario,
  type Step,
  type TEvent,
  type Transcript,
} from "./corpus.ts";

const ROOT_ID = 1;
/** WasmResult's names by value, as the transcript writes a host call's result. */
const RESULTS: string[] = [];
for (const [name, value] of Object.entries(WasmResult)) RESULTS[value] = name;
const MAPS = [
  "request_headers",
  "request_trailers",
  "response_headers",
  "response_trailers",
  "grpc_initial_metadata",
  "grpc_trailing_metadata",
  "http_call_response_headers",
  "http_call_response_trailers",
];
const BUFFERS = [
  "request_body",
  "response_body",
  "downstream_data",
  "upstream_data",
  "http_call_response_body",
  "grpc_receive_buffer",
  "vm_configuration",
  "plugin_configuration",
  "call_data",
  "redis_call_response",
];
const STREAM_TYPES = ["request", "response", "downstream", "upstream"];
const METRIC_TYPES = ["counter", "gauge", "histogram"];
/** cpp-host's signatures that return a value (the C++ transcript records `ret` for these). */
const RETURNS_VALUE = new Set([
  "main",
  "proxy_validate_configuration",
  "proxy_on_vm_start",
  "proxy_on_configure",
  "proxy_on_request_headers",
  "proxy_on_request_body",
  "proxy_on_request_trailers",
  "proxy_on_request_metadata",
  "proxy_on_response_headers",
  "proxy_on_response_body",
  "proxy_on_response_trailers",
  "proxy_on_response_metadata",
  "proxy_on_done",
]);
/** Exports recorded as calls into the VM (the C++ runner wraps the same). */
const VM_CALLS = new Set([
  "_initialize",
  "_start",
  "main",
  "proxy_on_tick",
  "proxy_on_context_create",
  "proxy_on_http_call_response",
  "proxy_on_queue_ready",
  "proxy_on_foreign_function",
  "proxy_on_log",
  "proxy_on_delete",
  ...RETURNS_VALUE,
]);

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
const lossyUtf8 = new TextDecoder("utf-8");

/** A body as the transcript writes it. */
export function bodyJson(bytes: Uint8Array): BodyJson {
  if (bytes.length > 65536) return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  try {
    return { text: fatalUtf8.decode(bytes) };
  } catch {
    return { base64: Buffer.from(bytes).toString("base64") };
  }
}

function levelOf(l: string | number | undefined): number {
  if (l === undefined) return 2;
  if (typeof l === "number") return l;
  return Object.hasOwn(LogLevel, l) ? LogLevel[l as keyof typeof LogLevel] : Number(l);
}

interface FakeTimer {
  handle: object;
  due: number;
  seq: number;
  fn: () => void;
}

interface CallRecord {
  index: number;
  token: number;
  stream: string;
  root: string;
  cluster: string;
  deadline: number;
  state: "pending" | "answered" | "dropped" | "cancelled";
}

interface StreamRecord {
  name: string;
  s: HttpStream | null;
  upstream: string;
  destroyed: boolean;
  clientReset: boolean;
}

/** Module bytes, read once per run. */
const moduleFiles = new Map<string, Uint8Array>();

function moduleBytes(path: string): Uint8Array {
  let b = moduleFiles.get(path);
  if (!b) {
    b = new Uint8Array(readFileSync(path));
    moduleFiles.set(path, b);
  }
  return b;
}

/** One scenario on host/. */
class TsScenario {
  readonly events: TEvent[] = [];
  readonly errors: string[] = [];
  readonly contexts: Record<string, { vm: string; id: number }> = {};
  private host!: ProxyWasmHost;
  private wall: number;
  private mono: number;
  private readonly logLevel: number;
  private vmSeq = 0;
  private rootSeq = 0;
  private vmName = "";
  private rootName = "";
  /** The root context calls are delivered to while an answer runs (host/ has one root id). */
  private answeringRoot: string | null = null;
  /** Events of a configuration in progress (their root name is known once it is accepted or refused). */
  private configuring: TEvent[] | null = null;
  private readonly streamsById = new Map<number, StreamRecord>();
  /** The stream being opened (its context id is known once the host creates its context). */
  private opening: StreamRecord | null = null;
  /** Events are recorded (the scenario's teardown is not, as in the C++ runner). */
  private recording = true;
  private readonly streamRoot = new Map<number, string>();
  private readonly streams: StreamRecord[] = [];
  private readonly calls: CallRecord[] = [];
  private readonly metricNames = new Map<number, string>();
  private readonly metrics = new Map<string, number>();
  private configs = 0;
  /** CPU time (ms) the scenario's steps took, start-up and configuration excluded. */
  stepsCpuMs = 0;

  constructor(
    private readonly sc: Scenario,
    /** No tracing at all (benchmarks): only what clients received, the calls and the metrics. */
    private readonly quiet = false,
  ) {
    this.wall = sc.clock?.wallMs ?? 1700000000000;
    this.mono = sc.clock?.monoMs ?? 1000000;
    this.logLevel = levelOf(sc.logLevel);
  }

  private record(e: TEvent): void {
    if (!this.recording) return;
    (this.configuring ?? this.events).push(e);
  }

  private ctxName(id: number): string {
    if (id === 0) return this.vmName;
    if (id === ROOT_ID) return this.answeringRoot ?? this.rootName;
    const s = this.streamsById.get(id);
    if (s) return s.name;
    if (this.opening) {
      // proxy_on_context_create of the stream being opened.
      this.streamsById.set(id, this.opening);
      return this.opening.name;
    }
    return String(id);
  }

  private memory(): Uint8Array {
    return new Uint8Array((this.host.exports.memory as WebAssembly.Memory).buffer);
  }

  private read(ptr: unknown, len: unknown): Uint8Array {
    const p = Number(ptr) >>> 0;
    const n = Number(len) >>> 0;
    const m = this.memory();
    if (p + n > m.length) return new Uint8Array(0);
    return m.slice(p, p + n);
  }

  private text(ptr: unknown, len: unknown): string {
    return lossyUtf8.decode(this.read(ptr, len));
  }

  // ---- host calls (HostOptions.trace) ---------------------------------------------

  private onTrace(t: TraceEntry): void {
    const r = RESULTS[t.result] ?? String(t.result);
    const ctx = this.ctxName(t.contextId);
    const raw = t.raw;
    const e: TEvent = { ev: "call", ctx, fn: "" };
    switch (t.name) {
      case "proxy_add_header_map_value":
      case "proxy_replace_header_map_value":
        e.fn = t.name.slice(6);
        e.map = MAPS[Number(raw[0])] ?? "unknown";
        e.key = this.text(raw[1], raw[2]);
        e.value = this.text(raw[3], raw[4]);
        break;
      case "proxy_remove_header_map_value":
        e.fn = "remove_header_map_value";
        e.map = MAPS[Number(raw[0])] ?? "unknown";
        e.key = this.text(raw[1], raw[2]);
        break;
      case "proxy_set_header_map_pairs":
        e.fn = "set_header_map_pairs";
        e.map = MAPS[Number(raw[0])] ?? "unknown";
        e.pairs = decodePairs(this.read(raw[1], raw[2])) ?? [];
        break;
      case "proxy_set_buffer_bytes":
        e.fn = "set_buffer_bytes";
        e.buffer = BUFFERS[Number(raw[0])] ?? "unknown";
        e.start = Number(raw[1]) >>> 0;
        e.length = Number(raw[2]) >>> 0;
        e.data = bodyJson(this.read(raw[3], raw[4]));
        break;
      case "proxy_http_call": {
        e.fn = "http_call";
        e.root = this.streamRoot.get(t.contextId) ?? this.answeringRoot ?? this.rootName;
        e.cluster = this.text(raw[0], raw[1]);
        const headers: Pairs = decodePairs(this.read(raw[2], raw[3])) ?? [];
        const body = this.read(raw[4], raw[5]);
        // As the C++ host writes them: content-length set for a non-empty body once the call passed its checks.
        if (t.result !== 2 && body.length > 0) {
          const i = headers.findIndex(([k]) => k === "content-length");
          if (i >= 0) headers[i] = ["content-length", String(body.length)];
          else headers.push(["content-length", String(body.length)]);
        }
        e.headers = headers;
        e.body = bodyJson(body);
        const trailers = decodePairs(this.read(raw[6], raw[7])) ?? [];
        if (trailers.length) e.trailers = trailers;
        e.timeout = Number(raw[8]) | 0;
        e.r = r;
        const rec = t.result === 0 ? this.calls.find((c) => c.token === this.lastToken) : undefined;
        if (rec) e.call = rec.index;
        this.record(e);
        return;
      }
      case "proxy_continue_stream":
      case "proxy_close_stream":
        e.fn = t.name.slice(6);
        e.stream = STREAM_TYPES[Number(raw[0])] ?? "unknown";
        break;
      case "proxy_send_local_response": {
        e.fn = "send_local_response";
        e.status = Number(raw[0]) >>> 0;
        e.details = this.text(raw[1], raw[2]);
        e.body = bodyJson(this.read(raw[3], raw[4]));
        e.headers = decodePairs(this.read(raw[5], raw[6])) ?? [];
        e.grpc_status = Number(raw[7]) | 0;
        break;
      }
      case "proxy_set_effective_context": {
        e.fn = "set_effective_context";
        const id = Number(raw[0]) >>> 0;
        e.target = t.result === 0 ? this.ctxName(id) : id;
        break;
      }
      case "proxy_set_property":
        e.fn = "set_property";
        e.key = this.text(raw[0], raw[1]).replaceAll("\0", ".");
        e.value = this.text(raw[2], raw[3]);
        break;
      case "proxy_define_metric": {
        e.fn = "define_metric";
        e.type = METRIC_TYPES[Number(raw[0])] ?? "unknown";
        e.name = this.text(raw[1], raw[2]);
        if (t.result === 0) {
          const id = new DataView(this.memory().buffer).getUint32(Number(raw[3]) >>> 0, true);
          this.metricNames.set(id, String(e.name));
          if (!this.metrics.has(String(e.name))) this.metrics.set(String(e.name), 0);
        }
        break;
      }
      case "proxy_increment_metric":
      case "proxy_record_metric": {
        const name = this.metricNames.get(Number(raw[0]) >>> 0);
        e.fn = t.name.slice(6);
        e.name = name ?? null;
        const v = BigInt.asIntN(64, BigInt(raw[1] as bigint));
        if (t.name === "proxy_increment_metric") e.delta = Number(v);
        else e.value = Number(v);
        break;
      }
      case "proxy_done":
        e.fn = "done";
        break;
      default:
        return; // proxy_log (a log event), WASI, ticks and shared data: not in the transcript
    }
    e.r = r;
    this.record(e);
  }

  private lastToken = 0;

  private onHttpCall(call: HttpCall): void {
    this.lastToken = call.token;
    const index = this.calls.length + 1;
    this.calls.push({
      index,
      token: call.token,
      stream: this.ctxName(call.streamId),
      root: this.streamRoot.get(call.streamId) ?? this.answeringRoot ?? this.rootName,
      cluster: call.cluster,
      deadline: call.timeoutMs > 0 ? this.mono + call.timeoutMs : 0,
      state: "pending",
    });
  }

  private onLog(entry: LogEntry): void {
    if (entry.source === "host") {
      const m = /^stream (\d+): stream idle timeout/.exec(entry.message);
      if (m) this.record({ ev: "idle_timeout", stream: this.ctxName(Number(m[1])) });
      return;
    }
    if (entry.level < 2 || entry.level < this.logLevel) return;
    this.record({ ev: "log", ctx: this.ctxName(entry.contextId), level: entry.levelName, msg: entry.message });
  }

  // ---- calls into the VM: the exports, wrapped ------------------------------------

  private wrapExports(exports: WebAssembly.Exports): WebAssembly.Exports {
    // A new instance: the first VM, or a re-creation after a failure.
    this.vmName = `vm${++this.vmSeq}`;
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value !== "function" || !VM_CALLS.has(name)) {
        out[name] = value;
        continue;
      }
      const f = value as (...a: number[]) => unknown;
      out[name] = (...args: number[]): unknown => this.vmCall(name, f, args);
    }
    return out as WebAssembly.Exports;
  }

  private vmCall(name: string, f: (...a: number[]) => unknown, args: number[]): unknown {
    const isProxy = name.startsWith("proxy_on_");
    const id = isProxy ? args[0]! >>> 0 : 0;
    if (name === "proxy_on_context_create" && id === ROOT_ID) {
      this.rootName = `root${++this.rootSeq}`;
      this.contexts[this.rootName] = { vm: this.vmName, id: ROOT_ID };
    }
    const e: TEvent = { ev: "vm", ctx: this.ctxName(id), fn: name, args: [] };
    if (name === "proxy_on_context_create") {
      const parent = args[1]! >>> 0;
      e.args = [parent === 0 ? null : this.ctxName(parent)];
    } else if (name === "proxy_on_http_call_response") {
      const rec = this.calls.find((c) => c.token === args[1]! >>> 0);
      e.args = [rec ? rec.index : 0, ...args.slice(2).map((a) => a >>> 0)];
    } else {
      e.args = (isProxy ? args.slice(1) : name === "main" ? [] : args).map((a) => a >>> 0);
    }
    this.record(e);
    let r: unknown;
    try {
      r = f(...args);
    } catch (err) {
      e.trap = true;
      delete e.ret;
      this.record({ ev: "vm_failed", vm: this.vmName, fn: name });
      throw err;
    }
    if (RETURNS_VALUE.has(name) && r !== undefined) e.ret = typeof r === "bigint" ? Number(r) : Number(r) >>> 0;
    return r;
  }

  // ---- the scenario ------------------------------------------------------------

  async run(wasm: string, modules: Record<string, string>): Promise<void> {
    const sc = this.sc;
    const moduleName = sc.module ?? "plugin";
    const path = moduleName === "plugin" ? wasm : modules[moduleName];
    if (!path) {
      this.errors.push(`no module named ${moduleName}`);
      return;
    }
    const clusters = Object.keys(sc.clusters ?? {});
    const unhealthy = clusters.filter((c) => sc.clusters![c] !== "healthy");
    const limit = sc.bufferLimit ?? 32768;
    const host = new ProxyWasmHost({
      pluginName: sc.plugin?.name ?? "ai-json-mode",
      rootId: sc.plugin?.rootId ?? "",
      vmId: sc.plugin?.vmId ?? "",
      vmConfig: sc.plugin?.vmConfig === undefined ? undefined : configText(sc.plugin.vmConfig),
      failStrategy: sc.failStrategy === "FAIL_OPEN" ? "open" : "close",
      envoy: "1.27",
      bufferLimitBytes: limit,
      http2BufferLimitBytes: limit,
      streamIdleTimeoutMs: sc.idleTimeoutMs ?? 300000,
      logLevel: this.logLevel,
      clusters,
      unhealthyClusters: unhealthy,
      now: () => BigInt(this.wall) * 1000000n,
      monotonicMs: () => this.mono,
      trace: this.quiet ? undefined : (t) => this.onTrace(t),
      onLog: this.quiet ? undefined : (l) => this.onLog(l),
      onHttpCall: (c) => this.onHttpCall(c),
    });
    this.host = host;
    let instanceExports: WebAssembly.Exports = {};
    Object.defineProperty(host, "exports", {
      get: () => instanceExports,
      set: (v: WebAssembly.Exports) => {
        instanceExports = this.quiet ? v : this.wrapExports(v);
      },
      configurable: true,
    });
    // The VM starts with the first configuration (the C++ host creates it then).
    this.configuring = [];
    const bytes = moduleBytes(path);
    try {
      await host.start(bytes);
    } catch (e) {
      this.configuring = null;
      this.errors.push(`the module did not start: ${(e as Error).message}`);
      return;
    }
    const started = this.configuring;
    this.configuring = null;
    this.installTimers();
    try {
      if (sc.config !== undefined) this.configure(sc.config, started);
      else this.events.push(...started);
      const cpu0 = process.cpuUsage();
      sc.steps.forEach((st, i) => {
        this.events.push({ ev: "step", i });
        try {
          this.step(st, i);
        } catch (e) {
          this.scenarioError(`step ${i}: ${(e as Error).message}`);
        }
        this.settle();
      });
      const cpu = process.cpuUsage(cpu0);
      this.stepsCpuMs = (cpu.user + cpu.system) / 1000;
    } finally {
      this.restoreTimers?.();
      this.recording = false;
      host.close();
    }
  }

  private scenarioError(msg: string): void {
    this.errors.push(msg);
    this.events.push({ ev: "scenario_error", msg });
  }

  private configure(config: unknown, before: TEvent[] = []): void {
    const index = ++this.configs;
    const firstRoot = this.rootSeq;
    const rootBefore = this.rootName;
    this.configuring = [];
    const accepted = this.host.configure(configText(config));
    const during = this.configuring;
    this.configuring = null;
    // The first accepted configuration keeps root1 (host/ started it with the VM);
    // a later one stands for the new root context Envoy creates for it.
    const fresh = index > 1 || firstRoot === 0;
    let name = rootBefore;
    if (accepted && fresh && index > 1) {
      name = `root${++this.rootSeq}`;
      this.rootName = name;
      this.contexts[name] = { vm: this.vmName, id: ROOT_ID };
    }
    const renamed = accepted ? name : `rejected${index}`;
    for (const e of during) {
      if (e.ctx === rootBefore) e.ctx = renamed;
      if (e.root === rootBefore) e.root = renamed;
      if (e.ev === "vm" && Array.isArray(e.args) && e.args[0] === rootBefore) e.args = [renamed];
    }
    if (!accepted && index === 1) {
      // The C++ host has no VM at all when the first configuration is refused.
      for (const e of before) if (e.ev !== "vm" && e.ev !== "call" && e.ev !== "log") this.events.push(e);
      for (const e of before) if (e.ev === "vm" || e.ev === "call" || e.ev === "log") e.ctx = `rejected${index}`;
      this.events.push(...before.filter((e) => e.ctx === `rejected${index}`));
    } else {
      this.events.push(...before);
    }
    this.events.push(...during);
    this.events.push(
      accepted
        ? { ev: "configure", index, accepted: true, root: this.rootName }
        : { ev: "configure", index, accepted: false },
    );
  }

  private step(st: Step, i: number): void {
    if (st.stream !== undefined) return this.streamStep(st);
    if (
      st.answer !== undefined ||
      st.timeout !== undefined ||
      st.connectFailure !== undefined ||
      st.reset !== undefined
    )
      return this.answer(st);
    if (st.configure !== undefined) return this.configure(st.configure);
    if (st.advance !== undefined) return this.advance(Math.max(0, st.advance));
    if (st.tick) {
      this.host.tick();
      return;
    }
    this.scenarioError(`step ${i} does nothing`);
  }

  private streamStep(st: Step): void {
    const name = st.stream!;
    let rec = this.streams.find((s) => s.name === name);
    if (st.requestHeaders !== undefined) {
      if (rec) return this.scenarioError(`stream ${name} already started`);
      rec = { name, s: null, upstream: st.upstream ?? "http1", destroyed: false, clientReset: false };
      this.streams.push(rec);
      const wasFailed = this.host.failed;
      const generation = this.host.generation;
      const properties: Record<string, string> = { ...(st.properties ?? {}) };
      this.opening = rec;
      const mark = this.events.length;
      let s: HttpStream;
      try {
        s = this.host.stream({
          routeName: st.route,
          clusterName: st.cluster,
          protocol: st.downstreamProtocol,
          properties,
        });
      } finally {
        this.opening = null;
      }
      rec.s = s;
      this.streamsById.set(s.id, rec);
      this.streamRoot.set(s.id, this.rootName);
      this.contexts[name] = { vm: this.vmName, id: s.id };
      this.listen(rec, s);
      // Envoy decides about the VM before the stream's context exists: these events go in front of it.
      const notes: TEvent[] = [];
      if (wasFailed) {
        notes.push(
          this.host.generation !== generation
            ? { ev: "vm_recover", stream: name, result: "recovered", vm: this.vmName, root: this.rootName }
            : { ev: "vm_recover", stream: name, result: "interval_not_reached" },
        );
      }
      if (this.host.failed && this.sc.failStrategy === "FAIL_OPEN")
        notes.push({ ev: "filter", stream: name, state: "skipped_fail_open" });
      const at = this.events.findIndex(
        (e, k) => k >= mark && e.ev === "vm" && e.fn === "proxy_on_context_create" && e.ctx === name,
      );
      this.events.splice(at < 0 ? this.events.length : at, 0, ...notes);
      this.action++;
      s.requestHeaders(toPairs(st.requestHeaders), st.endStream ?? false);
      return;
    }
    if (!rec || !rec.s) return this.scenarioError(`stream ${name} used before its requestHeaders`);
    const s = rec.s;
    const finished = s.complete || s.reset || rec.clientReset;
    const end = st.endStream ?? false;
    if (st.clientReset) {
      if (finished) return this.skipped(name, "stream already over");
      rec.clientReset = true;
      this.events.push({ ev: "reset", stream: name, reason: "client_reset" });
      return;
    }
    if (st.requestBody !== undefined) {
      const body = resolveBody(st.requestBody as BodySpec);
      if (finished || s.localResponse) return this.skipped(name, "stream already answered");
      this.action++;
      s.requestBody(body, end);
      return;
    }
    const cancelled = finished || s.localResponse !== undefined;
    if (st.responseHeaders !== undefined) {
      if (cancelled) return this.skipped(name, "upstream request no longer exists");
      if (!this.upstreamStarted.has(name)) return this.skipped(name, "request headers never went upstream");
      if (st.upstream) rec.upstream = st.upstream;
      this.action++;
      s.responseHeaders(toPairs(st.responseHeaders), end);
      return;
    }
    if (st.responseBody !== undefined) {
      const body = resolveBody(st.responseBody as BodySpec);
      if (cancelled) return this.skipped(name, "upstream request no longer exists");
      const chunk = Math.max(1, st.chunkSize ?? body.length);
      const frames: Buffer[] = [];
      for (let off = 0; off < body.length; off += chunk) frames.push(body.subarray(off, off + chunk));
      const h2 = rec.upstream === "http2";
      const over = (): boolean => s.complete || s.reset || rec.clientReset || s.localResponse !== undefined;
      frames.forEach((f, k) => {
        if (over()) return;
        this.action++;
        s.responseBody(f, end && h2 && k === frames.length - 1);
      });
      if (end && (!h2 || frames.length === 0) && !over()) {
        this.action++;
        s.responseBody(new Uint8Array(0), true);
      }
      return;
    }
    this.scenarioError(`${name}: step does nothing`);
  }

  private readonly upstreamStarted = new Set<string>();
  /** Each input the runner gives the host (a frame, an answer, a tick of the clock) is one action. */
  private action = 0;
  /** The action a data event was recorded in: an end of stream in the same action belongs to it. */
  private readonly dataAction = new WeakMap<TEvent, number>();

  private skipped(stream: string, reason: string): void {
    this.events.push({ ev: "skipped", stream, reason });
  }

  /** What the host reports of a stream, as transcript events. */
  private listen(rec: StreamRecord, s: HttpStream): void {
    const name = rec.name;
    const lastFor = (ev: string): TEvent | undefined => {
      const last = this.events[this.events.length - 1];
      return last && last.ev === ev && last.stream === name ? last : undefined;
    };
    // Data events of one side ("upstream" or "client"): a frame, and the end of stream, which
    // joins the headers or the last frame recorded in the same action.
    const onData = (side: string) => (chunk: Uint8Array) => {
      if (!chunk.length) return;
      const e: TEvent = { ev: `${side}_data`, stream: name, size: chunk.length, end: false };
      this.dataAction.set(e, this.action);
      this.record(e);
    };
    const onEnd = (side: string) => () => {
      const h = lastFor(`${side}_headers`);
      if (h && h.end) return;
      const d = lastFor(`${side}_data`);
      if (d && this.dataAction.get(d) === this.action) d.end = true;
      else this.record({ ev: `${side}_data`, stream: name, size: 0, end: true });
    };
    s.on("upstream-headers", (headers: Pairs, end: boolean) => {
      this.upstreamStarted.add(name);
      this.record({ ev: "upstream_headers", stream: name, headers, end });
    });
    s.on("upstream-data", onData("upstream"));
    s.on("upstream-end", onEnd("upstream"));
    s.on("headers", (_status: number, headers: Pairs, end: boolean) => {
      this.record({ ev: "client_headers", stream: name, headers, end });
    });
    s.on("data", onData("client"));
    s.on("end", onEnd("client"));
    s.on("local-response", (lr: LocalResponse) => {
      this.record({
        ev: "local_reply",
        stream: name,
        status: lr.status,
        details: lr.details,
        body: bodyJson(lr.body),
      });
    });
    s.on("reset", (reason: string) => {
      this.record({ ev: "reset", stream: name, reason: normaliseReset(reason) });
    });
  }

  private answer(st: Step): void {
    const kinds = ["answer", "timeout", "connectFailure", "reset"] as const;
    let kind: (typeof kinds)[number] = "answer";
    let index = 0;
    for (const k of kinds) {
      if (st[k] !== undefined) {
        kind = k;
        index = Number(st[k]);
      }
    }
    if (index < 1) return this.scenarioError(`a call answer names call ${index} (calls count from 1)`);
    const rec = this.calls[index - 1];
    if (!rec) {
      this.events.push({ ev: "skipped", call: index, reason: "call never made" });
      return;
    }
    if (rec.state === "answered" || rec.state === "dropped") {
      this.events.push({ ev: "skipped", call: index, reason: "call already answered" });
      return;
    }
    const e: TEvent = { ev: "call_answer", call: index, kind };
    if (kind === "answer") e.status = st.status ?? 200;
    else if (kind !== "reset") e.status = kind === "timeout" ? 504 : 503;
    this.events.push(e);
    const pending = this.host.pendingCalls().some((c) => c.token === rec.token);
    if (!pending) {
      // host/ dropped the call when the VM failed: its answer reaches nobody.
      rec.state = "dropped";
      this.events.push({ ev: "call_dropped", call: index, reason: "vm_failed" });
      return;
    }
    rec.state = "answered";
    this.answeringRoot = rec.root;
    this.action++;
    try {
      if (kind === "answer") {
        const headers = toPairs(st.headers);
        this.host.answer(rec.token, st.status ?? 200, headers, resolveBody(st.body as BodySpec));
      } else if (kind === "timeout") {
        this.host.timeout(rec.token);
      } else if (kind === "connectFailure") {
        this.host.refuse(rec.token);
      } else {
        this.host.reset(rec.token);
      }
    } finally {
      this.answeringRoot = null;
    }
  }

  /**
   * Both clocks move on; on the way call timeouts (the runner's, as Envoy's async
   * client fires them) and the host's own timers (the stream idle timeouts) fire one
   * at a time in time order, the call first when both are due at once, each followed
   * by the end of the streams that finished.
   */
  private advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const call = this.calls
        .filter((c) => c.state === "pending" && c.deadline > 0 && c.deadline <= target)
        .sort((a, b) => a.deadline - b.deadline || a.index - b.index)[0];
      const timer = this.nextTimer();
      if (!call && !(timer && timer.due <= target)) break;
      if (call && !(timer && timer.due < call.deadline)) {
        this.setClock(call.deadline);
        this.answer({ timeout: call.index });
      } else if (timer) {
        this.setClock(timer.due);
        this.timers.delete(timer.handle);
        this.action++;
        timer.fn();
      }
      this.settle();
    }
    this.setClock(target);
  }

  private setClock(t: number): void {
    if (t <= this.mono) return;
    this.wall += t - this.mono;
    this.mono = t;
  }

  private nextTimer(): FakeTimer | undefined {
    let next: FakeTimer | undefined;
    for (const t of this.timers.values())
      if (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq)) next = t;
    return next;
  }

  /** Timers the host armed (stream idle timeouts), on the scenario's clock: they fire only in advance(). */
  private readonly timers = new Map<object, FakeTimer>();
  private timerSeq = 0;
  private restoreTimers: (() => void) | null = null;

  private installTimers(): void {
    const set = globalThis.setTimeout;
    const clear = globalThis.clearTimeout;
    const timers = this.timers;
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const handle = {
        unref: () => handle,
        ref: () => handle,
        hasRef: () => false,
        refresh: () => handle,
      };
      timers.set(handle, {
        handle,
        due: this.mono + Math.max(1, ms ?? 0),
        seq: ++this.timerSeq,
        fn: () => fn(...args),
      });
      return handle;
    }) as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((t: object | undefined) => {
      if (t && timers.has(t)) timers.delete(t);
      else clear(t as NodeJS.Timeout);
    }) as typeof clearTimeout;
    this.restoreTimers = () => {
      globalThis.setTimeout = set;
      globalThis.clearTimeout = clear;
      timers.clear();
    };
  }

  /** Streams that ended are destroyed: proxy_on_log, proxy_on_done, proxy_on_delete. */
  private settle(): void {
    for (const rec of this.streams) {
      if (rec.destroyed || !rec.s) continue;
      const s = rec.s;
      if (!(s.complete || s.reset || rec.clientReset)) continue;
      rec.destroyed = true;
      this.events.push({ ev: "stream_end", stream: rec.name });
      s.done();
    }
  }

  transcript(): Transcript {
    const clients: Transcript["clients"] = {};
    for (const rec of this.streams) {
      const s = rec.s;
      if (!s) continue;
      const reset = rec.clientReset ? "client_reset" : s.resetReason ? normaliseReset(s.resetReason) : false;
      const c: Transcript["clients"][string] = {
        status: s.status ?? null,
        headers: s.headers,
        body: bodyJson(s.body),
        complete: s.complete,
        reset,
        pending: !s.complete && reset === false,
      };
      const lr = s.localResponse;
      if (lr && !(s.reset && s.status !== undefined && s.status !== lr.status))
        c.localReply = { status: lr.status, details: lr.details };
      clients[rec.name] = c;
    }
    const metrics: Record<string, number> = {};
    for (const [name, m] of this.host?.metrics() ?? []) metrics[name] = Number(m.value);
    for (const name of this.metrics.keys()) metrics[name] ??= 0;
    return {
      name: this.sc.name,
      events: this.events,
      contexts: this.contexts,
      clients,
      calls: this.calls.map((c) => ({ call: c.index, stream: c.stream, cluster: c.cluster, state: c.state })),
      metrics: Object.fromEntries(Object.entries(metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      errors: this.errors,
      ok: this.errors.length === 0,
    };
  }
}

function normaliseReset(reason: string): string {
  if (reason.startsWith("local reply after the response started")) return "local_reply_after_response_started";
  return reason;
}

/** Runs scenarios on host/ one after the other; one transcript per scenario, in order. */
export async function runTsHost(
  wasm: string,
  scenarios: Scenario[],
  modules: Record<string, string> = {},
  opts: { quiet?: boolean; stepsCpu?: (ms: number) => void } = {},
): Promise<Transcript[]> {
  const out: Transcript[] = [];
  for (const sc of scenarios) {
    const t = new TsScenario(sc, opts.quiet ?? false);
    try {
      await t.run(wasm, modules);
    } catch (e) {
      t.errors.push(`the runner failed: ${(e as Error).stack ?? e}`);
    }
    opts.stepsCpu?.(t.stepsCpuMs);
    out.push(t.transcript());
  }
  return out;
}
