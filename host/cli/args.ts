// The command line of `npm start`: flags, environment variables, usage.

export const DEFAULT_CONFIG = "examples/local.yaml";
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "127.0.0.1";

export interface CliOptions {
  /** Gateway config file (YAML); default examples/local.yaml. */
  config?: string;
  /** Gateway port; 0 = any free port. Set only when asked for (--port or PORT). */
  port?: number;
  /** Gateway listen address. */
  host?: string;
  /** Overrides the config's envoy.streamIdleTimeoutMs (ms; 0 = none). */
  streamIdleTimeoutMs?: number;
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
  -p, --port <n>       gateway port; 0 = any free port. Env: PORT. A port asked
                       for here must be free. Default: the config's listen.port,
                       else ${DEFAULT_PORT}; a busy default port falls back to a free one
      --host <addr>    gateway listen address. Default: the config's listen.host, else ${DEFAULT_HOST}
      --stream-idle-timeout <ms>
                       stream idle timeout; 0 = none. Default: the config's
                       envoy.streamIdleTimeoutMs, else 180000 (Higress)
      --no-build       do not rebuild build/plugin.wasm
  -h, --help           show this help

Examples:
  npm start
  DASHSCOPE_API_KEY=sk-... DEEPSEEK_API_KEY=sk-... npm start -- --config examples/real.yaml
`;

function parsePort(value: string | undefined, source: string): number {
  if (value === undefined || !/^\d+$/.test(value.trim()) || Number(value) > 65535) {
    const got = value === undefined ? "nothing" : value === "" ? '""' : value;
    throw new CliError(`${source}: expected a port number 0-65535, got ${got}`);
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
    /** The flag's value; `number`: a negative number is a (bad) value, not the next flag. */
    const value = (number = false): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      const isFlag = next !== undefined && next.startsWith("-") && next.length > 1 && !(number && /^-\d/.test(next));
      if (next === undefined || isFlag) throw new CliError(`${name} needs a value`);
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
        portFlag = parsePort(value(true), name);
        break;
      case "--host": {
        const v = value();
        if (!v) throw new CliError(`${name} needs an address`);
        opts.host = v;
        break;
      }
      case "--stream-idle-timeout": {
        const v = value(true);
        if (!/^\d+$/.test(v.trim()))
          throw new CliError(`${name}: expected milliseconds (a non-negative integer), got ${v === "" ? '""' : v}`);
        opts.streamIdleTimeoutMs = Number(v);
        break;
      }
      case "--no-build":
        if (inline !== undefined) throw new CliError(`${name} takes no value`);
        opts.build = false;
        break;
      default:
        throw new CliError(
          arg.startsWith("-") ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(arg)}`,
        );
    }
  }
  if (opts.config === undefined && env.AI_JSON_MODE_CONFIG) opts.config = env.AI_JSON_MODE_CONFIG;
  if (portFlag !== undefined) opts.port = portFlag;
  else if (env.PORT !== undefined && env.PORT !== "") opts.port = parsePort(env.PORT, "PORT");
  return opts;
}
