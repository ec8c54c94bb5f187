// `npm start`: runs build/plugin.wasm in the local gateway.
//
//   npm start                                 mock LLMs + examples/local.yaml (no keys, no network)
//   npm start -- --port 9090                  another port (also: PORT=9090)
//   npm start -- --config examples/real.yaml  real providers (also: AI_JSON_MODE_CONFIG=...)
//
// The plugin is built first when build/plugin.wasm is missing or older than a
// source under assembly/. A config that references ${MOCK_CHAT_URL} or
// ${MOCK_JSON_URL} gets the matching mock server started and the variable set
// to its URL; any other ${VAR} without a default must be set in the
// environment. Ctrl-C stops everything this command started.
//
// main() runs the steps below in order; the command line is in cli/args.ts,
// the listen address in cli/listen.ts, the output in cli/output.ts.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { BuildError, ensurePluginBuilt, PLUGIN_WASM, ROOT } from "./build.ts";
import { CliError, DEFAULT_CONFIG, USAGE, parseArgs, type CliOptions } from "./cli/args.ts";
import { chooseListen, listenError, type ListenAt } from "./cli/listen.ts";
import { formatLogEntry, paint, printBanner, stamp } from "./cli/output.ts";
import {
  configEnvRefs,
  expandEnv,
  firstExisting,
  loadGatewayConfigFile,
  missingEnvVars,
  wasmSearchPath,
  type Env,
} from "./gateway/config.ts";
import type { Gateway } from "./gateway/index.ts";
import { startChatMock, startJsonModeMock, type MockServer } from "./mock-llm.ts";

export { ROOT, needsBuild } from "./build.ts";
export { CliError, DEFAULT_CONFIG, DEFAULT_HOST, DEFAULT_PORT, USAGE, parseArgs, type CliOptions } from "./cli/args.ts";
export { curlCommand, formatLogEntry, providerHint } from "./cli/output.ts";
export { configEnvRefs, expandEnv, missingEnvVars, type EnvRef } from "./gateway/config.ts";

/** Environment variables the CLI sets to the mock servers' base URLs. */
export const MOCK_ENV = { chat: "MOCK_CHAT_URL", json: "MOCK_JSON_URL" } as const;

/** Prints the error and exits 1 (nothing is running yet). */
function fail(msg: string): never {
  console.error(`error: ${msg}`);
  process.exit(1);
}

// --- what runs, and how it stops -------------------------------------------

/** Everything this command started; stop() closes it in reverse order and exits. */
class Running {
  private readonly started: { name: string; close: () => Promise<void> }[] = [];
  private stopping = false;

  constructor() {
    process.on("SIGINT", () => void this.stop(0));
    process.on("SIGTERM", () => void this.stop(0));
  }

  add(name: string, close: () => Promise<void>): void {
    this.started.push({ name, close });
  }

  /** Prints the error, stops everything, exits 1. */
  async fail(msg: string): Promise<never> {
    console.error(`error: ${msg}`);
    return this.stop(1);
  }

  async stop(code: number): Promise<never> {
    if (this.stopping) process.exit(code || 130); // a second Ctrl-C: leave now
    this.stopping = true;
    console.log("\nStopping...");
    const force = setTimeout(() => {
      console.error("error: shutdown took too long; exiting anyway");
      process.exit(code);
    }, 5000);
    force.unref();
    for (const s of this.started.reverse()) {
      try {
        await s.close();
      } catch (e) {
        console.error(`error: closing ${s.name}: ${(e as Error).message}`);
      }
    }
    process.exit(code);
  }
}

// --- steps ------------------------------------------------------------------

interface ConfigFile {
  path: string;
  /** As shown to the user (relative to the current directory). */
  name: string;
  text: string;
  raw: any;
}

/** Finds and parses the config file. A relative path: where `npm start` was typed, then here, then the project. */
function readConfigFile(opts: CliOptions, env: Env): ConfigFile {
  const p = opts.config ?? DEFAULT_CONFIG;
  let path = resolve(process.cwd(), p);
  if (!isAbsolute(p)) {
    // `npm start` runs in the package root; INIT_CWD is where the user typed it.
    const base = [env.INIT_CWD, process.cwd(), ROOT].find((b) => b && existsSync(resolve(b, p)));
    if (base) path = resolve(base, p);
  }
  const name = relative(process.cwd(), path) || path;
  if (!existsSync(path)) fail(`config file not found: ${path}`);
  const text = readFileSync(path, "utf8");
  let raw: any;
  try {
    raw = parseYaml(text) ?? {};
  } catch (e) {
    fail(`${name} is not valid YAML: ${(e as Error).message}`);
  }
  return { path, name, text, raw };
}

/** Which mocks the config refers to; fails naming every other required variable that is not set. */
function mocksAndVariables(file: ConfigFile, env: Env): { chat: boolean; json: boolean } {
  const refs = new Set(configEnvRefs(file.text).map((r) => r.name));
  const want = { chat: refs.has(MOCK_ENV.chat), json: refs.has(MOCK_ENV.json) };
  const provided = new Set<string>([...(want.chat ? [MOCK_ENV.chat] : []), ...(want.json ? [MOCK_ENV.json] : [])]);
  const missing = missingEnvVars(file.text, env).filter((n) => !provided.has(n));
  if (missing.length) {
    fail(
      `${file.name} needs these environment variables, which are not set: ${missing.join(", ")}\n` +
        `       set them (see docs/local.md), e.g. ${missing.map((n) => `${n}=...`).join(" ")} npm start -- --config ${file.name}`,
    );
  }
  return want;
}

/** Builds build/plugin.wasm when the config runs it and it is missing or stale; fails when the module is not there. */
function buildPlugin(file: ConfigFile, env: Env, build: boolean): void {
  const plugin = file.raw?.plugin;
  if (!plugin || plugin.enabled === false || typeof plugin.wasm !== "string") return;
  let wasm: string;
  try {
    wasm = expandEnv(plugin.wasm, env);
  } catch {
    return; // a mock's URL in the path: the gateway reports it
  }
  const candidates = wasmSearchPath(wasm, dirname(file.path), process.cwd());
  // The module the gateway will load, or the project's build that would be it once built.
  const target = firstExisting(candidates) ?? (candidates.includes(PLUGIN_WASM) ? PLUGIN_WASM : undefined);
  if (build && target === PLUGIN_WASM) {
    try {
      ensurePluginBuilt();
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      fail(e.message + (existsSync(PLUGIN_WASM) ? "; --no-build runs the previous build/plugin.wasm" : ""));
    }
  }
  if (!firstExisting(candidates)) fail(`plugin module not found (tried ${candidates.join(", ")}); run npm run build`);
}

/** Starts the mocks the config refers to; returns the environment with their URLs. */
async function startMocks(want: { chat: boolean; json: boolean }, env: Env, running: Running) {
  const mockLog = (line: string) => console.log(`${stamp()} ${paint("35", line)}`);
  const gatewayEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) gatewayEnv[k] = v;
  const mocks: { chat?: MockServer; json?: MockServer } = {};
  try {
    if (want.chat) {
      const chat = (mocks.chat = await startChatMock({ onLog: mockLog }));
      running.add("chat mock", () => chat.close());
      gatewayEnv[MOCK_ENV.chat] = chat.url;
    }
    if (want.json) {
      const json = (mocks.json = await startJsonModeMock({ onLog: mockLog }));
      running.add("JSON-mode mock", () => json.close());
      gatewayEnv[MOCK_ENV.json] = json.url;
    }
  } catch (e) {
    await running.fail(`could not start the mock LLM servers: ${(e as Error).message}`);
  }
  return { mocks, gatewayEnv };
}

/** Starts the gateway where asked (see cli/listen.ts). */
async function startGatewayAt(
  file: ConfigFile,
  opts: CliOptions,
  env: Record<string, string>,
  running: Running,
): Promise<Gateway> {
  let at: ListenAt;
  const hostSource = opts.host !== undefined ? "--host" : `${file.name}: listen.host`;
  try {
    const listen = loadGatewayConfigFile(file.path, env).listen;
    at = await chooseListen(opts.port, listen.port, opts.host ?? listen.host, hostSource, (line) => console.log(line));
  } catch (e) {
    return running.fail(e instanceof CliError ? e.message : `the gateway did not start: ${(e as Error).message}`);
  }
  const { startGateway } = await import("./gateway/index.ts");
  const onLog = (e: { level: number; levelName: string; message: string; contextId: number; source?: string }) =>
    console.log(formatLogEntry(e));
  const envoy = opts.streamIdleTimeoutMs !== undefined ? { streamIdleTimeoutMs: opts.streamIdleTimeoutMs } : undefined;
  const start = (port: number) => startGateway({ configFile: file.path, port, host: at.host, onLog, env, envoy });
  try {
    return await start(at.port);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE" && at.port !== 0 && opts.port === undefined) {
      // Taken since it was checked: any free port, as for a busy default.
      console.log(`Port ${at.port} on ${at.host} is busy; using a free port instead.`);
      try {
        return await start(0);
      } catch (e2) {
        return running.fail(`the gateway did not start: ${(e2 as Error).message}`);
      }
    }
    if (
      err.code === "EADDRINUSE" ||
      err.code === "EACCES" ||
      err.code === "EADDRNOTAVAIL" ||
      err.code === "ENOTFOUND"
    ) {
      return running.fail(listenError(at, err.code, err.message, hostSource).message);
    }
    return running.fail(`the gateway did not start: ${err.message}`);
  }
}

// --- main -------------------------------------------------------------------

export async function main(argv: string[] = process.argv.slice(2), env: Env = process.env): Promise<void> {
  let opts: CliOptions;
  try {
    opts = parseArgs(argv, env);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const file = readConfigFile(opts, env);
  const want = mocksAndVariables(file, env);
  buildPlugin(file, env, opts.build);

  // From here on, everything started is stopped by Ctrl-C.
  const running = new Running();
  const { mocks, gatewayEnv } = await startMocks(want, env, running);
  const gateway = await startGatewayAt(file, opts, gatewayEnv, running);
  running.add("gateway", () => gateway.close());
  printBanner(gateway, file.name, mocks);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((e) => {
    console.error(`error: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  });
}
