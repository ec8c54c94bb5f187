// The module's VM, one instance at a time: compiling and checking the
// module, start-up (_initialize or _start, the root context,
// proxy_on_vm_start), proxy_on_configure, calls into the module and what a
// trap does to the VM, the root context's shutdown, and Higress's
// re-creation of a failed VM (a fresh instance of the same module, at most
// once per interval, started and configured again).

import { LogLevel, ROOT_ID } from "../abi/constants.ts";
import { errorMessage } from "../bytes.ts";
import { ProcExit } from "./imports/index.ts";
import type { VmMemory } from "./memory.ts";
import { checkModule } from "./module-check.ts";

/** What the VM needs from the host. */
export interface VmHost {
  /**
   * The exports of the current instance: the VM sets them when it binds an
   * instance and calls the module through them. They stay the host's
   * `exports` member, which a tool may replace to watch every call.
   */
  exports: WebAssembly.Exports;
  /** Re-create a failed VM (HostOptions.vmRestart). */
  readonly restart: boolean;
  /** At most one re-creation attempt per interval (ms). */
  readonly restartIntervalMs: number;
  /** The clock of the re-creation interval (ms). */
  monotonicMs(): number;
  hostLog(level: number, message: string, contextId: number): void;
  /** The VM trapped during a call on this context: what else fails with it. */
  trapped(contextId: number): void;
  /** A fresh instance replaced the failed one, before it starts. */
  replaced(): void;
}

export class Vm {
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
  /** The context the running call was made on, and the effective one (proxy_set_effective_context). */
  currentContext = 0;
  effectiveContext = 0;
  /** The root context was created and not deleted. */
  rootAlive = false;
  /** proxy_on_done returned false on the root context: it waits for proxy_done. */
  rootDonePending = false;
  /** Buffer 7: set only while proxy_on_configure runs. */
  pluginConfig: Uint8Array | null = null;
  /** The last configuration the module accepted: what a re-created VM gets. */
  lastConfig: Uint8Array | null = null;

  private module: WebAssembly.Module | undefined;
  private imports: WebAssembly.Imports | undefined;
  private lastRestartAttempt: number | undefined = undefined;

  constructor(
    private readonly mem: VmMemory,
    private readonly vmConfig: Uint8Array,
    private readonly host: VmHost,
  ) {}

  /** Compiles, checks and instantiates the module; `imports` builds what it is linked with. */
  async load(bytes: Uint8Array, imports: () => WebAssembly.Imports): Promise<void> {
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new Error(`Failed to load Wasm module: ${errorMessage(e)}`);
    }
    this.abiVersion = checkModule(module, bytes);
    this.module = module;
    this.imports = imports();
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, this.imports);
    } catch (e) {
      throw new Error(`Failed to instantiate Wasm module: ${errorMessage(e)}`);
    }
    this.bind(instance);
  }

  private bind(instance: WebAssembly.Instance): void {
    this.host.exports = instance.exports;
    this.mem.bind(
      instance.exports.memory as WebAssembly.Memory,
      (instance.exports.malloc ?? instance.exports.proxy_on_memory_allocate) as (n: number) => number,
    );
  }

  /** _initialize (or _start), the root context and proxy_on_vm_start. False when the VM refused or failed. */
  start(): boolean {
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

  /** proxy_on_configure with buffer 7 set to `config`; true when the module accepted it. */
  configure(config: Uint8Array): boolean {
    this.pluginConfig = config;
    try {
      const r = this.invoke("proxy_on_configure", ROOT_ID, ROOT_ID, config.length);
      return !this.failed && (r === undefined || r !== 0);
    } finally {
      this.pluginConfig = null;
    }
  }

  /**
   * Higress re-creates a failed VM when a new stream arrives (FilterConfig::
   * createFilter -> rebuild(true)), at most once per interval: a fresh
   * instance of the same module, started and configured with the last
   * accepted configuration. Streams of the failed VM stay failed.
   */
  recreate(): void {
    if (!this.failed || !this.host.restart || !this.module || !this.imports) return;
    const now = this.host.monotonicMs();
    if (this.lastRestartAttempt !== undefined && now - this.lastRestartAttempt < this.host.restartIntervalMs) return;
    this.lastRestartAttempt = now;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, this.imports);
    } catch (e) {
      this.host.hostLog(LogLevel.error, `Wasm VM re-creation failed: ${errorMessage(e)}`, 0);
      return;
    }
    this.bind(instance);
    this.failed = false;
    this.generation++;
    this.rootAlive = false;
    this.rootDonePending = false;
    this.host.replaced();
    this.currentContext = 0;
    this.effectiveContext = 0;
    const started = this.start();
    let configured = started;
    if (started && this.lastConfig) configured = this.configure(this.lastConfig);
    if (!configured) {
      if (!this.failed) {
        this.failed = true;
        this.failure = {
          function: "proxy_on_vm_start",
          message: "the re-created VM refused to start or to take its configuration",
        };
      }
      this.host.hostLog(LogLevel.error, `Wasm VM re-creation failed: ${this.failure?.message}`, 0);
      return;
    }
    this.restarts++;
    this.host.hostLog(LogLevel.info, `Wasm VM re-created after a failure (generation ${this.generation})`, 0);
  }

  /**
   * Shuts the root context down: proxy_on_done, then proxy_on_delete, or
   * after proxy_done if on_done returned false.
   */
  stopRoot(): void {
    if (!this.rootAlive || this.failed) return;
    const r = this.invoke("proxy_on_done", ROOT_ID, ROOT_ID);
    if (r === 0 && !this.failed) {
      this.rootDonePending = true;
      return;
    }
    this.deleteRoot();
  }

  deleteRoot(): void {
    this.rootDonePending = false;
    this.invoke("proxy_on_delete", ROOT_ID, ROOT_ID);
    this.rootAlive = false;
  }

  has(name: string): boolean {
    return typeof this.host.exports[name] === "function";
  }

  /**
   * Calls an export. Returns its i32 result (unsigned), 0 for a void export,
   * undefined when the export does not exist or the VM failed.
   */
  invoke(name: string, contextId: number, ...args: number[]): number | undefined {
    if (this.failed) return undefined;
    const f = this.host.exports[name];
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
    this.host.hostLog(
      LogLevel.critical,
      `Function: ${fn} failed: ${message}` +
        (frames.length ? `\nProxy-Wasm plugin in-VM backtrace:\n${frames.join("\n")}` : ""),
      contextId,
    );
    this.host.trapped(contextId);
  }
}
