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
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { spawnSync } from "node:child_process";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { startChatMock, startJsonModeMock, type MockServer } from "./mock-llm.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_CONFIG = "examples/local.yaml";
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "127.0.0.1";
/** Environment variables the CLI sets to the mock servers' base URLs. */
export const MOCK_ENV = { chat: "MOCK_CHAT_URL", json: "MOCK_JSON_URL" } as const;

export interface CliOptions {
  /** Gateway config file (YAML); default examples/local.yaml. */
  config?: string;
  /** Gateway port; 0 = any free port. */
  port?: number;
  /** Gateway listen address. */
  host?: string;
  /** Build the plugin when it is missing or stale (default true; --no-build turns it off). */
  build: boolean;
  help: boolean;
}

export class CliError extends Error {}

export const USAGE = `Usage: npm start -- [options]

Runs build/plugin.wasm (ai-json-mode) in a local gateway on 127.0.0.1.

Options:
  -c, --config <file>  gateway config (YAML). Default: ${DEFAULT_CONFIG}
                       (mock LLMs, no keys, no network). Env: AI_JSON_MODE_CONFIG
  -p, --port <n>       gateway port; 0 = any free port. Env: PORT. Default: the
                       config's listen.port, else ${DEFAULT_PORT}; a busy port falls back to a free one
      --host <addr>    gateway listen address. Default: the config's listen.host, else ${DEFAULT_HOST}
      --no-build       do not rebuild build/plugin.wasm
  -h, --help           show this help

Examples:
  npm start
  DASHSCOPE_API_KEY=sk-... DEEPSEEK_API_KEY=sk-... npm start -- --config examples/real.yaml
`;

function parsePort(value: string | undefined, source: string): number {
  if (value === undefined || !/^\d+$/.test(value.trim()) || Number(value) > 65535) {
    throw new CliError(`${source}: expected a port number 0-65535, got ${value === undefined ? "nothing" : JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * Parses the command line (without `node` and the script) and the environment.
 * Flags win over environment variables. Throws CliError on a bad flag or value.
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): CliOptions {
  const opts: CliOptions = { build: true, help: false };
  let portFlag: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("-") && next.length > 1)) throw new CliError(`${name} needs a value`);
      i++;
      return next;
    };
    switch (name) {
      case "-h":
      case "--help":
        opts.help = true;
        break;
      case "-c":
      case "--config": {
        const v = value();
        if (!v) throw new CliError(`${name} needs a file name`);
        opts.config = v;
        break;
      }
      case "-p":
      case "--port":
        portFlag = parsePort(value(), name);
        break;
      case "--host": {
        const v = value();
        if (!v) throw new CliError(`${name} needs an address`);
        opts.host = v;
        break;
      }
      case "--no-build":
        if (inline !== undefined) throw new CliError(`${name} takes no value`);
        opts.build = false;
        break;
      default:
        throw new CliError(arg.startsWith("-") ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  if (opts.config === undefined && env.AI_JSON_MODE_CONFIG) opts.config = env.AI_JSON_MODE_CONFIG;
  if (portFlag !== undefined) opts.port = portFlag;
  else if (env.PORT !== undefined && env.PORT !== "") opts.port = parsePort(env.PORT, "PORT");
  return opts;
}

// --- ${VAR} / ${VAR:-default} references in the config ---------------------

// `$${` is a literal `${` (as the gateway reads it), not a reference.
const VAR_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvRef {
  name: string;
  hasDefault: boolean;
}

/** Every ${VAR} reference in the config's string values (comments ignored), first occurrence of each name. */
export function configEnvRefs(yamlText: string): EnvRef[] {
  const seen = new Map<string, EnvRef>();
  const scan = (s: string) => {
    for (const m of s.matchAll(VAR_RE)) {
      if (m[1] === undefined) continue; // $${
      const prev = seen.get(m[1]);
      const hasDefault = m[2] !== undefined;
      if (!prev) seen.set(m[1], { name: m[1], hasDefault });
      else if (!hasDefault) prev.hasDefault = false; // one bare use makes it required
    }
  };
  const walk = (v: unknown) => {
    if (typeof v === "string") scan(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(parseYaml(yamlText));
  return [...seen.values()];
}

/** Names of the variables the config requires (no default) that `env` leaves unset or empty. */
export function missingEnvVars(yamlText: string, env: Record<string, string | undefined>): string[] {
  return configEnvRefs(yamlText)
    .filter((r) => !r.hasDefault && (env[r.name] === undefined || env[r.name] === ""))
    .map((r) => r.name);
}

/** Expands ${VAR} and ${VAR:-default} (default when unset or empty) in a string; $${ gives ${. */
export function expandEnv(s: string, env: Record<string, string | undefined>): string {
  return s.replace(VAR_RE, (m: string, name: string | undefined, def: string | undefined) => {
    if (name === undefined) return "${";
    const v = env[name];
    return v !== undefined && v !== "" ? v : def ?? "";
  });
}

// --- build ------------------------------------------------------------------

function newestMtime(dir: string): { mtime: number; file: string } {
  let best = { mtime: 0, file: "" };
  if (!existsSync(dir)) return best;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const cur = entry.isDirectory() ? newestMtime(p) : { mtime: statSync(p).mtimeMs, file: p };
    if (cur.mtime > best.mtime) best = cur;
  }
  return best;
}

/** Whether `wasm` must be rebuilt: missing, or older than any file under `sourceDir` or `extra` files. */
export function needsBuild(wasm: string, sourceDir: string, extra: string[] = []): { build: boolean; reason: string } {
  if (!existsSync(wasm)) return { build: true, reason: `${relative(ROOT, wasm) || wasm} is missing` };
  const built = statSync(wasm).mtimeMs;
  let newest = newestMtime(sourceDir);
  for (const f of extra) {
    if (existsSync(f) && statSync(f).mtimeMs > newest.mtime) newest = { mtime: statSync(f).mtimeMs, file: f };
  }
  if (newest.mtime > built) return { build: true, reason: `${relative(ROOT, newest.file)} is newer than the build` };
  return { build: false, reason: "up to date" };
}

// --- output -----------------------------------------------------------------

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const LEVEL_COLOR: Record<string, string> = { trace: "90", debug: "90", info: "36", warn: "33", error: "31", critical: "31;1" };
const LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "critical"];

function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** One console line for a log entry of the plugin (or of the host or gateway running it). */
export function formatLogEntry(e: { level: number; levelName?: string; message: string; contextId?: number; source?: string }): string {
  const level = (e.levelName || LEVEL_NAMES[e.level] || String(e.level)).toLowerCase();
  const ctx = e.contextId ? ` [ctx ${e.contextId}]` : "";
  return `${stamp()} [${e.source ?? "plugin"}] ${paint(LEVEL_COLOR[level] ?? "0", level.padEnd(5))}${ctx} ${e.message}`;
}

function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => done(true)));
  });
}

function resolveConfigPath(p: string, env: Record<string, string | undefined>): string {
  if (isAbsolute(p)) return p;
  // `npm start` runs in the package root; INIT_CWD is where the user typed it.
  for (const base of [env.INIT_CWD, process.cwd(), ROOT]) {
    if (base && existsSync(resolve(base, p))) return resolve(base, p);
  }
  return resolve(process.cwd(), p);
}

/** The curl command that exercises a route of the running gateway. */
export function curlCommand(port: number, prefix: string, model: string, headers: string[] = []): string {
  const path = `${prefix.replace(/\/+$/, "")}/v1/chat/completions`;
  const body = JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] });
  const extra = headers.map((h) => ` -H "${h}"`).join("");
  return `curl localhost:${port}${path} -H 'content-type: application/json'${extra} -d '${body}'`;
}

/** A model and key variable to show in the curl command for a real chat provider, by its URL. */
export function providerHint(upstream: string): { model: string; keyVar: string } {
  if (/dashscope/i.test(upstream)) return { model: "qwen-plus", keyVar: "DASHSCOPE_API_KEY" };
  if (/deepseek/i.test(upstream)) return { model: "deepseek-chat", keyVar: "DEEPSEEK_API_KEY" };
  if (/openai\.com/i.test(upstream)) return { model: "gpt-4o-mini", keyVar: "OPENAI_API_KEY" };
  return { model: "your-model", keyVar: "API_KEY" };
}

function describeRoutes(gateway: any, raw: any, env: Record<string, string>): { name: string; prefix: string; upstream: string }[] {
  const resolved = gateway?.config?.routes;
  if (Array.isArray(resolved)) {
    return resolved.map((r: any) => ({
      name: String(r.name),
      prefix: String(r.prefix),
      upstream: r.upstream?.url instanceof URL ? r.upstream.url.href.replace(/\/$/, "") : String(r.upstream?.url ?? r.upstream ?? ""),
    }));
  }
  const list: any[] = Array.isArray(raw?.routes) ? raw.routes : [];
  return list.map((r) => {
    const up = typeof r?.upstream === "string" ? r.upstream : typeof r?.upstream?.url === "string" ? r.upstream.url : "";
    return { name: String(r?.name ?? ""), prefix: expandEnv(String(r?.prefix ?? ""), env), upstream: expandEnv(up, env) };
  });
}

// --- main -------------------------------------------------------------------

export async function main(argv: string[] = process.argv.slice(2), env: Record<string, string | undefined> = process.env): Promise<void> {
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

  const fail = (msg: string): never => {
    console.error(`error: ${msg}`);
    process.exit(1);
  };

  const configFile = resolveConfigPath(opts.config ?? DEFAULT_CONFIG, env);
  const configName = relative(process.cwd(), configFile) || configFile;
  if (!existsSync(configFile)) fail(`config file not found: ${configFile}`);
  const text = readFileSync(configFile, "utf8");
  let raw: any;
  try {
    raw = parseYaml(text) ?? {};
  } catch (e) {
    fail(`${configName} is not valid YAML: ${(e as Error).message}`);
  }

  // Mocks: started only for the variables the config refers to.
  const refs = new Set(configEnvRefs(text).map((r) => r.name));
  const wantChat = refs.has(MOCK_ENV.chat);
  const wantJson = refs.has(MOCK_ENV.json);
  const provided = new Set<string>([...(wantChat ? [MOCK_ENV.chat] : []), ...(wantJson ? [MOCK_ENV.json] : [])]);
  const missing = missingEnvVars(text, env).filter((n) => !provided.has(n));
  if (missing.length) {
    fail(
      `${configName} needs these environment variables, which are not set: ${missing.join(", ")}\n` +
        `       set them (see docs/local.md), e.g. ${missing.map((n) => `${n}=...`).join(" ")} npm start -- --config ${configName}`,
    );
  }

  // Build the plugin when needed. The gateway looks for a relative plugin.wasm
  // next to the config file first, then in the current directory.
  const plugin = raw?.plugin;
  if (plugin && plugin.enabled !== false && typeof plugin.wasm === "string") {
    const w = expandEnv(plugin.wasm, env);
    const candidates = isAbsolute(w) ? [w] : [...new Set([resolve(dirname(configFile), w), resolve(process.cwd(), w)])];
    const projectWasm = join(ROOT, "build", "plugin.wasm");
    const first = candidates.find((c) => existsSync(c)) ?? (candidates.includes(projectWasm) ? projectWasm : undefined);
    if (opts.build && first === projectWasm) {
      const need = needsBuild(projectWasm, join(ROOT, "assembly"), [join(ROOT, "asconfig.json")]);
      if (need.build) {
        console.log(`Building the plugin (${need.reason}): npm run build`);
        const r = spawnSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "inherit" });
        if (r.status !== 0) {
          const old = existsSync(projectWasm) ? "; --no-build runs the previous build/plugin.wasm" : "";
          fail(`the plugin build failed (exit ${r.status ?? r.signal}); run npm run build to see why${old}`);
        }
      }
    }
    if (!candidates.some((c) => existsSync(c))) {
      fail(`plugin module not found (tried ${candidates.join(", ")}); run npm run build`);
    }
  }

  // From here on, everything started is stopped by Ctrl-C.
  const started: { name: string; close: () => Promise<void> }[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) {
      process.exit(code || 130); // a second Ctrl-C: leave now
    }
    stopping = true;
    console.log("\nStopping...");
    const force = setTimeout(() => {
      console.error("error: shutdown took too long; exiting anyway");
      process.exit(code);
    }, 5000);
    force.unref();
    for (const s of started.reverse()) {
      try {
        await s.close();
      } catch (e) {
        console.error(`error: closing ${s.name}: ${(e as Error).message}`);
      }
    }
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  const mockLog = (line: string) => console.log(`${stamp()} ${paint("35", line)}`);
  const gatewayEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) gatewayEnv[k] = v;
  let chatMock: MockServer | undefined;
  let jsonMock: MockServer | undefined;
  try {
    if (wantChat) {
      chatMock = await startChatMock({ onLog: mockLog });
      started.push({ name: "chat mock", close: () => chatMock!.close() });
      gatewayEnv[MOCK_ENV.chat] = chatMock.url;
    }
    if (wantJson) {
      jsonMock = await startJsonModeMock({ onLog: mockLog });
      started.push({ name: "JSON-mode mock", close: () => jsonMock!.close() });
      gatewayEnv[MOCK_ENV.json] = jsonMock.url;
    }
  } catch (e) {
    console.error(`error: could not start the mock LLM servers: ${(e as Error).message}`);
    await stop(1);
  }

  // Port: --port / PORT, else the config's listen.port, else 8080; busy -> any free port.
  const listen = raw?.listen ?? {};
  const configPort = listen.port !== undefined ? Number(expandEnv(String(listen.port), gatewayEnv)) : undefined;
  let port = opts.port ?? (Number.isInteger(configPort) ? configPort! : DEFAULT_PORT);
  const host = opts.host ?? (typeof listen.host === "string" ? expandEnv(listen.host, gatewayEnv) : DEFAULT_HOST);
  if (port !== 0 && !(await isPortFree(port, host))) {
    console.log(`Port ${port} on ${host} is busy; using a free port instead.`);
    port = 0;
  }

  const { startGateway } = await import("./gateway.ts");
  const onLog = (e: { level: number; levelName: string; message: string; contextId: number; source?: string }) =>
    console.log(formatLogEntry(e));
  let gateway: { url: string; port: number; close(): Promise<void>; config?: unknown };
  try {
    gateway = await startGateway({ configFile, port, host, onLog, env: gatewayEnv });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE" && port !== 0) {
      console.log(`Port ${port} on ${host} is busy; using a free port instead.`);
      try {
        gateway = await startGateway({ configFile, port: 0, host, onLog, env: gatewayEnv });
      } catch (e2) {
        console.error(`error: the gateway did not start: ${(e2 as Error).message}`);
        return void (await stop(1));
      }
    } else {
      console.error(`error: the gateway did not start: ${err.message}`);
      return void (await stop(1));
    }
  }
  started.push({ name: "gateway", close: () => gateway.close() });

  // Banner.
  const routes = describeRoutes(gateway, raw, gatewayEnv);
  const mocked = wantChat || wantJson;
  console.log("");
  console.log(`Gateway listening on ${gateway.url}`);
  console.log(`  config: ${configName}${mocked ? "" : " (real providers)"}`);
  if (chatMock) console.log(`  chat model:      ${chatMock.url}  ${paint("35", "(MOCK: answers \"Mock reply to: <your message>\")")}`);
  if (jsonMock) console.log(`  JSON-mode model: ${jsonMock.url}  ${paint("35", "(MOCK: answers {\"output\": <the chat answer>})")}`);
  for (const r of routes) console.log(`  route ${r.name}: ${r.prefix} -> ${r.upstream}`);
  const first = routes[0] ?? { name: "", prefix: "", upstream: "" };
  console.log("");
  console.log("Try:");
  if (wantChat) {
    console.log(`  ${curlCommand(gateway.port, first.prefix, "x")}`);
  } else {
    // A real chat provider: the client sends its key, which the gateway forwards.
    const hint = providerHint(first.upstream);
    console.log(`  ${curlCommand(gateway.port, first.prefix, hint.model, [`authorization: Bearer $${hint.keyVar}`])}`);
    console.log(`  (the chat provider's key comes from the client; use a model ${first.upstream || "the provider"} serves)`);
  }
  console.log("");
  console.log("Plugin log lines follow. Ctrl-C stops everything.");
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((e) => {
    console.error(`error: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  });
}
