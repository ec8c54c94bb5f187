// The conformance corpus: scenarios (tests/conformance/scenarios/*.json), the
// C++ embedder that runs them (build/cpphost/ai-json-mode-cpphost), and the
// checks made on the transcripts it writes. Formats: tests/conformance/README.md.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";

import { ROOT, WASM } from "../kit/wasm.ts";

export { ROOT, WASM };
export const SCENARIO_DIR = join(ROOT, "tests/conformance/scenarios");
export const CPPHOST = join(ROOT, "build/cpphost/ai-json-mode-cpphost");
export const TRAP_WAT = join(ROOT, "tests/conformance/wat/trap.wat");
export const TRAP_WASM = join(ROOT, "build/cpphost/trap.wasm");
/** Exit code of scripts/build-cpphost.mjs when a prerequisite is missing. */
export const EXIT_MISSING = 3;
/** Builds build/plugin.wasm when it is missing. */
export function ensurePlugin(): void {
  if (existsSync(WASM)) return;
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/build.mjs")], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("building build/plugin.wasm failed");
}

// ---- scenario format ------------------------------------------------------------

export type Pairs = [string, string][];
export type BodySpec =
  | string
  | { text: string }
  | { base64: string }
  | { json: unknown }
  | { file: string }
  | { fill: { prefix?: string; repeat?: string; suffix?: string; size: number } };

export interface Step {
  stream?: string;
  route?: string;
  cluster?: string;
  upstream?: "http1" | "http2";
  downstreamProtocol?: string;
  properties?: Record<string, string>;
  requestHeaders?: Pairs | Record<string, string>;
  requestBody?: BodySpec;
  responseHeaders?: Pairs | Record<string, string>;
  responseBody?: BodySpec;
  chunkSize?: number;
  endStream?: boolean;
  clientReset?: boolean;
  answer?: number;
  status?: number;
  headers?: Pairs | Record<string, string>;
  body?: BodySpec;
  timeout?: number;
  connectFailure?: number;
  reset?: number;
  configure?: unknown;
  advance?: number;
  tick?: boolean;
}

export interface BodyExpect {
  json?: unknown;
  jsonSubset?: unknown;
  text?: string;
  contains?: string[];
  sameAsUpstream?: boolean;
}

export interface StreamExpect {
  status?: number | null;
  mode?: string | null;
  body?: BodyExpect;
  contentLengthMatches?: boolean;
  headers?: Record<string, string>;
  absentHeaders?: string[];
  localReply?: string;
  pending?: boolean;
  reset?: string;
  resumes?: number;
  logs?: { level: string; contains: string }[];
  noLogs?: string[];
}

export interface CallExpect {
  stream?: string;
  root?: string;
  cluster?: string;
  headers?: Record<string, string>;
  timeout?: number;
  bodyJsonSubset?: unknown;
  bodyContains?: string;
  bodyMinSize?: number;
}

export interface Expectations {
  [stream: string]: unknown;
  calls?: CallExpect[];
  upstream?: Record<string, { headers?: Record<string, string>; absentHeaders?: string[] }>;
  metrics?: Record<string, number>;
  events?: Record<string, unknown>[];
  logs?: { level: string; contains: string }[];
  trap?: boolean;
}

export interface Scenario {
  name: string;
  description?: string;
  module?: string;
  clock?: { wallMs?: number; monoMs?: number };
  logLevel?: string;
  failStrategy?: "FAIL_CLOSE" | "FAIL_OPEN";
  bufferLimit?: number;
  idleTimeoutMs?: number;
  plugin?: { name?: string; rootId?: string; vmId?: string; vmConfig?: unknown };
  clusters?: Record<string, string>;
  config?: unknown;
  steps: Step[];
  expect?: Expectations;
  /** A promise this scenario shows broken on this host (its checks are todos, reported but not failing). */
  knownIssue?: string;
  /** Which checks the known issue breaks: "outcome" (default), "invariants". */
  knownIssueAffects?: ("outcome" | "invariants")[];
}

// ---- transcript format ------------------------------------------------------------

export type BodyJson = { text: string } | { base64: string } | { size: number; sha256: string };

export interface TEvent {
  ev: string;
  [key: string]: unknown;
}

export interface ClientOutcome {
  status: number | null;
  headers: Pairs;
  body: BodyJson;
  complete: boolean;
  reset: false | string;
  localReply?: { status: number; details: string };
  pending: boolean;
}

export interface Transcript {
  name: string | null;
  ok: boolean;
  errors: string[];
  events: TEvent[];
  contexts: Record<string, { vm: string; id: number }>;
  clients: Record<string, ClientOutcome>;
  calls: { call: number; stream: string; cluster: string; state: string }[];
  metrics: Record<string, number>;
}

// ---- scenarios ----------------------------------------------------------------

export function loadScenarios(dir = SCENARIO_DIR): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const s = JSON.parse(readFileSync(join(dir, f), "utf8")) as Scenario;
      if (s.name + ".json" !== f) throw new Error(`${f}: name is ${s.name}`);
      return withMarker(s);
    });
}

/** The configuration's text, as the plugin receives it (a string as is, anything else as JSON.stringify writes it). */
export function configText(config: unknown): string {
  return typeof config === "string" ? config : JSON.stringify(config);
}

/**
 * The plugin's loop-guard marker for a configuration: 32 hex digits of
 * SHA-256 over "higress own call", NUL, the root id, NUL and the
 * configuration's bytes (README, "No loops"; assembly/higress/sdk.ts).
 */
export function loopMarker(config: unknown, rootId = ""): string {
  return createHash("sha256")
    .update(`higress own call\0${rootId}\0`)
    .update(configText(config))
    .digest("hex")
    .slice(0, 32);
}

/** Replaces "{{marker}}" anywhere in a scenario by the marker of its first configuration. */
export function withMarker(s: Scenario): Scenario {
  if (s.config === undefined || !JSON.stringify(s).includes("{{marker}}")) return s;
  const marker = loopMarker(s.config, s.plugin?.rootId ?? "");
  const subst = (v: unknown): unknown => {
    if (typeof v === "string") return v.replaceAll("{{marker}}", marker);
    if (Array.isArray(v)) return v.map(subst);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, subst(x)]));
    return v;
  };
  return subst(s) as Scenario;
}

/** The bytes a body spec stands for (the C++ runner resolves them identically). */
export function resolveBody(spec: BodySpec | undefined): Buffer {
  if (spec === undefined || spec === null) return Buffer.alloc(0);
  if (typeof spec === "string") return Buffer.from(spec, "utf8");
  if ("text" in spec) return Buffer.from(spec.text, "utf8");
  if ("base64" in spec) return Buffer.from(spec.base64, "base64");
  if ("json" in spec) return Buffer.from(JSON.stringify(spec.json), "utf8");
  if ("file" in spec) return readFileSync(join(ROOT, spec.file));
  const { prefix = "", repeat = "x", suffix = "", size } = spec.fill;
  const p = Buffer.from(prefix),
    r = Buffer.from(repeat),
    s = Buffer.from(suffix);
  const middle = size - p.length - s.length;
  const parts: Buffer[] = [p];
  let n = 0;
  while (n < middle) {
    parts.push(r);
    n += r.length;
  }
  return Buffer.concat([Buffer.concat(parts).subarray(0, p.length + middle), s]);
}

/** Everything the upstream sent as the response body of `stream`. */
export function upstreamBody(s: Scenario, stream: string): Buffer {
  return Buffer.concat(
    s.steps
      .filter((st) => st.stream === stream && st.responseBody !== undefined)
      .map((st) => resolveBody(st.responseBody)),
  );
}

/** The API keys a scenario configures (none may ever reach a log line). */
export function apiKeys(s: Scenario): string[] {
  const keys: string[] = [];
  const take = (c: unknown): void => {
    if (c && typeof c === "object" && typeof (c as { apiKey?: unknown }).apiKey === "string")
      keys.push((c as { apiKey: string }).apiKey);
    const rules = c && typeof c === "object" ? (c as { _rules_?: unknown })._rules_ : undefined;
    if (Array.isArray(rules)) rules.forEach(take);
  };
  take(s.config);
  for (const st of s.steps) if (st.configure !== undefined) take(st.configure);
  return keys.filter((k) => k.length > 0);
}

/** Scenarios as the runner reads them: one compact JSON object per line. */
export function toJsonl(scenarios: Scenario[]): string {
  return scenarios.map((s) => JSON.stringify(s)).join("\n") + "\n";
}

// ---- the embedder ---------------------------------------------------------------

export interface BuildResult {
  status: "ok" | "missing" | "failed";
  message: string;
}

/** Builds (or finds up to date) the embedder with `npm run build:cpphost`'s script. */
export function buildCppHost(): BuildResult {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/build-cpphost.mjs")], { cwd: ROOT, encoding: "utf8" });
  const message = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
  if (r.status === 0 && existsSync(CPPHOST)) return { status: "ok", message };
  if (r.status === EXIT_MISSING) return { status: "missing", message: message.split("\n").pop() ?? message };
  return { status: "failed", message };
}

/** Compiles tests/conformance/wat/trap.wat to build/cpphost/trap.wasm with wabt. */
export async function compileTrapModule(): Promise<string> {
  const wabt = await (await import("wabt")).default();
  const mod = wabt.parseWat("trap.wat", readFileSync(TRAP_WAT, "utf8"), { bulk_memory: true, mutable_globals: true });
  try {
    mod.resolveNames();
    mod.validate();
    mkdirSync(dirname(TRAP_WASM), { recursive: true });
    writeFileSync(TRAP_WASM, Buffer.from(mod.toBinary({}).buffer));
  } finally {
    mod.destroy();
  }
  return TRAP_WASM;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  transcripts: Transcript[];
}

/** `ai-json-mode-cpphost run <wasm> --module trap=...` over a batch of scenarios. */
export function runCppHost(wasm: string, scenarios: Scenario[], modules: Record<string, string> = {}): RunResult {
  const args = ["run", wasm];
  for (const [name, path] of Object.entries(modules)) args.push("--module", `${name}=${path}`);
  const r = spawnSync(CPPHOST, args, {
    cwd: ROOT,
    input: toJsonl(scenarios),
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
  });
  const transcripts = (r.stdout ?? "")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Transcript);
  return { status: r.status, signal: r.signal, stderr: r.stderr ?? "", transcripts };
}

// ---- reading transcripts ---------------------------------------------------------

export function bodyBytes(b: BodyJson): Buffer | null {
  if ("text" in b) return Buffer.from(b.text, "utf8");
  if ("base64" in b) return Buffer.from(b.base64, "base64");
  return null;
}

export function bodySize(b: BodyJson): number {
  const bytes = bodyBytes(b);
  return bytes ? bytes.length : (b as { size: number }).size;
}

function sameBytes(b: BodyJson, expected: Buffer): boolean {
  const bytes = bodyBytes(b);
  if (bytes) return bytes.equals(expected);
  const big = b as { size: number; sha256: string };
  return big.size === expected.length && big.sha256 === createHash("sha256").update(expected).digest("hex");
}

export function header(pairs: Pairs, name: string): string | undefined {
  const p = pairs.find(([k]) => k === name);
  return p ? p[1] : undefined;
}

/** `subset` is contained in `value`: objects by key (recursively), arrays by position, the rest by equality. */
export function isSubset(subset: unknown, value: unknown): boolean {
  if (subset !== null && typeof subset === "object") {
    if (value === null || typeof value !== "object") return false;
    if (Array.isArray(subset)) {
      if (!Array.isArray(value) || value.length < subset.length) return false;
      return subset.every((s, i) => isSubset(s, value[i]));
    }
    return Object.entries(subset as Record<string, unknown>).every(([k, v]) =>
      isSubset(v, (value as Record<string, unknown>)[k]),
    );
  }
  return isDeepStrictEqual(subset, value);
}

function bodyJsonValue(b: BodyJson): unknown {
  const bytes = bodyBytes(b);
  if (!bytes) return undefined;
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

const CALL_EVENT = (e: TEvent): boolean => e.ev === "call" && e.fn === "http_call" && e.r === "Ok";

// ---- checks -------------------------------------------------------------------

/** What must hold in every transcript, whatever the scenario. */
export function checkInvariants(s: Scenario, t: Transcript): string[] {
  const problems: string[] = [];
  if (t.name !== s.name) problems.push(`transcript is for ${t.name}`);
  if (!t.ok) problems.push(`scenario errors: ${t.errors.join("; ")}`);
  if (!s.expect?.trap) {
    for (const e of t.events.filter((e) => e.ev === "vm_failed"))
      problems.push(`the VM failed in ${String(e.fn)} (${String(e.vm)})`);
  }
  for (const key of apiKeys(s)) {
    for (const e of t.events.filter((e) => e.ev === "log")) {
      if (String(e.msg).includes(key)) problems.push(`the API key reached a log line: ${String(e.msg)}`);
    }
  }
  // The plugin receives the configuration exactly as JSON.stringify writes it.
  const configs = [s.config, ...s.steps.filter((st) => st.configure !== undefined).map((st) => st.configure)].filter(
    (c) => c !== undefined,
  );
  const sizes = t.events
    .filter((e) => e.ev === "vm" && e.fn === "proxy_on_configure" && !String(e.ctx).startsWith("canary"))
    .map((e) => (e.args as number[])[0]);
  for (const size of sizes) {
    const known = configs.map((c) => Buffer.byteLength(configText(c)));
    if (!known.includes(size))
      problems.push(`proxy_on_configure got ${size} bytes, none of the configurations is that long`);
  }
  for (const [name, c] of Object.entries(t.clients)) {
    const resumes = t.events.filter(
      (e) => e.ev === "call" && e.fn === "continue_stream" && e.stream === "response" && e.ctx === name,
    ).length;
    if (resumes > 1) problems.push(`${name}: resumed ${resumes} times`);
    // A response paused at its end and then delivered normally was resumed exactly once.
    const pausedAtEnd = t.events.some(
      (e) =>
        e.ev === "vm" &&
        e.ctx === name &&
        e.fn === "proxy_on_response_body" &&
        (e.args as number[])[1] === 1 &&
        e.ret === 1,
    );
    if (pausedAtEnd && c.complete && !c.localReply && resumes !== 1)
      problems.push(`${name}: paused at its end, completed, resumed ${resumes} times`);
    // A client still waiting is waiting for a call that is still out (or that a failed VM dropped).
    if (c.pending && !t.calls.some((k) => k.stream === name && k.state !== "answered")) {
      problems.push(`${name}: the client waits, but no call of its stream is out (or was dropped)`);
    }
  }
  return problems;
}

function streamLogs(t: Transcript, stream: string | null): TEvent[] {
  return t.events.filter((e) => e.ev === "log" && (stream === null || e.ctx === stream));
}

function checkLogs(
  t: Transcript,
  stream: string | null,
  wanted: { level: string; contains: string }[],
  where: string,
): string[] {
  const problems: string[] = [];
  for (const w of wanted) {
    if (!streamLogs(t, stream).some((e) => e.level === w.level && String(e.msg).includes(w.contains))) {
      problems.push(`${where}: no ${w.level} line containing "${w.contains}"`);
    }
  }
  return problems;
}

/** The outcome a scenario's `expect` describes (the README's promises). */
export function checkExpectations(s: Scenario, t: Transcript): string[] {
  const problems: string[] = [];
  const x = s.expect ?? {};
  const special = new Set(["calls", "upstream", "metrics", "events", "logs", "trap"]);
  for (const [stream, raw] of Object.entries(x)) {
    if (special.has(stream)) continue;
    const e = raw as StreamExpect;
    const c = t.clients[stream];
    if (!c) {
      problems.push(`${stream}: no such stream in the transcript`);
      continue;
    }
    const where = stream;
    if (e.status !== undefined && c.status !== e.status)
      problems.push(`${where}: status ${c.status}, expected ${e.status}`);
    if (e.mode !== undefined) {
      const mode = header(c.headers, "mode") ?? null;
      if (mode !== e.mode) problems.push(`${where}: mode header ${mode}, expected ${e.mode}`);
    }
    for (const [k, v] of Object.entries(e.headers ?? {})) {
      const got = header(c.headers, k);
      if (got === undefined || !(got === v || got.startsWith(v + ";")))
        problems.push(`${where}: header ${k} is ${got}, expected ${v}`);
    }
    for (const k of e.absentHeaders ?? [])
      if (header(c.headers, k) !== undefined) problems.push(`${where}: header ${k} should be absent`);
    if (e.contentLengthMatches) {
      const cl = header(c.headers, "content-length");
      if (cl === undefined) problems.push(`${where}: no content-length`);
      else if (Number(cl) !== bodySize(c.body))
        problems.push(`${where}: content-length ${cl} but the body has ${bodySize(c.body)} bytes`);
    }
    if (e.body) {
      const b = e.body;
      if (b.sameAsUpstream && !sameBytes(c.body, upstreamBody(s, stream)))
        problems.push(`${where}: body is not the upstream's, byte for byte`);
      if (b.text !== undefined && !sameBytes(c.body, Buffer.from(b.text, "utf8")))
        problems.push(`${where}: body ${JSON.stringify(c.body)}, expected ${JSON.stringify(b.text)}`);
      if (b.json !== undefined && !isDeepStrictEqual(bodyJsonValue(c.body), b.json))
        problems.push(`${where}: body ${JSON.stringify(c.body)} is not the JSON ${JSON.stringify(b.json)}`);
      if (b.jsonSubset !== undefined && !isSubset(b.jsonSubset, bodyJsonValue(c.body)))
        problems.push(`${where}: body ${JSON.stringify(c.body)} does not contain ${JSON.stringify(b.jsonSubset)}`);
      for (const piece of b.contains ?? []) {
        const bytes = bodyBytes(c.body);
        if (!bytes || !bytes.toString("utf8").includes(piece))
          problems.push(`${where}: body lacks ${JSON.stringify(piece)}`);
      }
    }
    if (e.localReply !== undefined && c.localReply?.details !== e.localReply)
      problems.push(`${where}: local reply ${c.localReply?.details}, expected ${e.localReply}`);
    if (e.pending !== undefined && c.pending !== e.pending) problems.push(`${where}: pending is ${c.pending}`);
    if (e.pending === undefined && e.reset === undefined && !c.complete)
      problems.push(`${where}: the client's response never completed`);
    if (e.reset !== undefined && c.reset !== e.reset) problems.push(`${where}: reset ${c.reset}, expected ${e.reset}`);
    if (e.resumes !== undefined) {
      const n = t.events.filter(
        (ev) => ev.ev === "call" && ev.fn === "continue_stream" && ev.stream === "response" && ev.ctx === stream,
      ).length;
      if (n !== e.resumes) problems.push(`${where}: resumed ${n} times, expected ${e.resumes}`);
    }
    problems.push(...checkLogs(t, stream, e.logs ?? [], where));
    for (const level of e.noLogs ?? []) {
      const found = streamLogs(t, stream).find((ev) => ev.level === level);
      if (found) problems.push(`${where}: unexpected ${level} line: ${String(found.msg)}`);
    }
  }
  if (x.calls) {
    const calls = t.events.filter(CALL_EVENT);
    if (calls.length !== x.calls.length) problems.push(`${calls.length} calls dispatched, expected ${x.calls.length}`);
    x.calls.forEach((want, i) => {
      const got = calls[i];
      if (!got) return;
      const where = `call ${i + 1}`;
      if (want.stream !== undefined && got.ctx !== want.stream)
        problems.push(`${where}: made for ${String(got.ctx)}, expected ${want.stream}`);
      if (want.root !== undefined && got.root !== want.root)
        problems.push(`${where}: on root ${String(got.root)}, expected ${want.root}`);
      if (want.cluster !== undefined && got.cluster !== want.cluster)
        problems.push(`${where}: cluster ${String(got.cluster)}, expected ${want.cluster}`);
      if (want.timeout !== undefined && got.timeout !== want.timeout)
        problems.push(`${where}: timeout ${String(got.timeout)}, expected ${want.timeout}`);
      for (const [k, v] of Object.entries(want.headers ?? {})) {
        const h = header(got.headers as Pairs, k);
        if (h !== v) problems.push(`${where}: header ${k} is ${h}, expected ${v}`);
      }
      const body = bodyBytes(got.body as BodyJson);
      if (want.bodyMinSize !== undefined && bodySize(got.body as BodyJson) < want.bodyMinSize)
        problems.push(`${where}: body smaller than ${want.bodyMinSize}`);
      if (want.bodyContains !== undefined && !(body && body.toString("utf8").includes(want.bodyContains)))
        problems.push(`${where}: body lacks ${want.bodyContains}`);
      if (want.bodyJsonSubset !== undefined && !isSubset(want.bodyJsonSubset, bodyJsonValue(got.body as BodyJson)))
        problems.push(`${where}: body does not contain ${JSON.stringify(want.bodyJsonSubset)}`);
    });
  }
  for (const [stream, want] of Object.entries(x.upstream ?? {})) {
    const up = t.events.find((e) => e.ev === "upstream_headers" && e.stream === stream);
    if (!up) {
      problems.push(`${stream}: its request never went upstream`);
      continue;
    }
    for (const [k, v] of Object.entries(want.headers ?? {})) {
      if (header(up.headers as Pairs, k) !== v)
        problems.push(`${stream}: upstream header ${k} is ${header(up.headers as Pairs, k)}, expected ${v}`);
    }
    for (const k of want.absentHeaders ?? [])
      if (header(up.headers as Pairs, k) !== undefined)
        problems.push(`${stream}: upstream header ${k} should be absent`);
  }
  for (const [name, value] of Object.entries(x.metrics ?? {})) {
    if (t.metrics[name] !== value) problems.push(`metric ${name} is ${t.metrics[name]}, expected ${value}`);
  }
  // Events: each wanted (partial) event appears, in this order.
  let from = 0;
  for (const want of x.events ?? []) {
    const i = t.events.findIndex((e, j) => j >= from && isSubset(want, e));
    if (i < 0) problems.push(`no event ${JSON.stringify(want)} (in order)`);
    else from = i + 1;
  }
  problems.push(...checkLogs(t, null, x.logs ?? [], "logs"));
  return problems;
}
