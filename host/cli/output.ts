// What `npm start` prints: log lines, the banner with the gateway URL and a
// ready curl command.

import { LOG_LEVEL_NAMES } from "../abi/constants.ts";
import type { Gateway } from "../gateway/index.ts";
import type { MockServer } from "../mock-llm.ts";

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
export const paint = (code: string, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const LEVEL_COLOR: Record<string, string> = {
  trace: "90",
  debug: "90",
  info: "36",
  warn: "33",
  error: "31",
  critical: "31;1",
};

export function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** One console line for a log entry of the plugin (or of the host or gateway running it). */
export function formatLogEntry(e: {
  level: number;
  levelName?: string;
  message: string;
  contextId?: number;
  source?: string;
}): string {
  const level = (e.levelName || LOG_LEVEL_NAMES[e.level] || String(e.level)).toLowerCase();
  const ctx = e.contextId ? ` [ctx ${e.contextId}]` : "";
  return `${stamp()} [${e.source ?? "plugin"}] ${paint(LEVEL_COLOR[level] ?? "0", level.padEnd(5))}${ctx} ${e.message}`;
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

/** The gateway URL, the mocks, the routes and a curl command to try. */
export function printBanner(
  gateway: Gateway,
  configName: string,
  mocks: { chat?: MockServer; json?: MockServer },
): void {
  const routes = gateway.config.routes.map((r) => ({
    name: r.name,
    prefix: r.prefix,
    upstream: r.upstream.url.href.replace(/\/$/, ""),
  }));
  const mocked = mocks.chat !== undefined || mocks.json !== undefined;
  console.log("");
  console.log(`Gateway listening on ${gateway.url}`);
  console.log(`  config: ${configName}${mocked ? "" : " (real providers)"}`);
  if (mocks.chat)
    console.log(
      `  chat model:      ${mocks.chat.url}  ${paint("35", '(MOCK: answers "Mock reply to: <your message>")')}`,
    );
  if (mocks.json)
    console.log(
      `  JSON-mode model: ${mocks.json.url}  ${paint("35", '(MOCK: answers {"output": <the chat answer>})')}`,
    );
  for (const r of routes) console.log(`  route ${r.name}: ${r.prefix} -> ${r.upstream}`);
  const first = routes[0] ?? { name: "", prefix: "", upstream: "" };
  console.log("");
  console.log("Try:");
  if (mocks.chat) {
    console.log(`  ${curlCommand(gateway.port, first.prefix, "x")}`);
  } else {
    // A real chat provider: the client sends its key, which the gateway forwards.
    const hint = providerHint(first.upstream);
    console.log(`  ${curlCommand(gateway.port, first.prefix, hint.model, [`authorization: Bearer $${hint.keyVar}`])}`);
    console.log(
      `  (the chat provider's key comes from the client; use a model ${first.upstream || "the provider"} serves)`,
    );
  }
  console.log("");
  console.log("Plugin log lines follow. Ctrl-C stops everything.");
}
