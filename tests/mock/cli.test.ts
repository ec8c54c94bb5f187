// `npm start` (host/cli.ts): flags, environment variables, config checks.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CliError,
  DEFAULT_CONFIG,
  MOCK_ENV,
  ROOT,
  configEnvRefs,
  curlCommand,
  expandEnv,
  formatLogEntry,
  missingEnvVars,
  needsBuild,
  parseArgs,
  providerHint,
} from "../../host/cli.ts";
import { loadGatewayConfigFile } from "../../host/index.ts";
import { cliEnv } from "../kit/cli.ts";

describe("parseArgs", () => {
  test("defaults: no config, no port, build on", () => {
    assert.deepEqual(parseArgs([], {}), { build: true, help: false });
  });

  test("--port, --port=, -p and PORT; the flag wins", () => {
    assert.equal(parseArgs(["--port", "9090"], {}).port, 9090);
    assert.equal(parseArgs(["--port=0"], {}).port, 0);
    assert.equal(parseArgs(["-p", "1234"], {}).port, 1234);
    assert.equal(parseArgs([], { PORT: "7070" }).port, 7070);
    assert.equal(parseArgs(["--port", "9090"], { PORT: "7070" }).port, 9090);
    assert.equal(parseArgs([], { PORT: "" }).port, undefined);
  });

  test("bad ports are refused, naming the source", () => {
    for (const bad of ["abc", "-1", "65536", "80.5", ""]) {
      assert.throws(() => parseArgs([`--port=${bad}`], {}), CliError, bad);
    }
    assert.throws(() => parseArgs([], { PORT: "http" }), /PORT: expected a port number/);
    assert.throws(() => parseArgs(["--port"], {}), /--port needs a value/);
    assert.throws(() => parseArgs(["--port", "--no-build"], {}), /--port needs a value/);
  });

  test("a negative port is a bad port number, not a missing value", () => {
    assert.throws(() => parseArgs(["--port", "-1"], {}), /^Error: --port: expected a port number 0-65535, got -1$/);
    assert.throws(() => parseArgs(["-p", "-1"], {}), /^Error: -p: expected a port number 0-65535, got -1$/);
    assert.throws(() => parseArgs(["--port=-1"], {}), /--port: expected a port number 0-65535, got -1$/);
    assert.throws(() => parseArgs([], { PORT: "-1" }), /^Error: PORT: expected a port number 0-65535, got -1$/);
    assert.throws(
      () => parseArgs(["--host", "-1"], {}),
      /--host needs a value/,
      "only port flags take a negative number",
    );
  });

  test("--config, -c and AI_JSON_MODE_CONFIG; the flag wins", () => {
    assert.equal(parseArgs(["--config", "examples/real.yaml"], {}).config, "examples/real.yaml");
    assert.equal(parseArgs(["--config=x.yaml"], {}).config, "x.yaml");
    assert.equal(parseArgs(["-c", "y.yaml"], {}).config, "y.yaml");
    assert.equal(parseArgs([], { AI_JSON_MODE_CONFIG: "env.yaml" }).config, "env.yaml");
    assert.equal(parseArgs(["-c", "flag.yaml"], { AI_JSON_MODE_CONFIG: "env.yaml" }).config, "flag.yaml");
    assert.throws(() => parseArgs(["--config"], {}), /needs a value/);
  });

  test("--host, --no-build, --help", () => {
    assert.equal(parseArgs(["--host", "0.0.0.0"], {}).host, "0.0.0.0");
    assert.equal(parseArgs(["--no-build"], {}).build, false);
    assert.equal(parseArgs(["--help"], {}).help, true);
    assert.equal(parseArgs(["-h"], {}).help, true);
    assert.deepEqual(parseArgs(["--no-build", "--port=0", "--config", "a.yaml", "--host=::1"], {}), {
      build: false,
      help: false,
      port: 0,
      config: "a.yaml",
      host: "::1",
    });
  });

  test("unknown flags and stray arguments are refused", () => {
    assert.throws(() => parseArgs(["--verbose"], {}), /unknown option --verbose/);
    assert.throws(() => parseArgs(["serve"], {}), /unexpected argument "serve"/);
    assert.throws(() => parseArgs(["--no-build=1"], {}), /takes no value/);
  });
});

describe("config environment variables", () => {
  const yaml = `
# \${IN_A_COMMENT} is ignored
listen: { host: 127.0.0.1, port: 8080 }
plugin:
  config:
    apiKey: \${DEEPSEEK_API_KEY}
    model: \${DEEPSEEK_MODEL:-deepseek-chat}
routes:
  - upstream: \${CHAT_URL:-https://dashscope.aliyuncs.com}/compatible-mode
    headers: { authorization: "Bearer \${DASHSCOPE_API_KEY}" }
clusters:
  "outbound|443||\${FQDN:-deepseek.dns}": \${DEEPSEEK_URL}
`;

  test("configEnvRefs finds every reference in values, not in keys or comments", () => {
    assert.deepEqual(
      configEnvRefs(yaml)
        .map((r) => `${r.name}${r.hasDefault ? "?" : ""}`)
        .sort(),
      ["CHAT_URL?", "DASHSCOPE_API_KEY", "DEEPSEEK_API_KEY", "DEEPSEEK_MODEL?", "DEEPSEEK_URL"],
    );
    assert.deepEqual(configEnvRefs("a: $${LITERAL}\nb: ${X:-1}\nc: ${X}"), [{ name: "X", hasDefault: false }]);
  });

  test("missingEnvVars names the unset or empty ones without a default", () => {
    assert.deepEqual(missingEnvVars(yaml, {}), ["DEEPSEEK_API_KEY", "DASHSCOPE_API_KEY", "DEEPSEEK_URL"]);
    assert.deepEqual(missingEnvVars(yaml, { DEEPSEEK_API_KEY: "k", DASHSCOPE_API_KEY: "", DEEPSEEK_URL: "u" }), [
      "DASHSCOPE_API_KEY",
    ]);
    assert.deepEqual(missingEnvVars(yaml, { DEEPSEEK_API_KEY: "k", DASHSCOPE_API_KEY: "d", DEEPSEEK_URL: "u" }), []);
  });

  test("expandEnv uses the value, else the default when unset or empty", () => {
    assert.equal(expandEnv("${A}/${B:-b}/${C:-}", { A: "a" }), "a/b/");
    assert.equal(expandEnv("${B:-b}", { B: "" }), "b");
    assert.equal(expandEnv("${B:-b}", { B: "set" }), "set");
    assert.equal(expandEnv("no refs $HOME {x}", {}), "no refs $HOME {x}");
    assert.equal(expandEnv("$${A}", { A: "a" }), "${A}");
  });

  test("expandEnv refuses a variable without a default that is unset or empty, naming it (as the gateway does)", () => {
    assert.throws(() => expandEnv("x ${NOPE} y", {}), /environment variable NOPE is not set/);
    assert.throws(() => expandEnv("${EMPTY}", { EMPTY: "" }), /environment variable EMPTY is empty/);
    const names = missingEnvVars("a: ${NOPE}\nb: ${EMPTY}\nc: ${SET}\nd: ${DEF:-x}", { EMPTY: "", SET: "s" });
    assert.deepEqual(names, ["NOPE", "EMPTY"], "npm start's check names exactly what expansion refuses");
  });

  test("examples/local.yaml needs only the mock URLs, which npm start provides", () => {
    const text = readFileSync(join(ROOT, DEFAULT_CONFIG), "utf8");
    assert.deepEqual(missingEnvVars(text, {}).sort(), [MOCK_ENV.chat, MOCK_ENV.json].sort());
    assert.ok(!/sk-[A-Za-z0-9]{20,}/.test(text), "no real key in the file");
  });

  test("examples/real.yaml needs the DeepSeek key and no mock", () => {
    const text = readFileSync(join(ROOT, "examples/real.yaml"), "utf8");
    const names = configEnvRefs(text).map((r) => r.name);
    assert.ok(!names.includes(MOCK_ENV.chat) && !names.includes(MOCK_ENV.json), "real.yaml starts no mock");
    assert.deepEqual(missingEnvVars(text, {}), ["DEEPSEEK_API_KEY"]);
    assert.deepEqual(missingEnvVars(text, { DEEPSEEK_API_KEY: "sk-x" }), []);
  });
});

describe("example configs against the gateway's config reader", () => {
  test("examples/local.yaml is a valid gateway config once the mock URLs are set", () => {
    const env = { [MOCK_ENV.chat]: "http://127.0.0.1:1", [MOCK_ENV.json]: "http://127.0.0.1:2" };
    const cfg = loadGatewayConfigFile(join(ROOT, "examples/local.yaml"), env);
    assert.equal(cfg.routes[0].prefix, "/api/openai");
    assert.equal(cfg.routes[0].upstream.url.origin, "http://127.0.0.1:1");
    assert.equal(cfg.clusters.get("outbound|443||deepseek.dns")?.url.origin, "http://127.0.0.1:2");
    assert.ok(cfg.plugin!.wasmCandidates.includes(join(ROOT, "build/plugin.wasm")));
    const plugin = JSON.parse(cfg.plugin!.config);
    assert.equal(plugin.serviceFQDN, "deepseek.dns");
    assert.equal(plugin.servicePort, 443);
  });

  test("examples/real.yaml is a valid gateway config once DEEPSEEK_API_KEY is set", () => {
    const cfg = loadGatewayConfigFile(join(ROOT, "examples/real.yaml"), { DEEPSEEK_API_KEY: "sk-test" });
    assert.equal(cfg.routes[0].upstream.url.origin, "https://dashscope.aliyuncs.com");
    assert.equal(cfg.routes[0].rewritePrefix, "/compatible-mode");
    assert.equal(cfg.clusters.get("outbound|443||deepseek.dns")?.url.origin, "https://api.deepseek.com");
    assert.equal(JSON.parse(cfg.plugin!.config).apiKey, "sk-test");
  });
});

describe("helpers", () => {
  test("the curl command for the default local config", () => {
    assert.equal(
      curlCommand(8080, "/api/openai", "x"),
      `curl localhost:8080/api/openai/v1/chat/completions -H 'content-type: application/json' -d '{"model":"x","messages":[{"role":"user","content":"hello"}]}'`,
    );
    assert.match(curlCommand(9, "/p/", "m"), /^curl localhost:9\/p\/v1\/chat\/completions /);
    assert.equal(
      curlCommand(8080, "/api/openai", "qwen-plus", ["authorization: Bearer $DASHSCOPE_API_KEY"]),
      `curl localhost:8080/api/openai/v1/chat/completions -H 'content-type: application/json' -H "authorization: Bearer $DASHSCOPE_API_KEY" -d '{"model":"qwen-plus","messages":[{"role":"user","content":"hello"}]}'`,
    );
  });

  test("provider hints for the curl command of a real config", () => {
    assert.deepEqual(providerHint("https://dashscope.aliyuncs.com"), {
      model: "qwen-plus",
      keyVar: "DASHSCOPE_API_KEY",
    });
    assert.deepEqual(providerHint("https://api.deepseek.com"), { model: "deepseek-chat", keyVar: "DEEPSEEK_API_KEY" });
    assert.equal(providerHint("http://10.0.0.1:8000").keyVar, "API_KEY");
  });

  test("log lines show the source, the level and the message", () => {
    const line = formatLogEntry({
      level: 3,
      levelName: "warn",
      message: "passthrough: reason",
      contextId: 2,
      source: "plugin",
    });
    assert.match(line, /\[plugin\] .*warn.* \[ctx 2\] passthrough: reason$/);
    assert.match(formatLogEntry({ level: 2, levelName: "", message: "m", contextId: 0 }), /\[plugin\] .*info.* m$/);
    assert.match(
      formatLogEntry({ level: 3, message: "upstream failed", source: "gateway" }),
      /\[gateway\] .*warn.* upstream failed$/,
    );
  });

  test("needsBuild: missing, stale, up to date", () => {
    const dir = mkdtempSync(join(tmpdir(), "ai-json-mode-cli-"));
    try {
      const src = join(dir, "assembly");
      mkdirSync(join(src, "jsonmode"), { recursive: true });
      const file = join(src, "jsonmode", "plugin.ts");
      const wasm = join(dir, "plugin.wasm");
      writeFileSync(file, "// source");
      assert.equal(needsBuild(wasm, src).build, true);
      assert.match(needsBuild(wasm, src).reason, /missing/);
      writeFileSync(wasm, "wasm");
      const t = Date.now() / 1000;
      utimesSync(file, t - 100, t - 100);
      utimesSync(wasm, t - 50, t - 50);
      assert.equal(needsBuild(wasm, src).build, false);
      utimesSync(file, t, t);
      const stale = needsBuild(wasm, src);
      assert.equal(stale.build, true);
      assert.match(stale.reason, /plugin\.ts is newer than the build/);
      utimesSync(file, t - 100, t - 100);
      const extra = join(dir, "asconfig.json");
      writeFileSync(extra, "{}");
      assert.equal(needsBuild(wasm, src, [extra]).build, true, "an extra file newer than the build counts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the command", () => {
  const cli = (args: string[], env: Record<string, string> = {}) => {
    return spawnSync(process.execPath, ["--import", "tsx", "host/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...cliEnv(/API_KEY/), ...env },
      encoding: "utf8",
      timeout: 30_000,
    });
  };

  test("--help prints the usage and exits 0", () => {
    const r = cli(["--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: npm start/);
    assert.match(r.stdout, /AI_JSON_MODE_CONFIG/);
  });

  test("a bad flag exits 2 with the reason and the usage", () => {
    const r = cli(["--bogus"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /error: unknown option --bogus/);
    assert.match(r.stderr, /Usage:/);
  });

  test("a config with missing variables fails with one error naming them all, before starting anything", () => {
    const dir = mkdtempSync(join(tmpdir(), "ai-json-mode-cli-"));
    try {
      const file = join(dir, "two-keys.yaml");
      writeFileSync(
        file,
        readFileSync(join(ROOT, "examples/real.yaml"), "utf8").replace(
          "upstream: ${DASHSCOPE_BASE_URL:-https://dashscope.aliyuncs.com}",
          "upstream: ${CHAT_PROVIDER_URL}",
        ),
      );
      const r = cli(["--config", file, "--no-build", "--port", "0"]);
      assert.equal(r.status, 1);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(
        errors[0],
        /needs these environment variables, which are not set: DEEPSEEK_API_KEY, CHAT_PROVIDER_URL$/,
      );
      assert.doesNotMatch(r.stdout, /\[mock\]|Gateway listening/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("examples/real.yaml through AI_JSON_MODE_CONFIG without DEEPSEEK_API_KEY", () => {
    const r = cli(["--no-build"], { AI_JSON_MODE_CONFIG: "examples/real.yaml" });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /examples\/real\.yaml needs these environment variables, which are not set: DEEPSEEK_API_KEY\n/,
    );
    assert.doesNotMatch(r.stdout, /\[mock\]/, "no mock for a real config");
  });

  test("--port -1 is refused as a port number", () => {
    const r = cli(["--port", "-1"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: --port: expected a port number 0-65535, got -1\n/);
  });

  test("a port asked for that is busy is an error naming it (--port and PORT); nothing keeps running", async () => {
    const busy = http.createServer();
    await new Promise<void>((ok) => busy.listen(0, "127.0.0.1", ok));
    const port = (busy.address() as AddressInfo).port;
    try {
      for (const r of [cli(["--no-build", "--port", String(port)]), cli(["--no-build"], { PORT: String(port) })]) {
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, new RegExp(`^error: port ${port} on 127\\.0\\.0\\.1 is busy`, "m"));
        assert.doesNotMatch(r.stdout, /Gateway listening|using a free port/);
      }
    } finally {
      await new Promise<void>((ok) => busy.close(() => ok()));
    }
  });

  test("an address the gateway cannot listen on is called invalid, not busy", () => {
    for (const host of ["999.1.1.1", "no-such-host.invalid"]) {
      const r = cli(["--no-build", "--port", "0", "--host", host]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^error: --host ${host.replace(/\./g, "\\.")} is not a valid address to listen on \\(`, "m"),
      );
      assert.doesNotMatch(r.stdout + r.stderr, /busy|Gateway listening/);
    }
  });

  test("a missing config file is a clear error", () => {
    const r = cli(["--config", "examples/nope.yaml", "--no-build"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /config file not found: .*examples\/nope\.yaml/);
  });
});
