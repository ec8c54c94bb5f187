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
// Rules kept from Envoy:
// - The VM is never re-entered from inside a host call. Anything that calls
//   back (an answer, a continue, a local reply) is queued and runs after the
//   current VM call returns.
// - A trap fails the whole VM for good; streams then fail closed (503
//   wasm_fail_stream) or pass through (fail open).
// - Content-length is never recomputed; released headers are exactly the map
//   the module left.

import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import { randomFillSync } from "node:crypto";
import {
  ABI_MARKERS,
  BUFFER_TYPE_MAX,
  BufferType,
  DataStatus,
  HeadersStatus,
  LOG_LEVEL_NAMES,
  LogLevel,
  MAP_TYPE_MAX,
  MapType,
  MetricType,
  STREAM_TYPE_MAX,
  StreamType,
  WasiErrno,
  WasmResult,
} from "./abi/constants.ts";
import { decodePairs, encodePairs, fromUtf8, utf8 } from "./abi/pairs.ts";
import { ABI_0_1_0_ONLY, ENV_FUNCTIONS, WASI_FUNCTIONS, WASI_MODULES } from "./abi/signatures.ts";
import { readImports } from "./abi/wasm-binary.ts";
import type {
  BodyInit,
  HeadersInit,
  HostOptions,
  HttpCall,
  LocalResponse,
  LogEntry,
  MetricValue,
  Pairs,
  PropertyValue,
  StreamProps,
} from "./types.ts";

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

const ROOT_ID = 1;

/** Body of the local reply a failed VM produces (details carry the same text). */
export const FAIL_STREAM_DETAILS = "wasm_fail_stream";
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

// ---------------------------------------------------------------------------
// Small helpers

/** Thrown by memory helpers; host functions turn it into InvalidMemoryAccess. */
class MemoryFault extends Error {}

/** Thrown by WASI proc_exit: it ends the VM call like a trap. */
class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

/** A growable byte buffer (bodies arrive in many small chunks). */
class ByteBuffer {
  private buf = new Uint8Array(0);
  length = 0;

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.length + data.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.length + data.length, this.buf.length * 2, 256));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the contents. */
  copy(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** Replaces the contents. */
  assign(data: Uint8Array): void {
    this.buf = new Uint8Array(data);
    this.length = data.length;
  }
}

function toBytes(body: BodyInit | undefined | null): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array(0);
  return typeof body === "string" ? utf8(body) : new Uint8Array(body);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Normalizes headers: lower-case keys, string values, pseudo-headers first (as Envoy orders them). */
export function toPairs(h: HeadersInit | undefined): Pairs {
  if (!h) return [];
  const raw: Pairs = Array.isArray(h)
    ? h.map(([k, v]) => [String(k).toLowerCase(), String(v)] as [string, string])
    : Object.entries(h).flatMap(([k, v]) =>
        Array.isArray(v)
          ? v.map((x) => [k.toLowerCase(), String(x)] as [string, string])
          : [[k.toLowerCase(), String(v)] as [string, string]],
      );
  return [...raw.filter(([k]) => k.startsWith(":")), ...raw.filter(([k]) => !k.startsWith(":"))];
}

/** Adds a header the way Envoy's addCopy does: pseudo-headers stay in front. */
function addHeader(map: Pairs, key: string, value: string): void {
  if (key.startsWith(":")) {
    let i = 0;
    while (i < map.length && map[i][0].startsWith(":")) i++;
    map.splice(i, 0, [key, value]);
  } else {
    map.push([key, value]);
  }
}

/** Sets a header: the first occurrence gets the value, later ones are removed. */
function setHeader(map: Pairs, key: string, value: string): void {
  const i = map.findIndex(([k]) => k === key);
  if (i < 0) {
    addHeader(map, key, value);
    return;
  }
  map[i] = [key, value];
  for (let j = map.length - 1; j > i; j--) if (map[j][0] === key) map.splice(j, 1);
}

function removeHeader(map: Pairs, key: string): void {
  for (let j = map.length - 1; j >= 0; j--) if (map[j][0] === key) map.splice(j, 1);
}

function firstValue(map: Pairs | null, key: string): string | undefined {
  return map?.find(([k]) => k === key)?.[1];
}

function int64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt.asIntN(64, v), true);
  return out;
}

function serializeProperty(v: PropertyValue): Uint8Array {
  if (typeof v === "string") return utf8(v);
  if (v instanceof Uint8Array) return v;
  if (typeof v === "bigint") return int64(v);
  if (typeof v === "number") return int64(BigInt(Math.trunc(v)));
  if (typeof v === "boolean") return new Uint8Array([v ? 1 : 0]);
  return encodePairs(v);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------
// Streams

type DirectionKind = "request" | "response";

/** One direction of a stream: the request (towards the upstream) or the response (towards the client). */
class Direction {
  constructor(readonly kind: DirectionKind) {}
  /** The header map the module reads and edits. */
  map: Pairs | null = null;
  /** False once the headers callback returned Continue: Envoy then drops its pointer to the map. */
  mapAvailable = false;
  headersSeen = false;
  headersReleased = false;
  /** Headers stopped with StopAll semantics: body callbacks withheld until continue. */
  holdAll = false;
  /** A body callback stopped iteration. */
  bodyStopped = false;
  /** The last body callback asked to buffer (StopIterationAndBuffer / Watermark). */
  buffering = false;
  /** Body bytes held by the filter; buffer 0/1 while they exist. */
  held: ByteBuffer | null = null;
  /** Chunks not yet shown to the module (StopAll). */
  queued: Uint8Array[] = [];
  /** The source sent end of stream. */
  sourceEnded = false;
  /** The module saw end of stream (headers or body callback with eos=1). */
  endSeenByModule = false;
  endReleased = false;
  /** ContinueAndEndStream: the rest of this direction is dropped. */
  ignoreRest = false;
  /** The caller fed headers / end of stream (checked synchronously to catch misuse). */
  headersFed = false;
  inputClosed = false;
}

/** What has been forwarded upstream. */
export interface ForwardedRequest {
  headers: Pairs;
  readonly body: Uint8Array;
  readonly bodyText: string;
  complete: boolean;
}

/**
 * One HTTP stream (request + response) through the module. Feed it with
 * requestHeaders/requestBody/responseHeaders/responseBody; read what the
 * upstream and the client got from `request`, `status`, `headers`, `body`.
 *
 * Events (for the gateway; all fire while the host processes, never inside a VM call):
 * - "upstream-headers" (headers: Pairs)      request headers released upstream
 * - "upstream-data" (chunk: Uint8Array)      request body bytes released upstream
 * - "upstream-end"                           request complete
 * - "headers" (status: number, headers: Pairs)  response headers released to the client
 * - "data" (chunk: Uint8Array)               response body bytes released to the client
 * - "end"                                    response complete
 * - "local-response" (r: LocalResponse)      a local reply replaces the upstream (abort it)
 * - "reset" (reason: string)                 the stream is reset (drop the client connection)
 */
export class HttpStream extends EventEmitter {
  readonly id: number;
  readonly routeName?: string;
  readonly clusterName?: string;
  /** The raw value the last callback of this stream returned (0 when the callback is not exported). */
  lastAction: number | undefined = undefined;
  /** proxy_continue_stream(Response) calls made for this stream. */
  resumed = 0;
  /** proxy_continue_stream(Request) calls made for this stream. */
  resumedRequest = 0;
  /** Response status the client received. */
  status: number | undefined = undefined;
  /** Response headers the client received, verbatim (including ":status"). */
  headers: Pairs = [];
  /** The client's response is finished (end of stream released). */
  complete = false;
  /** Set when the stream was reset (proxy_close_stream, local reply after the response started, VM failure). */
  resetReason: string | undefined = undefined;
  localResponse: LocalResponse | undefined = undefined;
  readonly logs: LogEntry[] = [];
  readonly request: ForwardedRequest;

  /** @internal */ readonly req = new Direction("request");
  /** @internal */ readonly res = new Direction("response");
  /** @internal */ contextCreated = false;
  /** @internal */ deleted = false;
  /** @internal */ finished = false;
  /** @internal */ bypass = false;
  /** @internal */ failureSent = false;
  /** @internal */ requestDetached = false;
  /** @internal */ responseFromLocal = false;
  /** @internal */ localPending: LocalResponse | null = null;
  /** @internal */ logPhase = false;
  /** @internal */ readonly properties: Map<string, PropertyValue>;
  /** @internal */ readonly protocol: string;

  private readonly bodyChunks: Uint8Array[] = [];
  private bodyCache: Uint8Array | null = null;
  private readonly requestChunks: Uint8Array[] = [];
  private requestCache: Uint8Array | null = null;

  constructor(
    private readonly host: ProxyWasmHost,
    id: number,
    props: StreamProps,
  ) {
    super();
    this.id = id;
    this.routeName = props.routeName;
    this.clusterName = props.clusterName;
    this.protocol = props.protocol ?? "HTTP/1.1";
    this.properties = new Map(Object.entries(props.properties ?? {}));
    const self = this;
    this.request = {
      headers: [],
      complete: false,
      get body() {
        return self.requestBytes();
      },
      get bodyText() {
        return fromUtf8(self.requestBytes());
      },
    };
  }

  /** Response body the client received so far. */
  get body(): Uint8Array {
    if (!this.bodyCache) this.bodyCache = concatBytes(this.bodyChunks);
    return this.bodyCache;
  }

  get bodyText(): string {
    return fromUtf8(this.body);
  }

  /** Whether the stream was reset. */
  get reset(): boolean {
    return this.resetReason !== undefined;
  }

  /** First value of a response header the client received. */
  header(name: string): string | undefined {
    return firstValue(this.headers, name.toLowerCase());
  }

  /** The request header map as the module currently sees it (a copy). */
  get requestHeaderMap(): Pairs {
    return (this.req.map ?? []).map(([k, v]) => [k, v]);
  }

  /** The response header map as the module currently sees it (a copy). */
  get responseHeaderMap(): Pairs {
    return (this.res.map ?? []).map(([k, v]) => [k, v]);
  }

  requestHeaders(headers: HeadersInit, endOfStream = false): this {
    this.host.feed(this, "request", "headers", toPairs(headers), endOfStream);
    return this;
  }

  requestBody(chunk: BodyInit, endOfStream = false): this {
    this.host.feed(this, "request", "body", toBytes(chunk), endOfStream);
    return this;
  }

  responseHeaders(headers: HeadersInit, endOfStream = false): this {
    this.host.feed(this, "response", "headers", toPairs(headers), endOfStream);
    return this;
  }

  responseBody(chunk: BodyInit, endOfStream = false): this {
    this.host.feed(this, "response", "body", toBytes(chunk), endOfStream);
    return this;
  }

  /** Ends the stream: proxy_on_log, proxy_on_done, proxy_on_delete. */
  done(): this {
    this.host.finish(this);
    return this;
  }

  /** @internal */
  pushRequestData(chunk: Uint8Array): void {
    this.requestChunks.push(chunk);
    this.requestCache = null;
  }

  /** @internal */
  pushBodyData(chunk: Uint8Array): void {
    this.bodyChunks.push(chunk);
    this.bodyCache = null;
  }

  private requestBytes(): Uint8Array {
    if (!this.requestCache) this.requestCache = concatBytes(this.requestChunks);
    return this.requestCache;
  }
}

// ---------------------------------------------------------------------------
// The host

interface MetricRecord {
  name: string;
  type: number;
  value: bigint;
  samples: bigint[];
}

interface CallResponse {
  headers: Pairs;
  body: Uint8Array;
  trailers: Pairs;
}

export class ProxyWasmHost {
  /** Every recorded log line (module lines at or above the log level, and host lines). */
  readonly logs: LogEntry[] = [];
  /** The VM trapped (or exited); it stays failed. */
  failed = false;
  /** What failed the VM. */
  failure: { function: string; message: string; stack?: string } | undefined = undefined;
  /** "0.2.100", "0.2.1" or "0.2.0". */
  abiVersion = "";
  /** The module's exports. */
  exports: WebAssembly.Exports = {};
  /** The tick period the module set (ms, 0 = none). */
  tickPeriodMs = 0;
  readonly options: HostOptions;
  readonly rootContextId = ROOT_ID;

  private memory!: WebAssembly.Memory;
  private allocator!: (size: number) => number;
  private readonly failStrategy: "close" | "open";
  private readonly logLevel: number;
  private nextContextId = ROOT_ID + 1;
  private readonly streams = new Map<number, HttpStream>();
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
  private readonly metricsById = new Map<number, MetricRecord>();
  private readonly metricsByKey = new Map<string, MetricRecord>();
  private nextMetricId = 1;
  private readonly sharedData = new Map<string, { value: Uint8Array; cas: number }>();
  private nextCas = 1;
  private readonly sharedQueues = new Map<number, { name: string; items: Uint8Array[] }>();
  private nextQueueToken = 1;
  private tickTimer: NodeJS.Timeout | undefined;
  private rootAlive = false;
  private rootDonePending = false;
  private closed = false;

  constructor(opts: HostOptions = {}) {
    this.options = opts;
    this.failStrategy = opts.failStrategy ?? "close";
    this.logLevel = Math.max(0, Math.min(5, opts.logLevel ?? 0));
    this.vmConfig = ProxyWasmHost.configBytes(opts.vmConfig);
  }

  // ----- public API --------------------------------------------------------

  /** Runs proxy_on_configure with this plugin configuration; returns its result. */
  configure(config: string | object | Uint8Array): boolean {
    if (this.draining) throw new Error("configure() cannot be called from inside a host callback");
    if (this.failed || this.closed) return false;
    const bytes = ProxyWasmHost.configBytes(config);
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
    return result;
  }

  /** Creates an HTTP stream context (proxy_on_context_create(id, root)). */
  stream(props: StreamProps = {}): HttpStream {
    if (this.closed) throw new Error("stream(): the host is closed");
    const s = new HttpStream(this, this.nextContextId++, props);
    this.run(() => {
      if (this.failed) {
        s.bypass = this.failStrategy === "open";
        return;
      }
      s.contextCreated = true;
      this.streams.set(s.id, s);
      this.invoke("proxy_on_context_create", s.id, s.id, ROOT_ID);
    });
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
    this.answer(call, 504, { "content-length": String(TIMEOUT_BODY.length), "content-type": "text/plain" }, TIMEOUT_BODY);
  }

  /** The connection was refused: Envoy answers 503 with its connect-failure text. */
  refuse(call: HttpCall | number): void {
    this.answer(call, 503, { "content-length": String(REFUSED_BODY.length), "content-type": "text/plain" }, REFUSED_BODY);
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
    const out = new Map<string, MetricValue>();
    for (const m of this.metricsByKey.values()) {
      out.set(m.name, m.type === MetricType.Histogram ? { type: m.type, value: m.value, samples: [...m.samples] } : { type: m.type, value: m.value });
    }
    return out;
  }

  /** Stream contexts created and not yet deleted (the root context is not counted). */
  liveContexts(): number {
    return this.streams.size;
  }

  /** Current size of the module's linear memory, in 64 KiB pages. */
  memoryPages(): number {
    return this.memory ? this.memory.buffer.byteLength / 65536 : 0;
  }

  /**
   * Shuts the root context down (proxy_on_done, then proxy_on_delete, or
   * after proxy_done if on_done returned false) and stops the tick timer.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
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
      module = await WebAssembly.compile(bytes);
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
    if (!exported.has("memory")) throw new Error("Wasm module does not export its memory as \"memory\"");
    if (!exported.has("malloc") && !exported.has("proxy_on_memory_allocate")) {
      throw new Error("Wasm module exports neither malloc nor proxy_on_memory_allocate: the host cannot hand it any data");
    }
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, this.buildImports());
    } catch (e) {
      throw new Error(`Failed to instantiate Wasm module: ${errorMessage(e)}`);
    }
    this.exports = instance.exports;
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.allocator = (instance.exports.malloc ?? instance.exports.proxy_on_memory_allocate) as (n: number) => number;

    let vmStarted = true;
    this.run(() => {
      if (this.has("_initialize")) {
        this.invoke("_initialize", 0);
        if (this.has("main")) this.invoke("main", 0, 0, 0);
      } else if (this.has("_start")) {
        this.invoke("_start", 0);
      }
      if (this.failed) return;
      this.rootAlive = true;
      this.invoke("proxy_on_context_create", ROOT_ID, ROOT_ID, 0);
      const r = this.invoke("proxy_on_vm_start", ROOT_ID, ROOT_ID, this.vmConfig.length);
      vmStarted = !this.failed && r !== 0;
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

  private static configBytes(c: string | object | Uint8Array | undefined): Uint8Array {
    if (c === undefined) return new Uint8Array(0);
    if (typeof c === "string") return utf8(c);
    if (c instanceof Uint8Array) return c;
    return utf8(JSON.stringify(c));
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
        const note = imp.kind !== "function" ? ` (${imp.kind})` : ABI_0_1_0_ONLY.has(imp.name) ? " (ABI 0.1.0 only)" : "";
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
    const message = e instanceof ProcExit ? e.message : `Uncaught ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const stack = e instanceof Error ? e.stack : undefined;
    this.failure = { function: fn, message, stack };
    const frames = (stack ?? "")
      .split("\n")
      .filter((l) => l.includes("wasm"))
      .map((l, i) => `  ${i}: ${l.trim().replace(/^at /, "")}`);
    this.hostLog(
      LogLevel.critical,
      `Function: ${fn} failed: ${message}` + (frames.length ? `\nProxy-Wasm plugin in-VM backtrace:\n${frames.join("\n")}` : ""),
      contextId,
    );
    for (const token of this.pending.keys()) this.dropped.add(token);
    this.pending.clear();
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    // Before anything else the failed call queued.
    this.afterActions.unshift(() => this.failLiveStreams());
  }

  // ----- logs --------------------------------------------------------------

  private record(level: number, message: string, contextId: number, source: "plugin" | "host"): void {
    const entry: LogEntry = { level, levelName: LOG_LEVEL_NAMES[level] ?? "critical", message, contextId, source };
    this.logs.push(entry);
    this.streams.get(contextId)?.logs.push(entry);
    try {
      this.options.onLog?.(entry);
    } catch {
      // A faulty log hook must not affect the module.
    }
  }

  private hostLog(level: number, message: string, contextId = this.effective()): void {
    this.record(level, message, contextId, "host");
  }

  // ----- stream processing -------------------------------------------------

  /** @internal Entry point of the HttpStream feed methods. */
  feed(s: HttpStream, kind: DirectionKind, what: "headers" | "body", data: Pairs | Uint8Array, eos: boolean): void {
    const d = kind === "request" ? s.req : s.res;
    // A finished stream, or a direction a local reply replaced, ignores late input (as Envoy does).
    if (s.deleted || s.finished) return;
    if ((kind === "request" && s.requestDetached) || (kind === "response" && s.responseFromLocal)) return;
    if (what === "headers" && d.headersFed) throw new Error(`stream ${s.id}: ${kind} headers sent twice`);
    if (what === "body" && !d.headersFed) throw new Error(`stream ${s.id}: ${kind} body before ${kind} headers`);
    if (d.inputClosed) throw new Error(`stream ${s.id}: ${kind} ${what} after end of stream`);
    if (what === "headers") d.headersFed = true;
    if (eos) d.inputClosed = true;
    this.run(() => {
      if (what === "headers") this.onHeaders(s, d, data as Pairs, eos);
      else this.onBody(s, d, data as Uint8Array, eos);
    });
  }

  /** @internal Entry point of HttpStream.done(). */
  finish(s: HttpStream): void {
    this.run(() => {
      if (s.deleted) return;
      if (s.contextCreated && !this.failed) {
        s.logPhase = true;
        this.invoke("proxy_on_log", s.id, s.id);
        s.logPhase = false;
        this.invoke("proxy_on_done", s.id, s.id);
        this.invoke("proxy_on_delete", s.id, s.id);
      }
      s.deleted = true;
      s.finished = true;
      s.requestDetached = true;
      s.localPending = null;
      this.streams.delete(s.id);
    });
  }

  private stopped(s: HttpStream): boolean {
    return s.deleted || s.finished;
  }

  /** Calls a stream callback; undefined when the VM failed during it. */
  private callStream(s: HttpStream, fn: string, ...args: number[]): number | undefined {
    const r = this.invoke(fn, s.id, s.id, ...args);
    if (this.failed) return undefined;
    s.lastAction = r ?? 0;
    return s.lastAction;
  }

  /** Handles input on a failed VM or a bypassed stream. Returns true when it did. */
  private handledByFailure(s: HttpStream): boolean {
    if (!this.failed && !s.bypass) return false;
    if (s.bypass || this.failStrategy === "open") {
      s.bypass = true;
      this.releaseEverything(s);
    } else {
      this.failStream(s);
    }
    return true;
  }

  private onHeaders(s: HttpStream, d: Direction, pairs: Pairs, eos: boolean): void {
    if (this.stopped(s)) return;
    d.map = pairs;
    d.mapAvailable = true;
    d.headersSeen = true;
    d.sourceEnded = eos;
    if (this.handledByFailure(s)) return;
    const fn = d.kind === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers";
    const action = this.callStream(s, fn, pairs.length, eos ? 1 : 0);
    if (action === undefined) return;
    if (eos) d.endSeenByModule = true;
    if (s.localPending || this.stopped(s)) return;
    switch (action) {
      case HeadersStatus.Continue:
        d.mapAvailable = false;
        this.releaseHeaders(s, d);
        if (eos) this.releaseEnd(s, d);
        break;
      case HeadersStatus.ContinueAndEndStream:
        d.ignoreRest = true;
        this.releaseHeaders(s, d);
        this.releaseEnd(s, d);
        break;
      case HeadersStatus.StopIteration:
        // Higress's 0.2.100 keeps StopIteration (body callbacks still arrive);
        // with 0.2.0/0.2.1 the host turns it into StopAllIterationAndWatermark.
        if (this.abiVersion !== "0.2.100") d.holdAll = true;
        break;
      default:
        d.holdAll = true;
    }
  }

  private onBody(s: HttpStream, d: Direction, chunk: Uint8Array, eos: boolean): void {
    if (this.stopped(s) || d.ignoreRest) return;
    if (eos) d.sourceEnded = true;
    if (this.failed || s.bypass) {
      if (s.bypass || this.failStrategy === "open") {
        s.bypass = true;
        this.releaseHeaders(s, d);
        this.releaseData(s, d, chunk);
        if (eos) this.releaseEnd(s, d);
      } else {
        this.failStream(s);
      }
      return;
    }
    if (d.holdAll) {
      d.queued.push(chunk);
      return;
    }
    this.deliverBody(s, d, chunk, eos);
  }

  private deliverBody(s: HttpStream, d: Direction, chunk: Uint8Array, eos: boolean): void {
    if (!d.buffering || !d.held) d.held = new ByteBuffer();
    d.held.append(chunk);
    const fn = d.kind === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
    const action = this.callStream(s, fn, d.held.length, eos ? 1 : 0);
    if (action === undefined) return;
    if (eos) d.endSeenByModule = true;
    if (s.localPending || this.stopped(s)) return;
    if (action === DataStatus.Continue) {
      d.buffering = false;
      d.bodyStopped = false;
      this.releaseHeaders(s, d);
      this.releaseHeld(s, d);
      if (eos) this.releaseEnd(s, d);
    } else if (action === DataStatus.StopIterationAndBuffer || action === DataStatus.StopIterationAndWatermark) {
      d.buffering = true;
      d.bodyStopped = true;
    } else {
      // StopIterationNoBuffer (and anything larger): Envoy neither buffers nor
      // forwards this chunk; the stream stays stopped until continue.
      d.buffering = false;
      d.bodyStopped = true;
      d.held = null;
    }
  }

  /** proxy_continue_stream, applied after the VM call that asked for it. */
  private resume(s: HttpStream, d: Direction): void {
    if (this.stopped(s) || !d.headersSeen) return;
    if (this.failed && this.failStrategy === "close") return;
    if (d.kind === "request" && s.requestDetached) return;
    if (d.headersReleased && !d.bodyStopped && !d.holdAll) return; // nothing was stopped
    d.holdAll = false;
    d.buffering = false;
    d.bodyStopped = false;
    this.releaseHeaders(s, d);
    this.releaseHeld(s, d);
    if (d.queued.length) {
      // StopAll: the module now sees what arrived meanwhile, as one chunk.
      const data = concatBytes(d.queued);
      d.queued = [];
      this.deliverBody(s, d, data, d.sourceEnded);
      return;
    }
    if (d.sourceEnded && d.endSeenByModule) this.releaseEnd(s, d);
  }

  private releaseHeaders(s: HttpStream, d: Direction): void {
    if (d.headersReleased || !d.headersSeen) return;
    d.headersReleased = true;
    const snapshot: Pairs = (d.map ?? []).map(([k, v]) => [k, v]);
    if (d.kind === "request") {
      s.request.headers = snapshot;
      s.emit("upstream-headers", snapshot);
    } else {
      const st = Number(firstValue(snapshot, ":status"));
      s.status = Number.isFinite(st) ? st : undefined;
      s.headers = snapshot;
      s.emit("headers", s.status, snapshot);
    }
  }

  private releaseHeld(s: HttpStream, d: Direction): void {
    if (!d.held) return;
    const bytes = d.held.copy();
    d.held = null;
    this.releaseData(s, d, bytes);
  }

  private releaseData(s: HttpStream, d: Direction, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (d.kind === "request") {
      s.pushRequestData(bytes);
      s.emit("upstream-data", bytes);
    } else {
      s.pushBodyData(bytes);
      s.emit("data", bytes);
    }
  }

  private releaseEnd(s: HttpStream, d: Direction): void {
    if (d.endReleased) return;
    d.endReleased = true;
    if (d.kind === "request") {
      s.request.complete = true;
      s.emit("upstream-end");
    } else {
      s.complete = true;
      s.finished = true;
      s.emit("end");
    }
  }

  /** Fail open: everything held or queued goes on, and the stream no longer sees the module. */
  private releaseEverything(s: HttpStream): void {
    s.bypass = true;
    for (const d of [s.req, s.res]) {
      if (!d.headersSeen || (d.kind === "request" && s.requestDetached)) continue;
      d.holdAll = false;
      this.releaseHeaders(s, d);
      this.releaseHeld(s, d);
      for (const q of d.queued) this.releaseData(s, d, q);
      d.queued = [];
      if (d.sourceEnded) this.releaseEnd(s, d);
    }
  }

  private resetStream(s: HttpStream, reason: string): void {
    if (s.finished) return;
    s.finished = true;
    s.requestDetached = true;
    s.resetReason = reason;
    s.emit("reset", reason);
  }

  /** Fail closed: 503 wasm_fail_stream, or a reset if the response already started. */
  private failStream(s: HttpStream): void {
    if (s.finished || s.failureSent) return;
    s.failureSent = true;
    const lr = this.makeLocalResponse(503, utf8(FAIL_STREAM_DETAILS), [], FAIL_STREAM_DETAILS, 14);
    s.localResponse = lr;
    s.localPending = null;
    this.detachForLocalReply(s, lr);
    if (s.res.headersReleased) this.resetStream(s, FAIL_STREAM_DETAILS);
    else this.directReply(s, lr);
  }

  private failLiveStreams(): void {
    for (const s of [...this.streams.values()]) {
      if (s.finished) continue;
      if (this.failStrategy === "close") this.failStream(s);
      else this.releaseEverything(s);
    }
  }

  private makeLocalResponse(status: number, body: Uint8Array, headers: Pairs, details: string, grpcStatus: number): LocalResponse {
    return { status, body, bodyText: fromUtf8(body), headers, details, grpcStatus };
  }

  /** Headers of a local reply: :status, the module's extra headers, then content-length/type for a body. */
  private localReplyHeaders(lr: LocalResponse): Pairs {
    const map: Pairs = [[":status", String(lr.status)]];
    for (const [k, v] of lr.headers) addHeader(map, k.toLowerCase(), v);
    if (lr.body.length) {
      setHeader(map, "content-length", String(lr.body.length));
      if (!firstValue(map, "content-type")) addHeader(map, "content-type", "text/plain");
    }
    return map;
  }

  private detachForLocalReply(s: HttpStream, lr: LocalResponse): void {
    s.requestDetached = true;
    s.responseFromLocal = true;
    s.emit("local-response", lr);
  }

  /** A reply sent straight to the client, bypassing the module. */
  private directReply(s: HttpStream, lr: LocalResponse): void {
    const d = s.res;
    d.map = this.localReplyHeaders(lr);
    d.mapAvailable = true;
    d.headersSeen = true;
    d.held = null;
    d.queued = [];
    d.holdAll = false;
    d.buffering = false;
    d.bodyStopped = false;
    d.sourceEnded = true;
    this.releaseHeaders(s, d);
    this.releaseData(s, d, lr.body);
    this.releaseEnd(s, d);
  }

  /** proxy_send_local_response, applied after the VM call. */
  private applyLocalResponse(s: HttpStream): void {
    const lr = s.localPending;
    s.localPending = null;
    if (!lr || this.stopped(s) || s.failureSent) return;
    if (this.failed && this.failStrategy === "close") return;
    s.localResponse = lr;
    this.detachForLocalReply(s, lr);
    if (s.res.headersReleased) {
      this.resetStream(s, `local reply after the response started (${lr.details || lr.status})`);
    } else if (s.res.headersSeen) {
      // The response is being processed: Envoy sends the reply directly.
      this.directReply(s, lr);
    } else {
      // No response yet: the reply goes through the filter chain, so the
      // module's own response callbacks see it.
      s.res.holdAll = false;
      this.onHeaders(s, s.res, this.localReplyHeaders(lr), lr.body.length === 0);
      if (lr.body.length && !this.stopped(s)) {
        s.res.sourceEnded = true;
        this.onBody(s, s.res, lr.body, true);
      }
    }
  }

  // ----- HTTP calls --------------------------------------------------------

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

  private clusterKnown(name: string): boolean {
    const c = this.options.clusters;
    if (c === undefined) return true;
    return typeof c === "function" ? c(name) : c.includes(name);
  }

  // ----- contexts ----------------------------------------------------------

  /** The effective context id (falls back to the called context when it no longer exists). */
  private effective(): number {
    const id = this.effectiveContext;
    if (id === ROOT_ID || this.streams.has(id)) return id;
    return this.currentContext;
  }

  private effectiveStream(): HttpStream | undefined {
    return this.streams.get(this.effective());
  }

  private deleteRoot(): void {
    this.rootDonePending = false;
    this.invoke("proxy_on_delete", ROOT_ID, ROOT_ID);
    this.rootAlive = false;
  }

  // ----- memory ------------------------------------------------------------

  private bytesView(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  private read(ptr: number, len: number): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    const m = this.bytesView();
    if (ptr + len > m.length) throw new MemoryFault(`read of ${len} bytes at ${ptr} is out of bounds`);
    return m.slice(ptr, ptr + len);
  }

  private readString(ptr: number, len: number): string {
    return fromUtf8(this.read(ptr, len));
  }

  private writeBytes(ptr: number, data: Uint8Array): void {
    ptr >>>= 0;
    const m = this.bytesView();
    if (ptr + data.length > m.length) throw new MemoryFault(`write of ${data.length} bytes at ${ptr} is out of bounds`);
    m.set(data, ptr);
  }

  private writeU32(ptr: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.writeBytes(ptr, b);
  }

  private writeU64(ptr: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.writeBytes(ptr, b);
  }

  /** Allocates through the module's malloc. Memory may grow: views are re-created by every helper. */
  private allocate(size: number): number {
    const p = this.allocator(size) >>> 0;
    if (p === 0 || p + size > this.memory.buffer.byteLength) throw new MemoryFault(`malloc(${size}) returned ${p}`);
    return p;
  }

  /** Hands bytes to the module: malloc + copy + (ptr, len) to the out-pointers; empty = 0/0 without malloc. */
  private copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): void {
    if (data.length === 0) {
      this.writeU32(ptrPtr, 0);
      this.writeU32(sizePtr, 0);
      return;
    }
    const p = this.allocate(data.length);
    this.writeBytes(p, data);
    this.writeU32(ptrPtr, p);
    this.writeU32(sizePtr, data.length);
  }

  private now(): bigint {
    if (this.options.now) return this.options.now();
    return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  }

  // ----- header maps -------------------------------------------------------

  private constMap(type: number): Pairs | null {
    const s = this.effectiveStream();
    switch (type) {
      case MapType.RequestHeaders:
        return s && s.req.map && (s.req.mapAvailable || s.logPhase) ? s.req.map : null;
      case MapType.ResponseHeaders:
        return s && s.res.map && (s.res.mapAvailable || s.logPhase) ? s.res.map : null;
      case MapType.HttpCallResponseHeaders:
        return this.callResponse?.headers ?? null;
      case MapType.HttpCallResponseTrailers:
        return this.callResponse?.trailers ?? null;
      default:
        return null; // trailers and gRPC metadata are not emulated
    }
  }

  private mutableMap(type: number): Pairs | null {
    const s = this.effectiveStream();
    if (!s) return null;
    if (type === MapType.RequestHeaders) return s.req.map && s.req.mapAvailable ? s.req.map : null;
    if (type === MapType.ResponseHeaders) return s.res.map && s.res.mapAvailable ? s.res.map : null;
    return null;
  }

  private decodeModulePairs(bytes: Uint8Array, what: string): Pairs {
    const pairs = decodePairs(bytes);
    if (pairs === null) {
      // proxy-wasm-cpp-host turns malformed data into an empty map.
      this.hostLog(LogLevel.warn, `${what}: malformed header map (${bytes.length} bytes) read as empty`);
      return [];
    }
    return pairs.map(([k, v]) => [k.toLowerCase(), v]);
  }

  // ----- buffers -----------------------------------------------------------

  /** The buffer a get/set refers to: bytes, whether it is writable, or null when absent. */
  private bufferFor(type: number): { get: () => Uint8Array; set?: (start: number, len: number, data: Uint8Array) => number } | null {
    const s = this.effectiveStream();
    switch (type) {
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody: {
        const d = s ? (type === BufferType.HttpRequestBody ? s.req : s.res) : undefined;
        const held = d?.held ?? null;
        return {
          get: () => (held ? held.view() : new Uint8Array(0)),
          set: (start, len, data) => {
            if (!held) return WasmResult.NotFound;
            const cur = held.view();
            if (start === 0) {
              held.assign(concatBytes([data, cur.subarray(Math.min(len, cur.length))]));
              return WasmResult.Ok;
            }
            if (start >= cur.length) {
              held.append(data);
              return WasmResult.Ok;
            }
            return WasmResult.BadArgument;
          },
        };
      }
      case BufferType.HttpCallResponseBody: {
        const r = this.callResponse;
        return r ? { get: () => r.body } : null;
      }
      case BufferType.VmConfiguration:
        return { get: () => this.vmConfig };
      case BufferType.PluginConfiguration: {
        const c = this.pluginConfig;
        return c ? { get: () => c } : null;
      }
      case BufferType.DownstreamData:
      case BufferType.UpstreamData:
      case BufferType.GrpcReceiveBuffer:
      case BufferType.CallData: {
        const empty = new Uint8Array(0);
        return { get: () => empty, set: () => WasmResult.NotFound };
      }
      default:
        return null;
    }
  }

  // ----- properties --------------------------------------------------------

  private property(segments: string[]): PropertyValue | undefined {
    const s = this.effectiveStream();
    const key = segments.join(".");
    const own = s?.properties.get(key);
    if (own !== undefined) return own;
    const builtin = this.builtinProperty(s, segments);
    if (builtin !== undefined) return builtin;
    return this.options.properties?.[key];
  }

  private builtinProperty(s: HttpStream | undefined, seg: string[]): PropertyValue | undefined {
    const [top, sub, third] = seg;
    if (seg.length === 1) {
      switch (top) {
        case "plugin_name":
          return this.options.pluginName ?? "";
        case "plugin_root_id":
          return this.options.rootId ?? "";
        case "plugin_vm_id":
          return this.options.vmId ?? "";
        case "route_name":
          return s?.routeName;
        case "cluster_name":
          return s?.clusterName;
      }
    }
    if (top === "xds" && seg.length === 2) {
      if (sub === "route_name") return s?.routeName;
      if (sub === "cluster_name") return s?.clusterName;
    }
    if (!s) return undefined;
    if (top === "request") {
      // Like Envoy's request.* attributes: only while the request map is available.
      const map = s.req.map && (s.req.mapAvailable || s.logPhase) ? s.req.map : null;
      if (!map) return sub === "protocol" ? s.protocol : undefined;
      const path = firstValue(map, ":path");
      const q = path?.indexOf("?") ?? -1;
      if (seg.length === 1) return undefined;
      switch (sub) {
        case "path":
          return path;
        case "url_path":
          return path === undefined ? undefined : q >= 0 ? path.slice(0, q) : path;
        case "query":
          return path === undefined ? undefined : q >= 0 ? path.slice(q + 1) : "";
        case "host":
          return firstValue(map, ":authority");
        case "scheme":
          return firstValue(map, ":scheme");
        case "method":
          return firstValue(map, ":method");
        case "id":
          return firstValue(map, "x-request-id");
        case "useragent":
          return firstValue(map, "user-agent");
        case "referer":
          return firstValue(map, "referer");
        case "protocol":
          return s.protocol;
        case "headers":
          return third === undefined ? map : firstValue(map, third.toLowerCase());
      }
      return undefined;
    }
    if (top === "response") {
      const map = s.res.map;
      if (!map) return undefined;
      switch (sub) {
        case "code": {
          const st = Number(firstValue(map, ":status"));
          return Number.isFinite(st) ? BigInt(st) : undefined;
        }
        case "code_details":
          return s.localResponse?.details;
        case "headers":
          return third === undefined ? map.filter(([k]) => !k.startsWith(":")) : firstValue(map, third.toLowerCase());
      }
    }
    return undefined;
  }

  // ----- metrics -----------------------------------------------------------

  private metric(id: number): MetricRecord | undefined {
    return this.metricsById.get(id >>> 0);
  }

  // ----- imports -----------------------------------------------------------

  private buildImports(): WebAssembly.Imports {
    const R = WasmResult;
    // Host function guard: memory faults become InvalidMemoryAccess; traps
    // raised inside (malloc trapping, proc_exit) propagate to the VM call.
    const guard =
      <A extends unknown[]>(name: string, f: (...a: A) => number, onFault: number = R.InvalidMemoryAccess) =>
      (...a: A): number => {
        try {
          return f(...a);
        } catch (e) {
          if (e instanceof MemoryFault) return onFault;
          if (e instanceof WebAssembly.RuntimeError || e instanceof ProcExit || e instanceof RangeError) throw e;
          this.hostLog(LogLevel.error, `host function ${name} failed: ${errorMessage(e)}`);
          return R.InternalFailure;
        }
      };

    const env: Record<string, (...a: never[]) => number | void> = {
      proxy_log: guard("proxy_log", (level: number, ptr: number, len: number) => {
        if (level >>> 0 > LogLevel.critical) return R.BadArgument;
        const message = this.readString(ptr, len);
        if (level >= this.logLevel) this.record(level, message, this.effective(), "plugin");
        return R.Ok;
      }),
      proxy_get_log_level: guard("proxy_get_log_level", (out: number) => {
        this.writeU32(out, this.logLevel);
        return R.Ok;
      }),
      proxy_get_status: guard("proxy_get_status", (codePtr: number, msgPtr: number, msgLen: number) => {
        this.writeU32(codePtr, this.status.code);
        this.copyOut(utf8(this.status.message), msgPtr, msgLen);
        return R.Ok;
      }),
      proxy_get_property: guard("proxy_get_property", (pathPtr: number, pathLen: number, outPtr: number, outLen: number) => {
        const segments = this.readString(pathPtr, pathLen).split("\0");
        if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
        const v = this.property(segments);
        if (v === undefined) return R.NotFound;
        this.copyOut(serializeProperty(v), outPtr, outLen);
        return R.Ok;
      }),
      proxy_set_property: guard("proxy_set_property", (kPtr: number, kLen: number, vPtr: number, vLen: number) => {
        const key = this.readString(kPtr, kLen).split("\0").filter((x) => x !== "").join(".");
        const value = this.read(vPtr, vLen);
        const s = this.effectiveStream();
        if (!s) return R.NotFound;
        s.properties.set(key, value);
        return R.Ok;
      }),
      proxy_send_local_response: guard(
        "proxy_send_local_response",
        (status: number, dPtr: number, dLen: number, bPtr: number, bLen: number, hPtr: number, hLen: number, grpc: number) => {
          const details = this.readString(dPtr, dLen).replace(/\s/g, "_");
          const body = this.read(bPtr, bLen);
          const headers = this.decodeModulePairs(this.read(hPtr, hLen), "proxy_send_local_response");
          const s = this.effectiveStream();
          if (!s) {
            this.hostLog(LogLevel.warn, "proxy_send_local_response called without a stream context: ignored");
            return R.Ok;
          }
          if (s.localPending || s.localResponse || s.finished) return R.BadArgument;
          s.localPending = this.makeLocalResponse(status >>> 0, body, headers, details, grpc | 0);
          this.afterActions.push(() => this.applyLocalResponse(s));
          return R.Ok;
        },
      ),
      proxy_get_shared_data: guard("proxy_get_shared_data", (kPtr: number, kLen: number, vPtr: number, vLen: number, casPtr: number) => {
        const entry = this.sharedData.get(this.readString(kPtr, kLen));
        if (!entry) return R.NotFound;
        this.copyOut(entry.value, vPtr, vLen);
        this.writeU32(casPtr, entry.cas);
        return R.Ok;
      }),
      proxy_set_shared_data: guard("proxy_set_shared_data", (kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number) => {
        const key = this.readString(kPtr, kLen);
        const value = this.read(vPtr, vLen);
        const entry = this.sharedData.get(key);
        if (cas >>> 0 !== 0 && entry && entry.cas !== cas >>> 0) return R.CasMismatch;
        this.sharedData.set(key, { value, cas: this.nextCas++ });
        return R.Ok;
      }),
      proxy_register_shared_queue: guard("proxy_register_shared_queue", (nPtr: number, nLen: number, tokenPtr: number) => {
        const name = this.readString(nPtr, nLen);
        let token = [...this.sharedQueues].find(([, q]) => q.name === name)?.[0];
        if (token === undefined) {
          token = this.nextQueueToken++;
          this.sharedQueues.set(token, { name, items: [] });
        }
        this.writeU32(tokenPtr, token);
        return R.Ok;
      }),
      proxy_resolve_shared_queue: guard(
        "proxy_resolve_shared_queue",
        (_vmPtr: number, _vmLen: number, nPtr: number, nLen: number, tokenPtr: number) => {
          const name = this.readString(nPtr, nLen);
          const token = [...this.sharedQueues].find(([, q]) => q.name === name)?.[0];
          if (token === undefined) return R.NotFound;
          this.writeU32(tokenPtr, token);
          return R.Ok;
        },
      ),
      proxy_dequeue_shared_queue: guard("proxy_dequeue_shared_queue", (token: number, dPtr: number, dLen: number) => {
        const q = this.sharedQueues.get(token >>> 0);
        if (!q) return R.NotFound;
        const item = q.items.shift();
        if (!item) return R.Empty;
        this.copyOut(item, dPtr, dLen);
        return R.Ok;
      }),
      proxy_enqueue_shared_queue: guard("proxy_enqueue_shared_queue", (token: number, dPtr: number, dLen: number) => {
        const t = token >>> 0;
        const q = this.sharedQueues.get(t);
        if (!q) return R.NotFound;
        q.items.push(this.read(dPtr, dLen));
        this.run(() => {
          this.invoke("proxy_on_queue_ready", ROOT_ID, ROOT_ID, t);
        });
        return R.Ok;
      }),
      proxy_get_header_map_value: guard(
        "proxy_get_header_map_value",
        (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
          if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
          const key = this.readString(kPtr, kLen).toLowerCase();
          const map = this.constMap(type);
          if (!map) return this.effectiveStream()?.logPhase ? R.NotFound : R.BadArgument;
          const v = firstValue(map, key);
          if (v === undefined) return R.NotFound;
          this.copyOut(utf8(v), vPtr, vLen);
          return R.Ok;
        },
      ),
      proxy_add_header_map_value: guard(
        "proxy_add_header_map_value",
        (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
          if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
          const key = this.readString(kPtr, kLen).toLowerCase();
          const value = this.readString(vPtr, vLen);
          const map = this.mutableMap(type);
          if (!map) return R.BadArgument;
          addHeader(map, key, value);
          return R.Ok;
        },
      ),
      proxy_replace_header_map_value: guard(
        "proxy_replace_header_map_value",
        (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) => {
          if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
          const key = this.readString(kPtr, kLen).toLowerCase();
          const value = this.readString(vPtr, vLen);
          const map = this.mutableMap(type);
          if (!map) return R.BadArgument;
          setHeader(map, key, value);
          return R.Ok;
        },
      ),
      proxy_remove_header_map_value: guard("proxy_remove_header_map_value", (type: number, kPtr: number, kLen: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        const key = this.readString(kPtr, kLen).toLowerCase();
        const map = this.mutableMap(type);
        if (!map) return R.BadArgument;
        removeHeader(map, key);
        return R.Ok;
      }),
      proxy_get_header_map_pairs: guard("proxy_get_header_map_pairs", (type: number, ptrPtr: number, sizePtr: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        this.copyOut(encodePairs(this.constMap(type) ?? []), ptrPtr, sizePtr);
        return R.Ok;
      }),
      proxy_set_header_map_pairs: guard("proxy_set_header_map_pairs", (type: number, ptr: number, size: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        const bytes = this.read(ptr, size);
        const map = this.mutableMap(type);
        if (!map) return R.BadArgument;
        const pairs = this.decodeModulePairs(bytes, "proxy_set_header_map_pairs");
        map.length = 0;
        for (const [k, v] of pairs) addHeader(map, k, v);
        return R.Ok;
      }),
      proxy_get_header_map_size: guard("proxy_get_header_map_size", (type: number, out: number) => {
        if (type >>> 0 > MAP_TYPE_MAX) return R.BadArgument;
        const map = this.mutableMap(type);
        if (!map) return R.BadArgument;
        this.writeU32(out, map.reduce((n, [k, v]) => n + utf8(k).length + utf8(v).length, 0));
        return R.Ok;
      }),
      proxy_get_buffer_status: guard("proxy_get_buffer_status", (type: number, lenPtr: number, flagsPtr: number) => {
        if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
        const b = this.bufferFor(type);
        if (!b) return R.NotFound;
        this.writeU32(lenPtr, b.get().length);
        this.writeU32(flagsPtr, 0);
        return R.Ok;
      }),
      proxy_get_buffer_bytes: guard(
        "proxy_get_buffer_bytes",
        (type: number, start: number, maxLen: number, ptrPtr: number, sizePtr: number) => {
          if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
          const b = this.bufferFor(type);
          if (!b) return R.NotFound;
          const data = b.get();
          const from = Math.min(start >>> 0, data.length);
          const to = Math.min(from + (maxLen >>> 0), data.length);
          this.copyOut(data.slice(from, to), ptrPtr, sizePtr);
          return R.Ok;
        },
      ),
      proxy_set_buffer_bytes: guard(
        "proxy_set_buffer_bytes",
        (type: number, start: number, len: number, ptr: number, size: number) => {
          if (type >>> 0 > BUFFER_TYPE_MAX) return R.BadArgument;
          const b = this.bufferFor(type);
          if (!b) return R.NotFound;
          const data = this.read(ptr, size);
          if (!b.set) return R.BadArgument; // read-only: call answer body, configurations
          return b.set(start >>> 0, len >>> 0, data);
        },
      ),
      proxy_http_call: guard(
        "proxy_http_call",
        (
          upPtr: number,
          upLen: number,
          hPtr: number,
          hLen: number,
          bPtr: number,
          bLen: number,
          tPtr: number,
          tLen: number,
          timeoutMs: number,
          tokenPtr: number,
        ) => {
          const cluster = this.readString(upPtr, upLen);
          const body = this.read(bPtr, bLen);
          const headers = this.decodeModulePairs(this.read(hPtr, hLen), "proxy_http_call headers");
          const trailers = this.decodeModulePairs(this.read(tPtr, tLen), "proxy_http_call trailers");
          this.writeU32(tokenPtr, 0); // verifies the out-pointer before dispatching
          if ((timeoutMs | 0) < 0) return R.BadArgument;
          if (!this.clusterKnown(cluster)) return R.BadArgument;
          const method = firstValue(headers, ":method");
          const path = firstValue(headers, ":path");
          const authority = firstValue(headers, ":authority");
          if (method === undefined || path === undefined || authority === undefined) return R.BadArgument;
          if (body.length) setHeader(headers, "content-length", String(body.length));
          const token = this.nextToken++;
          const call: HttpCall = {
            token,
            cluster,
            headers,
            body,
            trailers,
            timeoutMs: timeoutMs | 0,
            streamId: this.effective(),
            rootContextId: ROOT_ID,
            method,
            path,
            authority,
            get bodyText() {
              return fromUtf8(body);
            },
          };
          this.pending.set(token, call);
          this.writeU32(tokenPtr, token);
          try {
            this.options.onHttpCall?.(call);
          } catch (e) {
            this.hostLog(LogLevel.error, `onHttpCall hook failed: ${errorMessage(e)}`);
          }
          return R.Ok;
        },
      ),
      proxy_grpc_call: () => R.Unimplemented,
      proxy_grpc_stream: () => R.Unimplemented,
      proxy_grpc_close: () => R.Unimplemented,
      proxy_grpc_cancel: () => R.Unimplemented,
      proxy_grpc_send: () => R.Unimplemented,
      proxy_set_tick_period_milliseconds: guard("proxy_set_tick_period_milliseconds", (ms: number) => {
        this.tickPeriodMs = ms >>> 0;
        if (this.options.autoTick && !this.closed && !this.failed) {
          if (this.tickTimer) clearInterval(this.tickTimer);
          this.tickTimer = undefined;
          if (this.tickPeriodMs > 0) {
            this.tickTimer = setInterval(() => this.tick(), this.tickPeriodMs);
            this.tickTimer.unref();
          }
        }
        return R.Ok;
      }),
      proxy_get_current_time_nanoseconds: guard("proxy_get_current_time_nanoseconds", (out: number) => {
        this.writeU64(out, this.now());
        return R.Ok;
      }),
      proxy_define_metric: guard("proxy_define_metric", (type: number, nPtr: number, nLen: number, idPtr: number) => {
        if (type >>> 0 > MetricType.Histogram) return R.BadArgument;
        const name = this.readString(nPtr, nLen);
        const key = `${type}:${name}`;
        let rec = this.metricsByKey.get(key);
        if (!rec) {
          rec = { name, type: type >>> 0, value: 0n, samples: [] };
          this.metricsByKey.set(key, rec);
        }
        const id = this.nextMetricId++ * 4 + (type >>> 0);
        this.metricsById.set(id, rec);
        this.writeU32(idPtr, id);
        return R.Ok;
      }),
      proxy_increment_metric: guard("proxy_increment_metric", (id: number, delta: bigint) => {
        const m = this.metric(id);
        if (!m) return R.NotFound;
        if (m.type === MetricType.Counter) {
          if (delta <= 0n) return R.BadArgument;
          m.value += delta;
          return R.Ok;
        }
        if (m.type === MetricType.Gauge) {
          m.value += delta;
          return R.Ok;
        }
        return R.BadArgument;
      }),
      proxy_record_metric: guard("proxy_record_metric", (id: number, value: bigint) => {
        const m = this.metric(id);
        if (!m) return R.NotFound;
        const v = BigInt.asUintN(64, value);
        if (m.type === MetricType.Counter) m.value += v;
        else if (m.type === MetricType.Gauge) m.value = v;
        else {
          m.value = v;
          m.samples.push(v);
        }
        return R.Ok;
      }),
      proxy_get_metric: guard("proxy_get_metric", (id: number, out: number) => {
        const m = this.metric(id);
        if (!m) return R.NotFound;
        if (m.type === MetricType.Histogram) return R.BadArgument;
        this.writeU64(out, m.value);
        return R.Ok;
      }),
      proxy_set_effective_context: guard("proxy_set_effective_context", (id: number) => {
        const cid = id >>> 0;
        if (cid !== ROOT_ID && !this.streams.has(cid)) return R.BadArgument;
        if (cid === ROOT_ID && !this.rootAlive) return R.BadArgument;
        this.effectiveContext = cid;
        return R.Ok;
      }),
      proxy_done: guard("proxy_done", () => {
        if (!this.rootDonePending) return R.NotFound;
        this.afterActions.push(() => this.deleteRoot());
        return R.Ok;
      }),
      proxy_call_foreign_function: guard("proxy_call_foreign_function", () => R.NotFound),
      proxy_continue_stream: guard("proxy_continue_stream", (type: number) => {
        const t = type >>> 0;
        if (t > STREAM_TYPE_MAX) return R.BadArgument;
        if (t === StreamType.Upstream) return R.Unimplemented;
        if (t === StreamType.Downstream) return R.Ok;
        const s = this.effectiveStream();
        if (!s) {
          this.hostLog(
            LogLevel.warn,
            "proxy_continue_stream called from the root context: no stream is resumed (call proxy_set_effective_context first)",
          );
          return R.Ok;
        }
        if (t === StreamType.Response) s.resumed++;
        else s.resumedRequest++;
        // Envoy drops its request-side pointers on continue.
        s.req.mapAvailable = false;
        const d = t === StreamType.Response ? s.res : s.req;
        this.afterActions.push(() => this.resume(s, d));
        return R.Ok;
      }),
      proxy_close_stream: guard("proxy_close_stream", (type: number) => {
        const t = type >>> 0;
        if (t > STREAM_TYPE_MAX) return R.BadArgument;
        const s = this.effectiveStream();
        if (s && (t === StreamType.Request || t === StreamType.Response)) {
          this.afterActions.push(() => this.resetStream(s, "wasm_close_stream"));
        }
        return R.Ok;
      }),
      pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
      emscripten_notify_memory_growth: () => undefined,
    };

    const EFAULT = WasiErrno.Fault;
    const wasi: Record<string, (...a: never[]) => number | void> = {
      fd_write: guard(
        "fd_write",
        (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
          if (fd !== 1 && fd !== 2) return WasiErrno.BadF;
          const view = new DataView(this.memory.buffer);
          const parts: Uint8Array[] = [];
          for (let i = 0; i < iovsLen >>> 0; i++) {
            const at = (iovs >>> 0) + i * 8;
            if (at + 8 > view.byteLength) throw new MemoryFault("iovec out of bounds");
            parts.push(this.read(view.getUint32(at, true), view.getUint32(at + 4, true)));
          }
          const data = concatBytes(parts);
          let text = fromUtf8(data);
          if (text.endsWith("\n")) text = text.slice(0, -1);
          const level = fd === 1 ? LogLevel.info : LogLevel.error;
          if (data.length && level >= this.logLevel) this.record(level, text, this.effective(), "plugin");
          this.writeU32(nwrittenPtr, data.length);
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      fd_read: () => WasiErrno.NoSys,
      fd_seek: () => WasiErrno.Success,
      fd_close: () => WasiErrno.Success,
      fd_fdstat_get: guard(
        "fd_fdstat_get",
        (fd: number, out: number) => {
          if (fd !== 1 && fd !== 2) return WasiErrno.BadF;
          const stat = new Uint8Array(24);
          stat[8] = 64; // fs_rights_base = FD_WRITE
          this.writeBytes(out, stat);
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      environ_sizes_get: guard(
        "environ_sizes_get",
        (countPtr: number, sizePtr: number) => {
          const entries = this.environ();
          this.writeU32(countPtr, entries.length);
          this.writeU32(sizePtr, entries.reduce((n, e) => n + e.length, 0));
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      environ_get: guard(
        "environ_get",
        (arrayPtr: number, bufPtr: number) => {
          let buf = bufPtr >>> 0;
          let arr = arrayPtr >>> 0;
          for (const e of this.environ()) {
            this.writeU32(arr, buf);
            this.writeBytes(buf, e);
            buf += e.length;
            arr += 4;
          }
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      args_sizes_get: guard(
        "args_sizes_get",
        (argcPtr: number, sizePtr: number) => {
          this.writeU32(argcPtr, 0);
          this.writeU32(sizePtr, 0);
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      args_get: () => WasiErrno.Success,
      clock_time_get: guard(
        "clock_time_get",
        (id: number, _precision: bigint, out: number) => {
          if (id === 0) this.writeU64(out, this.now());
          else if (id === 1) this.writeU64(out, process.hrtime.bigint());
          else return WasiErrno.NotSup;
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      random_get: guard(
        "random_get",
        (ptr: number, len: number) => {
          const bytes = new Uint8Array(len >>> 0);
          randomFillSync(bytes);
          this.writeBytes(ptr, bytes);
          return WasiErrno.Success;
        },
        EFAULT,
      ),
      proc_exit: (code: number) => {
        throw new ProcExit(code);
      },
      path_open: () => WasiErrno.NotCapable,
      fd_prestat_get: () => WasiErrno.BadF,
      fd_prestat_dir_name: () => WasiErrno.BadF,
    };

    const imports: WebAssembly.Imports = { env };
    for (const m of WASI_MODULES) imports[m] = wasi;
    return imports;
  }

  private environ(): Uint8Array[] {
    return Object.entries(this.options.env ?? {}).map(([k, v]) => utf8(`${k}=${v}\0`));
  }
}
