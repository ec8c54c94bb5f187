// The fuzzer: runs generated cases through the compiled plugin in the
// proxy-wasm host and checks every outcome. The host plays Higress's Envoy 1.27
// with its defaults (32 KiB buffer limit, 65535 bytes for the HTTP/2 clients
// of one stream in three; a body callback after StopIterationAndBuffer sees
// the buffer without its own chunk), so a response Envoy itself answers (500)
// or a body cut at its last chunk fails the case.
//
// One case = a valid config (sometimes followed by a mutated one, accepted or
// rejected), then 1..6 streams fed through the request and response phases
// (chunk splits, interleaved), their JSON-mode calls answered in random order
// (good answers, error statuses, timeouts, refusals, resets, malformed and
// mutated bodies), sometimes a client that goes away or an upstream cut off.
//
// Pass, for every case:
//   - the VM never traps (host.failed stays false), and every config is
//     accepted or rejected;
//   - a paused response is resumed exactly once; a response that did not
//     pause is never resumed; the request is never paused;
//   - the client receives the original status, headers and bytes exactly, or
//     a valid conversion (JSON body, one correct content-length, mode: json,
//     other headers untouched; equal to the model's JSON when that JSON is the
//     whole answer; valid against jsonSchema), or (onFailure: error) a 502
//     JSON error;
//   - when the config is known, the outcome is the one the README documents:
//     the call's cluster, :path, :authority, key, timeout and body; no call
//     for a response that is not for the plugin; a conversion for a good
//     answer; no retry after a final failure, retries up to maxRetries after
//     a bad answer;
//   - no API key in any log line; no stream context left (liveContexts() 0)
//     and no call left pending.

import { Ajv } from "ajv";
import { loadHost, toPairs, type HttpCall, type HttpStream, type ProxyWasmHost } from "../../host/index.ts";
import * as ref from "../kit/reference.ts";
import { WASM } from "../kit/wasm.ts";
import {
  Rng,
  caseRng,
  genAnswer,
  genConfig,
  genRequest,
  genUpstream,
  mutateConfig,
  effectiveConfig,
  jsonDepth,
  REFUSED_FQDN,
  UNIQUE_SCHEMA,
  type AnswerSpec,
  type ConfigModel,
  type GeneratedConfig,
  type Pairs,
  type RequestSpec,
  type UpstreamSpec,
} from "./gen.ts";

/** build/plugin.wasm, or the file AI_JSON_MODE_WASM names. */
export const DEFAULT_WASM = WASM;

export interface FuzzOptions {
  seed: number;
  /** First case index (default 0). */
  from?: number;
  /** Number of cases. */
  cases: number;
  /** Path or bytes of the module (default build/plugin.wasm). */
  wasm?: string | Uint8Array;
  /** Load a fresh host every this many cases (aligned on case indexes; default 2000). */
  reloadEvery?: number;
  /** Every this many cases (aligned), one 8 MB case (default 1000; 0 = none). */
  bigEvery?: number;
  /** Stop after this many failing cases (default 20). */
  maxFailures?: number;
  /** Called after every case. */
  progress?: (done: number, summary: FuzzSummary) => void;
}

export interface CaseFailure {
  seed: number;
  index: number;
  /** First case of the host the failure happened on (replay from there if --case alone does not reproduce it). */
  hostStart: number;
  problems: string[];
  context: string;
}

export interface FuzzSummary {
  seed: number;
  from: number;
  cases: number;
  failures: CaseFailure[];
  /** Counters: outcomes, labels, config verdicts... */
  stats: Record<string, number>;
  streams: number;
  calls: number;
  hosts: number;
  maxPages: number;
  ms: number;
}

const ajv = new Ajv({
  strict: false,
  validateSchema: false,
  allErrors: false,
  unicodeRegExp: false,
  ownProperties: true,
});
const validators = new Map<string, ((v: unknown) => boolean) | null>();

function schemaValidator(schema: unknown): ((v: unknown) => boolean) | null {
  const key = JSON.stringify(schema);
  if (!validators.has(key)) {
    try {
      validators.set(key, ajv.compile(schema as object) as (v: unknown) => boolean);
    } catch {
      validators.set(key, null);
    }
  }
  return validators.get(key)!;
}

// ---------------------------------------------------------------------------
// Helpers

const enc = new TextEncoder();

function first(pairs: Pairs, key: string): string | undefined {
  return pairs.find(([k]) => k === key)?.[1];
}

function all(pairs: Pairs, key: string): string[] {
  return pairs.filter(([k]) => k === key).map(([, v]) => v);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function pairsEqual(a: Pairs, b: Pairs): boolean {
  return a.length === b.length && a.every(([k, v], i) => b[i][0] === k && b[i][1] === v);
}

function without(pairs: Pairs, keys: string[]): Pairs {
  return pairs.filter(([k]) => !keys.includes(k));
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep JSON equality; strings that differ only in lone surrogates (kept vs U+FFFD) count as equal and are tallied. */
function sameJson(a: unknown, b: unknown, tally: { wtf: number }): boolean {
  if (typeof a === "string" && typeof b === "string") {
    if (a === b) return true;
    if (a.toWellFormed() === b.toWellFormed()) {
      tally.wtf++;
      return true;
    }
    return false;
  }
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameJson(x, bb[i], tally));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const bo = b as Record<string, unknown>;
  const ao = a as Record<string, unknown>;
  if (ka.every((k) => Object.prototype.hasOwnProperty.call(bo, k)))
    return ka.every((k) => sameJson(ao[k], bo[k], tally));
  // Keys with lone surrogates: compare by their well-formed spelling.
  const norm = new Map(kb.map((k) => [k.toWellFormed(), k]));
  if (norm.size !== kb.length) return false;
  tally.wtf++;
  return ka.every((k) => norm.has(k.toWellFormed()) && sameJson(ao[k], bo[norm.get(k.toWellFormed())!], tally));
}

function short(v: unknown, n = 160): string {
  let s: string;
  try {
    s =
      typeof v === "string"
        ? v
        : v instanceof Uint8Array
          ? Buffer.from(v.buffer, v.byteOffset, Math.min(v.length, n * 4)).toString("utf8") +
            (v.length > n * 4 ? ` ... (${v.length} bytes)` : "")
          : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s;
}

/** splitUrl of the plugin: host (user-info dropped) and path+query (fragment dropped). */
function splitUrl(url: string): { scheme: string; host: string; path: string } {
  if (url.startsWith("/")) return { scheme: "", host: "", path: url };
  const sep = url.indexOf("://");
  const scheme = url.slice(0, sep).toLowerCase();
  const rest = url.slice(sep + 3);
  let end = rest.search(/[/?#]/);
  if (end < 0) end = rest.length;
  let host = rest.slice(0, end);
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.slice(at + 1);
  let path = rest.slice(end);
  const hash = path.indexOf("#");
  if (hash >= 0) path = path.slice(0, hash);
  if (path === "") path = "/";
  else if (path.startsWith("?")) path = "/" + path;
  return { scheme, host, path };
}

function mediaType(v: string | undefined): string {
  if (v === undefined) return "";
  const semi = v.indexOf(";");
  return (semi >= 0 ? v.slice(0, semi) : v).trim().toLowerCase();
}

// ---------------------------------------------------------------------------
// Answers, as the reference sees them

type AnswerClass =
  /** The plugin must give up: no retry, no conversion. */
  | { type: "final"; why: string }
  /** 200 with blank content: retryable, never converted. */
  | { type: "empty" }
  /** 200 with non-blank content. `exact`: the whole content is this JSON container (depth-checked). */
  | { type: "content"; content: string; exact?: unknown; exactOk: boolean; extracted: boolean };

function classifyAnswer(a: AnswerSpec): AnswerClass {
  if (a.kind !== "http") return { type: "final", why: a.kind };
  if (a.status !== 200) return { type: "final", why: `status ${a.status}` };
  if (a.body.length === 0) return { type: "final", why: "empty body" };
  const p = ref.parseBytes(a.body);
  if (!p.ok) return { type: "final", why: "body not JSON" };
  const c = ref.contentOf(p.value);
  if (c.code === "no_content" || c.code === "not_completion") return { type: "final", why: "no content" };
  if (c.code === "empty_content") return { type: "empty" };
  const content = c.content!;
  let exact: unknown = undefined;
  let exactOk = false;
  // A content string with a lone surrogate (from a \udXXX escape) has no UTF-8
  // form: the plugin reads it as U+FFFD, V8 keeps the code unit (and may pair
  // it with an escaped one inside the JSON text). No exact expectation then.
  if (content.isWellFormed()) {
    try {
      const v = JSON.parse(content);
      if (typeof v === "object" && v !== null && jsonDepth(content) <= 500) {
        exact = v;
        exactOk = true;
      }
    } catch {
      // not exact JSON
    }
  }
  return { type: "content", content, exact, exactOk, extracted: ref.extractJson(content) !== undefined };
}

// ---------------------------------------------------------------------------
// One stream

interface CallRecord {
  call: HttpCall;
  answer?: AnswerSpec;
  cls?: AnswerClass;
}

class StreamRun {
  s!: HttpStream;
  calls: CallRecord[] = [];
  /** lastAction of the callback that saw the response's end of stream. */
  endAction: number | undefined = undefined;
  abort: "none" | "mid-body" | "before-answer" | "before-response" = "none";
  /** The client's protocol (request.protocol): HTTP/2 streams get Envoy's 65535-byte buffer limit, others 32768. */
  protocol: "HTTP/1.1" | "HTTP/2" = "HTTP/1.1";
  body: Uint8Array;
  problems: string[] = [];
  /** Strings equal only once lone surrogates are replaced by U+FFFD. */
  wtf = 0;

  constructor(
    readonly n: number,
    readonly req: RequestSpec,
    readonly up: UpstreamSpec,
    /** The config in effect for this stream when known; undefined = unknown (relaxed checks). */
    readonly cfg: ConfigModel | null | undefined,
  ) {
    this.body = concat(up.chunks);
  }

  problem(msg: string): void {
    this.problems.push(`stream ${this.n} (${this.up.label}): ${msg}`);
  }
}

// ---------------------------------------------------------------------------
// The case

interface CaseEnv {
  host: ProxyWasmHost;
  stats: Record<string, number>;
  tally: { wtf: number };
}

function count(stats: Record<string, number>, key: string, n = 1): void {
  stats[key] = (stats[key] ?? 0) + n;
}

export interface CaseResult {
  problems: string[];
  context: string;
  streams: number;
  calls: number;
}

/** Runs case `index` of `seed` on `host`. Never throws: harness errors are problems. */
export function runCase(
  env: CaseEnv,
  seed: number,
  index: number,
  big: "none" | "content" | "sse" | "answer",
): CaseResult {
  const { host, stats } = env;
  const rng = caseRng(seed, index);
  const problems: string[] = [];
  const ctx: string[] = [];
  const logStart = host.logs.length;
  const runs: StreamRun[] = [];
  const apiKeys = new Set<string>();
  let callsTotal = 0;
  try {
    // --- config ------------------------------------------------------------
    let cfg: GeneratedConfig = genConfig(rng);
    for (const k of cfg.apiKeys) apiKeys.add(k);
    ctx.push(`config: ${short(cfg.json, 400)}`);
    let ok = host.configure(cfg.json);
    if (!ok && !host.failed && cfg.json.jsonSchema !== undefined && cfg.schemaData !== undefined) {
      // A test-suite schema with a keyword the plugin rejects (by design): drop it.
      count(stats, "config.suite-schema-rejected");
      const plain = { ...cfg.json };
      delete plain.jsonSchema;
      const stripModel = (m: ConfigModel | null): ConfigModel | null => (m ? { ...m, jsonSchema: undefined } : m);
      cfg = {
        ...cfg,
        json: plain,
        global: stripModel(cfg.global),
        rules: cfg.rules.map((r) => ({ ...r, config: stripModel(r.config)! })),
        schemaData: undefined,
      };
      ok = host.configure(cfg.json);
    }
    if (host.failed) return finish(`trap in proxy_on_configure (valid config): ${host.failure?.message}`);
    if (!ok) {
      const why = host.logs
        .slice(logStart)
        .filter((l) => l.level >= 3)
        .map((l) => l.message)
        .join(" | ");
      return finish(`valid config rejected: ${why}`);
    }
    let known = true;
    if (rng.chance(0.25)) {
      const m = mutateConfig(rng, cfg);
      ctx.push(`mutated config (${m.label}): ${short(m.bytes, 400)}`);
      const accepted = host.configure(m.bytes);
      if (host.failed) return finish(`trap in proxy_on_configure (${m.label}): ${host.failure?.message}`);
      count(stats, accepted ? "config.mutated-accepted" : "config.mutated-rejected");
      if (accepted) known = false;
    }

    // --- streams -------------------------------------------------------------
    const nStreams = rng.chance(0.85) ? 1 : rng.range(2, 6);
    for (let i = 0; i < nStreams; i++) {
      const bigUp = i === 0 && (big === "content" || big === "sse") ? big : undefined;
      const req = genRequest(rng);
      const up = genUpstream(rng, bigUp);
      const eff = known ? effectiveConfig(cfg, req.routeName) : undefined;
      const r = new StreamRun(i, req, up, eff);
      const a = rng.int(100);
      r.abort = a < 3 ? "mid-body" : a < 7 ? "before-answer" : a < 8 ? "before-response" : "none";
      // From the case and stream numbers, not the PRNG (the generated cases stay the same): one stream in three.
      if ((index + i) % 3 === 0) r.protocol = "HTTP/2";
      runs.push(r);
      count(stats, `protocol.${r.protocol}`);
      count(stats, `upstream.${up.label}`);
      ctx.push(
        `stream ${i}: ${r.protocol} route=${req.routeName} loop=${req.loop} abort=${r.abort} upstream=${up.label} headers=${short(up.responseHeaders, 300)} headersEnd=${up.headersEnd} chunks=${up.chunks.map((c) => c.length).join(",")}${up.trailingEmpty ? "+0" : ""} body=${short(r.body, 300)}`,
      );
    }

    // Steps per stream, interleaved at random.
    const steps: (() => void)[][] = runs.map((r) => streamSteps(host, r));
    const cursors = steps.map(() => 0);
    for (;;) {
      const live = steps.map((s, i) => (cursors[i] < s.length ? i : -1)).filter((i) => i >= 0);
      if (!live.length) break;
      const i = rng.pick(live);
      steps[i][cursors[i]++]();
      if (host.failed) return finish(`trap while feeding stream ${i}: ${host.failure?.message}`);
    }

    if (rng.chance(0.05)) {
      // A config update while responses are paused: in-flight streams keep theirs.
      const next = genConfig(rng);
      for (const k of next.apiKeys) apiKeys.add(k);
      host.configure(next.json);
      if (host.failed) return finish(`trap in proxy_on_configure (update while paused): ${host.failure?.message}`);
      ctx.push("config updated while paused");
    }

    // While a response waits for its call, the client has received nothing of it.
    for (const r of runs) {
      if (r.abort !== "none" || r.endAction === undefined || r.endAction === 0) continue;
      if (r.s.headers.length || r.s.body.length)
        r.problem(
          `paused, yet the client already has ${r.s.headers.length ? "the headers" : ""} ${r.s.body.length} body bytes`,
        );
    }
    // Clients that go away before the answer.
    for (const r of runs) if (r.abort === "before-answer") r.s.done();

    // --- answers ---------------------------------------------------------------
    const byStream = new Map(runs.map((r) => [r.s.id, r]));
    let guard = 0;
    for (;;) {
      const pending = host.pendingCalls();
      if (!pending.length) break;
      if (++guard > 200) {
        problems.push(`more than 200 calls dispatched: retry loop?`);
        break;
      }
      const call = rng.pick(pending);
      const r = byStream.get(call.streamId);
      if (!r) {
        problems.push(`call ${call.token} dispatched from context ${call.streamId}, which is no stream of this case`);
        host.reset(call);
        continue;
      }
      callsTotal++;
      const rec: CallRecord = { call };
      r.calls.push(rec);
      checkCall(r, rec, apiKeys);
      const bigAnswer = big === "answer" && r.n === 0 && r.calls.length === 1;
      const ans = genAnswer(rng, r.cfg?.apiKey ?? [...apiKeys][0], cfg.schemaData, bigAnswer);
      rec.answer = ans;
      rec.cls = classifyAnswer(ans);
      count(stats, `answer.${ans.label}`);
      ctx.push(
        `stream ${r.n} call ${r.calls.length}: answered ${ans.label}${ans.kind === "http" ? ` ${ans.status} ${short(ans.body, 300)}` : ""}`,
      );
      if (ans.kind === "timeout") host.timeout(call);
      else if (ans.kind === "refuse") host.refuse(call);
      else if (ans.kind === "reset") host.reset(call);
      else host.answer(call, ans.status, ans.headers, ans.body);
      if (host.failed) return finish(`trap in proxy_on_http_call_response (${ans.label}): ${host.failure?.message}`);
    }

    // --- outcomes --------------------------------------------------------------
    for (const r of runs) {
      checkStream(r, env);
      env.tally.wtf += r.wtf;
      if (!r.s.complete && r.abort === "none" && !r.s.reset) r.problem("the client's response never completed");
      r.s.done();
      problems.push(...r.problems);
    }
    if (host.failed) return finish(`trap in proxy_on_log/done/delete: ${host.failure?.message}`);
    if (host.liveContexts() !== 0) problems.push(`liveContexts() is ${host.liveContexts()} after every stream ended`);
    if (host.pendingCalls().length) problems.push(`${host.pendingCalls().length} calls still pending`);
  } catch (e) {
    problems.push(`harness error: ${(e as Error).stack ?? e}`);
  }
  return finish();

  function finish(trap?: string): CaseResult {
    if (trap) problems.push(trap);
    // No key in any log line of this case.
    const keys = [...apiKeys];
    for (const line of host.logs.slice(logStart)) {
      for (const k of keys) {
        if (line.message.includes(k)) {
          problems.push(`API key ${k} in a ${line.levelName} log line: ${short(line.message, 300)}`);
          break;
        }
      }
    }
    for (const r of runs) {
      if (!r.s) continue;
      const outcome = r.calls.length ? "called" : "nocall";
      count(stats, `stream.${outcome}`);
    }
    host.logs.length = 0;
    return { problems, context: ctx.join("\n"), streams: runs.length, calls: callsTotal };
  }
}

/** The feeding steps of one stream (create, request, response headers, chunks, abort). */
function streamSteps(host: ProxyWasmHost, r: StreamRun): (() => void)[] {
  const steps: (() => void)[] = [];
  const { req, up } = r;
  steps.push(() => {
    r.s = host.stream({ routeName: req.routeName, clusterName: "outbound|443||qwen.dns", protocol: r.protocol });
  });
  steps.push(() => r.s.requestHeaders(req.headers, req.body === undefined));
  if (req.body) steps.push(() => r.s.requestBody(req.body!, true));
  if (r.abort === "before-response") {
    steps.push(() => r.s.done());
    return steps;
  }
  steps.push(() => {
    r.s.responseHeaders(up.responseHeaders, up.headersEnd);
    if (up.headersEnd) r.endAction = r.s.lastAction;
  });
  if (up.headersEnd) return steps;
  const chunks = up.chunks;
  const cut = r.abort === "mid-body" ? Math.floor(chunks.length / 2) : chunks.length;
  for (let i = 0; i < cut; i++) {
    const last = i === chunks.length - 1 && !up.trailingEmpty;
    steps.push(() => {
      r.s.responseBody(chunks[i], last);
      if (last) r.endAction = r.s.lastAction;
    });
  }
  if (r.abort === "mid-body") {
    steps.push(() => r.s.done());
    return steps;
  }
  if (up.trailingEmpty)
    steps.push(() => {
      r.s.responseBody(new Uint8Array(0), true);
      r.endAction = r.s.lastAction;
    });
  return steps;
}

/** Checks one dispatched call against the config in effect. */
function checkCall(r: StreamRun, rec: CallRecord, apiKeys: Set<string>): void {
  const call = rec.call;
  const h = call.headers;
  const auth = all(h, "authorization");
  const clientAuth = first(toPairs(r.req.headers), "authorization");
  if (auth.length !== 1) r.problem(`call has ${auth.length} authorization headers`);
  if (clientAuth !== undefined && auth.includes(clientAuth))
    r.problem("the client's authorization header was forwarded to the JSON-mode call");
  if (!/^[0-9a-f]{32}$/.test(first(h, "x-ai-json-mode") ?? ""))
    r.problem(`call lacks the x-ai-json-mode marker (${short(h)})`);
  if (call.method !== "POST") r.problem(`call method ${call.method}`);
  const p = ref.parseBytes(call.body);
  if (!p.ok || !isObj(p.value)) {
    r.problem(`call body is not a JSON object: ${short(call.body)}`);
    return;
  }
  const body = p.value;
  const cfg = r.cfg;
  if (!cfg) {
    if (!auth.every((a) => a.startsWith("Bearer "))) r.problem(`call authorization ${short(auth)}`);
    return;
  }
  // Known config: target and key exactly as configured.
  const u = splitUrl(cfg.url);
  const port = cfg.servicePort ?? (u.scheme === "http" ? 80 : 443);
  const cluster = `outbound|${port}||${cfg.serviceFQDN}`;
  const authority = cfg.serviceHost ?? (u.host || cfg.serviceFQDN);
  if (call.cluster !== cluster) r.problem(`call cluster ${call.cluster}, expected ${cluster}`);
  if (call.path !== u.path) r.problem(`call :path ${call.path}, expected ${u.path}`);
  if (call.authority !== authority) r.problem(`call :authority ${call.authority}, expected ${authority}`);
  if (auth[0] !== `Bearer ${cfg.apiKey}`) r.problem(`call authorization is not the configured key`);
  // Each attempt: min(timeout, what is left of totalTimeout); answers here come within milliseconds.
  const wantTimeout = Math.min(cfg.timeout ?? 50000, 120000);
  if (call.timeoutMs > wantTimeout || call.timeoutMs < wantTimeout - 10000)
    r.problem(`call timeout ${call.timeoutMs}, expected ${wantTimeout}`);
  if (first(h, "content-type") !== "application/json") r.problem(`call content-type ${first(h, "content-type")}`);
  if (body.model !== cfg.model) r.problem(`call model ${short(body.model)}, expected ${cfg.model}`);
  if (body.stream !== false) r.problem(`call stream ${short(body.stream)}`);
  const wantFormat = cfg.responseFormat !== "text";
  if (wantFormat !== (isObj(body.response_format) && body.response_format.type === "json_object"))
    r.problem(`call response_format ${short(body.response_format)}`);
  if (!wantFormat && "response_format" in body) r.problem("call has response_format with responseFormat: text");
  if (cfg.maxTokens !== undefined && body.max_tokens !== cfg.maxTokens)
    r.problem(`call max_tokens ${short(body.max_tokens)}`);
  if (cfg.maxTokens === undefined && "max_tokens" in body) r.problem("call has max_tokens");
  if (cfg.temperature !== undefined && body.temperature !== cfg.temperature)
    r.problem(`call temperature ${short(body.temperature)}`);
  if (cfg.temperature === undefined && "temperature" in body) r.problem("call has temperature");
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length < 2) {
    r.problem(`call messages ${short(messages)}`);
    return;
  }
  const sys = messages[0];
  const prompt =
    cfg.systemPrompt ?? (cfg.jsonSchema !== undefined ? ref.SCHEMA_SYSTEM_PROMPT : ref.DEFAULT_SYSTEM_PROMPT);
  if (!isObj(sys) || sys.role !== "system" || typeof sys.content !== "string" || !sys.content.startsWith(prompt))
    r.problem(`call system message ${short(sys)}`);
  else if (cfg.jsonSchema !== undefined && !sys.content.includes("JSON Schema"))
    r.problem("call prompt does not show jsonSchema");
  const user = messages[1];
  const expected = expectedContent(r);
  if (!isObj(user) || user.role !== "user" || typeof user.content !== "string")
    r.problem(`call user message ${short(user)}`);
  else if (expected !== undefined && user.content !== expected) {
    // A lone surrogate (\ud800 escape) may reach DeepSeek as is or as U+FFFD: both are fine.
    if (user.content.toWellFormed() === expected.toWellFormed()) r.wtf++;
    else
      r.problem(
        `call content differs from the upstream content: got ${short(user.content)}, expected ${short(expected)}`,
      );
  }
  // Retries: the earlier answers and what was wrong with them, in order.
  let want = 2;
  const prev = r.calls.slice(0, -1);
  for (const c of prev) {
    if (c.cls?.type === "content") {
      const m = messages[want];
      if (!isObj(m) || m.role !== "assistant" || m.content !== c.cls.content)
        r.problem(`retry: message ${want} should replay the previous answer, got ${short(m)}`);
      want++;
    }
    const m = messages[want];
    if (
      !isObj(m) ||
      m.role !== "user" ||
      typeof m.content !== "string" ||
      !m.content.startsWith("Your previous answer was not accepted")
    )
      r.problem(`retry: message ${want} should say what was wrong, got ${short(m)}`);
    want++;
  }
  if (messages.length !== want) r.problem(`call has ${messages.length} messages, expected ${want}`);
}

/** The upstream content the call must carry (undefined: not derivable). */
function expectedContent(r: StreamRun): string | undefined {
  const media = mediaType(first(toPairs(r.up.responseHeaders), "content-type"));
  if (media === "text/event-stream") {
    const s = ref.collectSse(r.body);
    return s.ok ? s.content : undefined;
  }
  const c = ref.readCompletion(r.body);
  return c.code === "ok" ? c.content : undefined;
}

type Outcome = "original" | "converted" | "error" | "invalid";

/** Checks what the client received, and the pause/resume accounting. */
function checkStream(r: StreamRun, env: CaseEnv): void {
  const s = r.s;
  const st = env.stats;
  if (s.resumedRequest !== 0) r.problem(`request resumed ${s.resumedRequest} times (the plugin never pauses requests)`);
  if (s.resumed > 1) r.problem(`response resumed ${s.resumed} times`);
  if (s.localResponse) r.problem(`unexpected local reply ${s.localResponse.status} ${s.localResponse.details}`);
  if (s.reset) r.problem(`stream reset: ${s.resetReason}`);
  const mine = r.calls;
  if (r.abort === "mid-body" || r.abort === "before-response") {
    if (mine.length) r.problem(`${mine.length} calls for a response that never ended`);
    count(st, `outcome.aborted-${r.abort}`);
    return;
  }
  if (r.abort === "before-answer") {
    if (s.resumed !== 0) r.problem(`resumed after the client went away`);
    count(st, "outcome.aborted-before-answer");
    return;
  }
  const paused = r.endAction !== undefined && r.endAction !== 0;
  if (mine.length && !paused) r.problem(`called out but did not pause (end-of-stream action ${r.endAction})`);
  if (paused && s.resumed !== 1) r.problem(`paused (action ${r.endAction}) but resumed ${s.resumed} times`);
  if (!paused && s.resumed !== 0) r.problem(`not paused but resumed ${s.resumed} times`);
  if (!s.complete) return; // reported by the caller

  const reqIn = toPairs(r.req.headers);
  const resIn = toPairs(r.up.responseHeaders);
  const outcome = classifyOutcome(r, resIn, env);
  count(st, `outcome.${outcome}`);
  if (outcome === "invalid") return;

  const cfg = r.cfg;
  if (cfg === undefined) {
    if (mine.length > 6) r.problem(`${mine.length} calls (maxRetries is at most 5)`);
    return; // unknown config: any valid outcome
  }
  // A client's x-ai-json-mode never carries the plugin's marker: it switches nothing off.
  const applies = cfg !== null;
  // Request phase: accept-encoding and a client's x-ai-json-mode removed when the plugin applies; nothing else changed.
  const released = s.request.headers;
  if (applies) {
    if (first(released, "accept-encoding") !== undefined) r.problem("accept-encoding forwarded upstream");
    if (first(released, "x-ai-json-mode") !== undefined) r.problem("the client's x-ai-json-mode forwarded upstream");
    const edited = ["accept-encoding", "x-ai-json-mode"];
    if (!pairsEqual(without(released, edited), without(reqIn, edited)))
      r.problem(`request headers changed: ${short(released, 400)}`);
  } else if (!pairsEqual(released, reqIn))
    r.problem(`request headers changed although the plugin does not apply: ${short(released, 400)}`);
  if (!applies) {
    if (mine.length)
      r.problem(`${mine.length} calls although the plugin does not apply (no config for route ${r.req.routeName})`);
    if (outcome !== "original") r.problem(`outcome ${outcome}, expected the original response (plugin does not apply)`);
    return;
  }
  // Response headers: is this response for the plugin?
  const media = mediaType(first(resIn, "content-type"));
  const encoding = first(resIn, "content-encoding");
  const sse = media === "text/event-stream";
  const eligible =
    !r.up.headersEnd &&
    first(resIn, ":status") === "200" &&
    (encoding === undefined || encoding === "" || encoding.toLowerCase() === "identity") &&
    (media === "application/json" || (sse && cfg.streaming !== "passthrough"));
  if (!eligible) {
    if (mine.length) r.problem(`${mine.length} calls for a response that is not for the plugin`);
    if (outcome !== "original") r.problem(`outcome ${outcome}, expected the original response (not for the plugin)`);
    return;
  }
  let failOutcome: Outcome = cfg.onFailure === "error" ? "error" : "original";
  // Body: does it carry content the plugin must send?
  let mustCall = false;
  let mayCall = false;
  if (sse) {
    const c = ref.collectSse(r.body);
    mayCall = c.ok && !ref.isBlank(c.content);
    const text = ref.decodeUtf8(r.body);
    mustCall = mayCall && (text === undefined || jsonDepth(text) <= 500);
  } else {
    const c = ref.readCompletion(r.body);
    mayCall = c.code === "ok";
    const text = ref.decodeUtf8(r.body);
    // JSON that is not a chat completion (no `choices`) is not for the plugin: always
    // untouched. Nested past the plugin's parse depth (512) it is "not JSON" to the
    // plugin instead, a failure: then either outcome is right.
    if (c.code === "not_completion") {
      if (text !== undefined && jsonDepth(text) <= 500) failOutcome = "original";
      else if (outcome === "original") failOutcome = "original";
    }
    mustCall = mayCall && text !== undefined && jsonDepth(text) <= 500;
  }
  if (cfg.serviceFQDN === REFUSED_FQDN) mustCall = mayCall = false; // the host refuses the cluster: passthrough without a call
  if (mustCall && !mine.length) r.problem("no call for a good completion (valid JSON per V8, string content)");
  if (!mayCall && mine.length) r.problem(`called out for a body V8 finds unusable (${sse ? "SSE" : "JSON"})`);
  if (!mine.length) {
    // The plugin gave up before calling (no usable content, or the host refused the call).
    if (outcome !== failOutcome)
      r.problem(
        `outcome ${outcome} without a call, expected ${failOutcome} (onFailure ${cfg.onFailure ?? "passthrough"})`,
      );
    return;
  }
  const maxCalls = (cfg.maxRetries ?? 2) + 1;
  if (mine.length > maxCalls) r.problem(`${mine.length} calls, maxRetries ${cfg.maxRetries ?? 2}`);
  const schema = cfg.jsonSchema;
  for (let i = 0; i < mine.length - 1; i++) {
    const c = mine[i].cls!;
    if (c.type === "final") r.problem(`retried after a final failure (${c.why}) on call ${i + 1}`);
    if (c.type === "content" && c.exactOk && schema === undefined)
      r.problem(`retried after a good answer on call ${i + 1}`);
  }
  const last = mine[mine.length - 1].cls!;
  // uniqueItems shapes: whether two items are equal is known by construction.
  const label = mine[mine.length - 1].answer?.label;
  // (when the answer's content is that JSON: a repeated member name may have replaced it)
  if (schema !== undefined && last.type === "content" && last.exactOk && sameJson(schema, UNIQUE_SCHEMA, env.tally)) {
    if (label === "unique-distinct" && outcome !== "converted")
      r.problem(`outcome ${outcome} for an answer whose items all differ (uniqueItems)`);
    if (label === "unique-repeated" && outcome === "converted")
      r.problem("converted an answer with two equal items (uniqueItems)");
  }
  if (outcome === "converted") {
    if (last.type !== "content")
      r.problem(`converted after a ${last.type === "final" ? "final failure (" + last.why + ")" : "blank"} answer`);
    return;
  }
  if (last.type === "content" && last.exactOk && schema === undefined)
    r.problem(`outcome ${outcome} for a good answer (the whole content is JSON): ${short(last.content)}`);
  if ((last.type === "empty" || last.type === "content") && mine.length < maxCalls)
    r.problem(`gave up after ${mine.length} of ${maxCalls} attempts on a retryable answer (${last.type})`);
  if (outcome !== failOutcome)
    r.problem(`outcome ${outcome}, expected ${failOutcome} (onFailure ${cfg.onFailure ?? "passthrough"})`);
}

/** What the client got: the original, a conversion (checked), a 502 error (checked), or invalid. */
function classifyOutcome(r: StreamRun, resIn: Pairs, env: CaseEnv): Outcome {
  const s = r.s;
  const original = r.body;
  // The status is the :status header (the host reads it as a number: "0200" is 200).
  if (pairsEqual(s.headers, resIn) && bytesEqual(s.body, original)) return "original";
  const out = s.headers;
  const lengths = all(out, "content-length");
  const problems: string[] = [];
  if (lengths.length !== 1 || lengths[0] !== String(s.body.length))
    problems.push(`content-length ${short(lengths)} for ${s.body.length} body bytes`);
  const types = all(out, "content-type");
  const untouched = ["content-type", "content-length", "mode", ":status", "x-should-retry"];
  if (!pairsEqual(without(out, untouched), without(resIn, untouched)))
    problems.push(`other headers changed: ${short(out, 300)}`);
  const parsed = ref.parseBytes(s.body);
  if (s.status === 502) {
    if (types.length !== 1 || types[0] !== "application/json") problems.push(`error content-type ${short(types)}`);
    const e = parsed.ok && isObj(parsed.value) ? parsed.value.error : undefined;
    if (!isObj(e) || e.type !== "json_mode_error" || typeof e.message !== "string" || typeof e.code !== "string")
      problems.push(`error body ${short(s.body)}`);
    if (r.cfg && r.cfg.onFailure !== "error") problems.push("502 error although onFailure is not error");
    // x-should-retry: false unless a retry may help (the call got no answer, or 408, 429, 5xx).
    const lastAnswer = r.calls.length ? r.calls[r.calls.length - 1].answer : undefined;
    const retryable =
      isObj(e) &&
      e.code === "call_failed" &&
      (lastAnswer === undefined ||
        lastAnswer.kind !== "http" ||
        [408, 429].includes(lastAnswer.status) ||
        lastAnswer.status >= 500);
    const retry = all(out, "x-should-retry");
    if (retryable ? retry.length !== 0 : retry.length !== 1 || retry[0] !== "false")
      problems.push(`x-should-retry ${short(retry)} for ${isObj(e) ? e.code : "?"}`);
    return verdict("error");
  }
  if (first(out, ":status") !== first(resIn, ":status")) problems.push(`:status ${first(out, ":status")}`);
  if (all(out, "mode").length !== 1 || first(out, "mode") !== "json")
    problems.push(`mode header ${short(all(out, "mode"))}`);
  const last = r.calls.length ? r.calls[r.calls.length - 1].cls : undefined;
  const expected = last?.type === "content" && last.exactOk ? last.exact : undefined;
  const sse = mediaType(first(resIn, "content-type")) === "text/event-stream";
  const cfg = r.cfg;
  let json: unknown = undefined;
  let shape = "";
  if (types.length === 1 && types[0] === "text/event-stream") {
    shape = "openai-sse";
    const text = ref.decodeUtf8(s.body);
    const m = text === undefined ? null : /^data: (.*)\n\ndata: \[DONE\]\n\n$/s.exec(text);
    let ev: unknown;
    try {
      ev = m ? JSON.parse(m[1]) : undefined;
    } catch {
      ev = undefined;
    }
    const c0 = isObj(ev) && Array.isArray(ev.choices) && isObj(ev.choices[0]) ? ev.choices[0] : undefined;
    const delta = c0 && isObj(c0.delta) ? c0.delta : undefined;
    if (!delta || typeof delta.content !== "string") problems.push(`converted SSE body ${short(s.body)}`);
    else {
      if (c0!.finish_reason !== "stop") problems.push("converted SSE chunk lacks finish_reason stop");
      json = parseText(delta.content, problems);
    }
  } else if (types.length === 1 && types[0] === "application/json") {
    if (!parsed.ok) problems.push(`converted body is not JSON: ${short(s.body)}`);
    else if (
      cfg?.output === "openai" ||
      (cfg === undefined && isObj(parsed.value) && Array.isArray(parsed.value.choices) && !sse)
    ) {
      shape = "openai";
      const v = parsed.value;
      const c0 = isObj(v) && Array.isArray(v.choices) && isObj(v.choices[0]) ? v.choices[0] : undefined;
      const msg = c0 && isObj(c0.message) ? c0.message : undefined;
      if (!msg || typeof msg.content !== "string")
        problems.push(`openai output lacks choices[0].message.content: ${short(s.body)}`);
      else {
        json = parseText(msg.content, problems);
        const orig = ref.parseBytes(original);
        if (orig.ok && isObj(orig.value) && isObj(v)) {
          for (const k of Object.keys(orig.value)) {
            if (k === "choices" || k === "usage") continue;
            if (!sameJson(orig.value[k], v[k], env.tally)) problems.push(`openai output changed field ${k}`);
          }
        }
      }
    } else {
      shape = "body";
      json = parsed.value;
      if (typeof json !== "object" || json === null)
        problems.push(`converted body is not an object or array: ${short(s.body)}`);
    }
  } else problems.push(`content-type ${short(types)}`);
  if (cfg && shape) {
    const want = cfg.output === "openai" ? (sse ? "openai-sse" : "openai") : "body";
    if (shape !== want) problems.push(`output shape ${shape}, expected ${want}`);
  }
  if (json !== undefined && expected !== undefined && !sameJson(json, expected, env.tally))
    problems.push(`converted JSON differs from the answer's JSON: got ${short(json)}, expected ${short(expected)}`);
  if (json !== undefined && cfg?.jsonSchema !== undefined) {
    const validate = schemaValidator(cfg.jsonSchema);
    if (validate && !validate(json))
      problems.push(`converted JSON fails jsonSchema (ajv): ${short(json)} vs ${short(cfg.jsonSchema)}`);
  }
  return verdict("converted");

  function verdict(o: Outcome): Outcome {
    if (!problems.length) return o;
    if (bytesEqual(s.body, original))
      r.problem(`original body but headers changed: ${short(s.headers, 400)} (in: ${short(resIn, 400)})`);
    else
      r.problem(`neither the original nor a valid ${o === "error" ? "error" : "conversion"}: ${problems.join("; ")}`);
    return "invalid";
  }
}

function parseText(text: string, problems: string[]): unknown {
  try {
    const v = JSON.parse(text);
    if (typeof v !== "object" || v === null)
      problems.push(`converted content is not an object or array: ${short(text)}`);
    return v;
  } catch {
    problems.push(`converted content is not JSON: ${short(text)}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// The run

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const started = performance.now();
  const from = o.from ?? 0;
  const reloadEvery = o.reloadEvery ?? 2000;
  const bigEvery = o.bigEvery ?? 1000;
  const maxFailures = o.maxFailures ?? 20;
  const given = o.wasm;
  const wasm =
    typeof given === "string" || given === undefined
      ? new Uint8Array(await import("node:fs").then((fs) => fs.readFileSync(given ?? DEFAULT_WASM)))
      : given;
  const summary: FuzzSummary = {
    seed: o.seed,
    from,
    cases: 0,
    failures: [],
    stats: {},
    streams: 0,
    calls: 0,
    hosts: 0,
    maxPages: 0,
    ms: 0,
  };
  const tally = { wtf: 0 };
  let host: ProxyWasmHost | null = null;
  let hostStart = from;
  const newHost = async (): Promise<ProxyWasmHost> => {
    summary.hosts++;
    return loadHost(wasm, {
      pluginName: "ai-json-mode",
      logLevel: 0,
      clusters: (name) => !name.endsWith("||" + REFUSED_FQDN),
    });
  };
  for (let index = from; index < from + o.cases; index++) {
    if (!host || host.failed || (index - from > 0 && index % reloadEvery === 0)) {
      if (host) summary.maxPages = Math.max(summary.maxPages, host.memoryPages());
      host?.close();
      host = await newHost();
      hostStart = index;
    }
    let big: "none" | "content" | "sse" | "answer" = "none";
    if (bigEvery > 0 && index % bigEvery === bigEvery - 1)
      big = (["content", "sse", "answer"] as const)[Math.floor(index / bigEvery) % 3];
    const r = runCase({ host, stats: summary.stats, tally }, o.seed, index, big);
    summary.cases++;
    summary.streams += r.streams;
    summary.calls += r.calls;
    if (big !== "none") count(summary.stats, `big.${big}`);
    if (r.problems.length) {
      summary.failures.push({ seed: o.seed, index, hostStart, problems: r.problems, context: r.context });
      if (host.failed) count(summary.stats, "traps");
    }
    summary.maxPages = Math.max(summary.maxPages, host.memoryPages());
    summary.ms = performance.now() - started;
    o.progress?.(summary.cases, summary);
    if (summary.failures.length >= maxFailures) break;
  }
  host?.close();
  summary.stats["strings.lone-surrogates-normalized"] = tally.wtf;
  summary.ms = performance.now() - started;
  return summary;
}

/** A failure as text, with its reproducer. */
export function formatFailure(f: CaseFailure, withContext = true): string {
  const lines = [
    `case ${f.index} (seed ${f.seed}):`,
    ...f.problems.map((p) => `  - ${p}`),
    `  reproduce: npm run fuzz -- --seed ${f.seed} --case ${f.index}` +
      (f.hostStart !== f.index
        ? `   (same host history: npm run fuzz -- --seed ${f.seed} --from ${f.hostStart} --cases ${f.index - f.hostStart + 1})`
        : ""),
  ];
  if (withContext) lines.push(...f.context.split("\n").map((l) => `    | ${l}`));
  return lines.join("\n");
}

export { Rng };
