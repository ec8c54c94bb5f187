// `npm start` (host/cli.ts) as a child process, the way a user runs it: an
// environment without the variables that would change its choices, its
// output collected as it comes, the gateway URL it prints, and Ctrl-C.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { ROOT } from "../../host/cli.ts";

/** The test's environment without PORT, AI_JSON_MODE_*, INIT_CWD, nor the variables `drop` matches. */
export function cliEnv(drop?: RegExp): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^PORT$|^AI_JSON_MODE_|^INIT_CWD$/.test(k) && !drop?.test(k)) env[k] = v;
  }
  return env;
}

export interface RunningCli {
  child: ChildProcess;
  /** Everything printed so far. */
  out: string;
  err: string;
  /** The URL the gateway listens on, as printed. */
  url: string;
  /** Ctrl-C (SIGINT) unless it already exited; its exit status, or "timeout" (then SIGKILL) after 8 s. */
  stop(): Promise<number | null | "timeout">;
}

/** Starts `npm start` with `args` (no colours) and waits until it is ready: "Plugin log lines follow". */
export async function startCli(args: string[], opts: { dropEnv?: RegExp } = {}): Promise<RunningCli> {
  const child = spawn(process.execPath, ["--import", "tsx", "host/cli.ts", ...args], {
    cwd: ROOT,
    env: { ...cliEnv(opts.dropEnv), NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const cli: RunningCli = {
    child,
    out: "",
    err: "",
    url: "",
    async stop() {
      if (child.exitCode === null) child.kill("SIGINT");
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 8000))),
      ]);
      clearTimeout(timer);
      if (code === "timeout") child.kill("SIGKILL");
      return code;
    },
  };
  child.stdout.on("data", (c) => (cli.out += c));
  child.stderr.on("data", (c) => (cli.err += c));
  try {
    const deadline = Date.now() + 45_000;
    while (!/Plugin log lines follow/.test(cli.out)) {
      if (child.exitCode !== null) assert.fail(`npm start exited early (${child.exitCode}):\n${cli.out}\n${cli.err}`);
      if (Date.now() > deadline) assert.fail(`no URL printed in time:\n${cli.out}\n${cli.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = cli.out.match(/Gateway listening on (http:\/\/[^\s]+)/)?.[1];
    assert.ok(url, cli.out);
    cli.url = url;
    return cli;
  } catch (e) {
    await cli.stop();
    throw e;
  }
}
