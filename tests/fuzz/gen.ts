// Generators for the fuzzer: a seeded PRNG, text and JSON with the nasty
// parts (deep nesting, huge numbers, lone-surrogate escapes, NUL bytes,
// invalid UTF-8), chat completions, SSE streams, DeepSeek answers, header
// maps, chunk splits, plugin configs and byte-level mutations.
//
// Everything is a pure function of the Rng, so a case is reproduced from
// (seed, case index) alone.

import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export type Pairs = [string, string][];

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);

// ---------------------------------------------------------------------------
// PRNG: sfc32, seeded through splitmix32.

function splitmix32(x: number): () => number {
  let s = x >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** [0, n) */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }

  /** [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }

  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let r = this.float() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1][1];
  }

  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[this.int(16)];
    return s;
  }
}

/** The RNG of one case: a function of (seed, index) only. */
export function caseRng(seed: number, index: number): Rng {
  const mix = splitmix32((seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1));
  return new Rng(mix() ^ Math.imul(index, 0x85ebca6b) ^ seed);
}

// ---------------------------------------------------------------------------
// Seeds from disk

function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(root, "tests", "fixtures", name)));
}

export const FIXTURES = {
  completion: readFixture("qwen-chat-completion.json"),
  stream: readFixture("qwen-chat-stream.sse"),
  upstream500: readFixture("upstream-error-500.json"),
  answerObject: readFixture("deepseek-json-object.json"),
  answerFenced: readFixture("deepseek-json-fenced.json"),
  answerEmpty: readFixture("deepseek-empty-content.json"),
  answerTruncated: readFixture("deepseek-truncated.json"),
  error401: readFixture("deepseek-error-401.json"),
  error429: readFixture("deepseek-error-429.json"),
};

const ALL_FIXTURES: Uint8Array[] = Object.values(FIXTURES);

interface SuiteSchema {
  schema: unknown;
  data: unknown[];
}

let suiteCache: SuiteSchema[] | null = null;

/** Schemas (and their test data) from the JSON-Schema-Test-Suite draft-07 files. */
export function suiteSchemas(): SuiteSchema[] {
  if (suiteCache) return suiteCache;
  const dir = join(root, "tests", "json-schema-test-suite", "draft7");
  const out: SuiteSchema[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".json")) continue;
    try {
      const groups = JSON.parse(readFileSync(join(dir, f), "utf8")) as {
        schema: unknown;
        tests: { data: unknown }[];
      }[];
      for (const g of groups) out.push({ schema: g.schema, data: g.tests.map((t) => t.data) });
    } catch {
      // an unreadable file is simply not a seed
    }
  }
  suiteCache = out;
  return out;
}

// ---------------------------------------------------------------------------
// Text

const WORDS = [
  "the",
  "answer",
  "is",
  "JSON",
  "hello",
  "world",
  "output",
  "name",
  "value",
  "data",
  "Qwen",
  "DeepSeek",
  "lorem",
  "ipsum",
  "dolor",
  "sit",
  "amet",
  "weather",
  "Beijing",
  "Hangzhou",
  "sunny",
  "25°C",
  "naïve",
  "café",
];
const CJK = "你好我是通义千问由阿里云开发的大规模语言模型可以回答问题写作翻译编程还能陪聊天有什么帮吗天气晴朗温度";
const ASTRAL = ["😀", "🚀", "𝄞", "👩‍💻", "🇨🇳", "𠮷"];
/** Characters that stress escaping, including lone surrogates and NUL. */
const SPECIAL = [
  '"',
  "\\",
  "/",
  "\n",
  "\r",
  "\t",
  "\b",
  "\f",
  "\u0000",
  "\u0001",
  "\u001f",
  "\u007f",
  "\u0080",
  "\u00ff",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffd",
  "\uffff",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\ud83d",
  "\ude00",
  "```",
  "```json\n",
  "{",
  "}",
  "[",
  "]",
  "<",
  ">",
  "&",
  "'",
  "%s",
  "${x}",
  "\u001b[31m",
];

/** Random text: words, CJK, astral characters, escapes, control characters, lone surrogates. */
export function randText(rng: Rng, maxLen = 40): string {
  const n = rng.int(maxLen + 1);
  let s = "";
  while (s.length < n) {
    s += rng.weighted<() => string>([
      [5, () => rng.pick(WORDS) + " "],
      [3, () => CJK[rng.int(CJK.length)]],
      [1, () => rng.pick(ASTRAL)],
      [2, () => rng.pick(SPECIAL)],
      [1, () => String.fromCharCode(rng.int(0x10000))],
    ])();
  }
  return s;
}

/** Plain, well-formed text (what a model normally writes). */
export function plainText(rng: Rng, maxLen = 200): string {
  const n = rng.int(maxLen + 1);
  let s = "";
  while (s.length < n) {
    s += rng.chance(0.7) ? rng.pick(WORDS) + " " : CJK[rng.int(CJK.length)];
    if (rng.chance(0.03)) s += "\n";
    if (rng.chance(0.02)) s += '"quoted"';
  }
  return s;
}

// ---------------------------------------------------------------------------
// JSON text

const NUMBERS = [
  "0",
  "-0",
  "1",
  "-1",
  "42",
  "0.5",
  "-0.25",
  "1e400",
  "-1e400",
  "1E+2",
  "1e-400",
  "2.5e-324",
  "4.9e-324",
  "1.7976931348623157e308",
  "1.7976931348623159e308",
  "123456789012345678901234567890",
  "9007199254740993",
  "-9223372036854775809",
  "18446744073709551616",
  "0.1",
  "3.141592653589793",
  "1.0",
  "1.00000000000000000001",
  "0.000000000000000000000000000001",
  "100000000000000000000000000000000000000000000000000000e-40",
  "5e-1",
  "-0.0",
  "0e0",
  "0E-0",
  "123.456e7",
];

/** A JSON string literal for `s`, escaping some characters as \uXXXX at random. */
export function jsonStringText(rng: Rng, s: string): string {
  if (rng.chance(0.7)) return JSON.stringify(s);
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c < 0x20 || (c >= 0xd800 && c <= 0xdfff) || rng.chance(0.1)) {
      if (c > 0xffff) {
        const hi = 0xd800 + ((c - 0x10000) >> 10);
        const lo = 0xdc00 + ((c - 0x10000) & 0x3ff);
        out += `\\u${hex4(hi, rng)}\\u${hex4(lo, rng)}`;
      } else if (ch === "/" && rng.chance(0.5)) out += "\\/";
      else out += `\\u${hex4(c, rng)}`;
    } else out += ch;
  }
  return out + '"';
}

function hex4(c: number, rng: Rng): string {
  const h = c.toString(16).padStart(4, "0");
  return rng.chance(0.5) ? h.toUpperCase() : h;
}

function ws(rng: Rng): string {
  return rng.chance(0.8) ? "" : rng.pick([" ", "\n", "\t", "\r\n", "  ", " \n  "]);
}

/**
 * Random valid JSON text (object keys unique). `depth` bounds nesting; a
 * small chance of a deep [[[...]]] or {"a":{...}} chain around the limits.
 */
export function randJsonText(rng: Rng, depth = 4, width = 5): string {
  if (rng.chance(0.01)) return deepNest(rng, rng.pick([100, 500, 511, 512, 513, 1000]));
  return value(rng, depth, width);
}

function value(rng: Rng, depth: number, width: number): string {
  const kind = depth <= 0 ? rng.int(4) : rng.int(7);
  switch (kind) {
    case 0:
      return rng.pick(["null", "true", "false"]);
    case 1:
      return rng.chance(0.5)
        ? rng.pick(NUMBERS)
        : String(rng.int(1000000) - 500000) + (rng.chance(0.3) ? "." + rng.int(1000) : "");
    case 2:
    case 3:
      return jsonStringText(rng, randText(rng, 30));
    case 4:
    case 5: {
      const n = rng.int(width + 1);
      const keys = new Set<string>();
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        let k = rng.chance(0.7) ? rng.pick(WORDS) : randText(rng, 8);
        while (keys.has(k)) k += "_";
        keys.add(k);
        parts.push(`${ws(rng)}${jsonStringText(rng, k)}${ws(rng)}:${ws(rng)}${value(rng, depth - 1, width)}${ws(rng)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default: {
      const n = rng.int(width + 1);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) parts.push(ws(rng) + value(rng, depth - 1, width) + ws(rng));
      return `[${parts.join(",")}]`;
    }
  }
}

/** An object (or array) chain `depth` containers deep. */
export function deepNest(rng: Rng, depth: number): string {
  if (rng.chance(0.5)) return "[".repeat(depth) + "]".repeat(depth);
  return '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
}

/** A random JSON object as text (what a JSON-mode answer carries). */
export function randJsonObjectText(rng: Rng): string {
  const r = rng.int(20);
  if (r === 0) return deepNest(rng, rng.pick([100, 400, 500, 513, 2000]));
  if (r === 1) return `[${value(rng, 3, 4)}]`;
  const keys = new Set<string>();
  const parts: string[] = [];
  const n = rng.range(1, 6);
  for (let i = 0; i < n; i++) {
    let k = rng.chance(0.4) ? "output" : rng.chance(0.8) ? rng.pick(WORDS) : randText(rng, 6);
    while (keys.has(k)) k += "_";
    keys.add(k);
    parts.push(`${ws(rng)}${jsonStringText(rng, k)}${ws(rng)}:${ws(rng)}${value(rng, 3, 4)}`);
  }
  return `{${parts.join(",")}${ws(rng)}}`;
}

/** Maximum container nesting of JSON text (strings skipped); no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

// ---------------------------------------------------------------------------
// Completions

/** Key/value members of a completion, as JSON text, in random order. */
function members(rng: Rng, m: [string, string][]): string {
  let list = rng.chance(0.5) ? rng.shuffle([...m]) : [...m];
  if (list.length > 0 && rng.chance(0.04)) {
    // A repeated name: a decoy before the real member (JSON.parse, like the plugin, keeps the last), or after it.
    const at = rng.int(list.length);
    const [k, v] = list[at];
    const decoy: [string, string] = [k, rng.pick(["null", "1", '"decoy"', "[]", "{}", '{"content":"decoy"}'])];
    list = rng.chance(0.8)
      ? [...list.slice(0, at), decoy, ...list.slice(at)]
      : [...list.slice(0, at + 1), decoy, ...list.slice(at + 1)];
  }
  return `{${list.map(([k, v]) => `${ws(rng)}${nameText(rng, k)}${ws(rng)}:${ws(rng)}${v}`).join(",")}${ws(rng)}}`;
}

/** A member name as JSON text, now and then with a letter written as a \u escape (the same name decoded). */
function nameText(rng: Rng, k: string): string {
  if (k.length === 0 || !rng.chance(0.03)) return JSON.stringify(k);
  const i = rng.int(k.length);
  const c = k.charCodeAt(i);
  if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(k);
  return (
    JSON.stringify(k.slice(0, i)).slice(0, -1) +
    "\\u" +
    c.toString(16).padStart(4, "0") +
    JSON.stringify(k.slice(i + 1)).slice(1)
  );
}

/** A chat completion with `contentText` (JSON text) as choices[0].message.content. */
export function completionText(rng: Rng, contentText: string): string {
  const message = members(rng, [
    ["role", '"assistant"'],
    ["content", contentText],
    ...(rng.chance(0.1) ? ([["reasoning_content", jsonStringText(rng, randText(rng, 20))]] as [string, string][]) : []),
  ]);
  const choice = members(rng, [
    ["message", message],
    ["finish_reason", rng.chance(0.9) ? '"stop"' : rng.pick(['"length"', "null", '"content_filter"'])],
    ["index", "0"],
    ["logprobs", "null"],
  ]);
  const choices = [choice];
  if (rng.chance(0.1))
    choices.push(
      members(rng, [
        ["index", "1"],
        [
          "message",
          members(rng, [
            ["role", '"assistant"'],
            ["content", jsonStringText(rng, randText(rng))],
          ]),
        ],
      ]),
    );
  const m: [string, string][] = [
    ["choices", `[${choices.join(",")}]`],
    ["object", '"chat.completion"'],
    [
      "usage",
      rng.chance(0.9)
        ? `{"prompt_tokens":${rng.int(5000)},"completion_tokens":${rng.int(5000)},"total_tokens":${rng.int(10000)},"prompt_tokens_details":{"cached_tokens":0}}`
        : rng.pick(["null", "{}", '"x"', "[1]", '{"prompt_tokens":1e400}']),
    ],
    ["created", String(1764142512 + rng.int(100000))],
    ["system_fingerprint", rng.chance(0.5) ? "null" : '"fp_x"'],
    ["model", rng.pick(['"qwen-max"', '"qwen-plus"', '"gpt-4o"'])],
    ["id", JSON.stringify("chatcmpl-" + rng.hex(24))],
  ];
  if (rng.chance(0.15)) m.push(["x_extra", randJsonText(rng, 5, 4)]);
  // A large member beside choices: many small values, or one long string.
  if (rng.chance(0.03)) m.push(["extra", largeValueText(rng)]);
  return members(rng, m);
}

/** A large JSON value: an array of many small values (numbers, literals, tiny objects), or a long string. */
function largeValueText(rng: Rng): string {
  const n = rng.pick([2000, 20000, 100000]);
  return rng.weighted<() => string>([
    [3, () => "[" + Array.from({ length: n }, () => String(rng.int(10))).join(",") + "]"],
    [
      1,
      () =>
        "[" +
        new Array(n).fill(rng.pick(["null", "true", "{}", "[]", '{"a":1}'])).join(rng.pick([",", ", ", ",\n "])) +
        "]",
    ],
    [1, () => jsonStringText(rng, "y".repeat(n * 3) + randText(rng, 30))],
  ])();
}

/** Content (as JSON text) of an upstream completion. */
export function upstreamContentText(rng: Rng): string {
  return rng.weighted<() => string>([
    [10, () => JSON.stringify(plainText(rng, 400))],
    [6, () => jsonStringText(rng, randText(rng, 120))],
    [2, () => JSON.stringify(randJsonObjectText(rng))],
    [
      1,
      () =>
        rng.pick([
          '""',
          '"   "',
          '" \\n\\t\\r "',
          "null",
          "42",
          "{}",
          "[]",
          "true",
          '"\\u0000"',
          '"\\ud800"',
          '"\\u00a0"',
        ]),
    ],
    [1, () => JSON.stringify("x".repeat(rng.pick([1000, 20000, 70000])))],
    // One huge string, with escapes and non-ASCII text here and there.
    [1, () => JSON.stringify((plainText(rng, 200) + '\n"quoted" 字 ').repeat(rng.pick([500, 3000])))],
  ])();
}

// ---------------------------------------------------------------------------
// SSE

/**
 * An SSE body streaming `content` in deltas (qwen-style chunks) as choice 0.
 * Sometimes: a second choice (n: 2) interleaved in events of its own or in
 * the same events before or after choice 0; choices without an `index`
 * (position 0 counts); a leading byte order mark; an `event: error` with any
 * data, or none; an event's data split over several `data:` lines.
 */
export function sseText(rng: Rng, content: string): string {
  const eol = rng.weighted([
    [8, "\n"],
    [1, "\r\n"],
    [1, "\r"],
  ] as const);
  const id = "chatcmpl-" + rng.hex(16);
  const layout = rng.weighted([
    [14, "one"],
    [2, "n2-events"],
    [2, "n2-same-event"],
    [1, "no-index"],
    [1, "no-index-n2"],
  ] as const);
  const other = (): string => jsonStringText(rng, randText(rng, 8));
  const choice = (index: string | null, delta: string | null, finish: string | null): string =>
    `{"delta":${delta === null ? "{}" : `{"content":${delta}}`},${index === null ? "" : `"index":${index},`}"finish_reason":${finish === null ? "null" : JSON.stringify(finish)}}`;
  const chunk = (choices: string[], extra = ""): string =>
    `{"choices":[${choices.join(",")}],"object":"chat.completion.chunk","usage":null,"created":1764142512,"model":"qwen-max","id":"${id}"${extra}}`;
  const noIndex = layout === "no-index" || layout === "no-index-n2";
  // Index 0 as JSON text: usually "0", sometimes another spelling of zero.
  const zero = noIndex ? null : rng.chance(0.9) ? "0" : rng.pick(["0.0", "-0", "0e3"]);
  const events: string[] = [];
  events.push(
    `{"choices":[{"delta":{"content":"","role":"assistant"},"index":0,"finish_reason":null}],"object":"chat.completion.chunk","created":1764142512,"model":"qwen-max","id":"${id}"}`,
  );
  const cps = Array.from(content);
  let i = 0;
  while (i < cps.length) {
    const n = rng.range(1, 12);
    const piece = cps.slice(i, i + n).join("");
    i += n;
    const mine = choice(zero, jsonStringText(rng, piece), i >= cps.length ? "stop" : null);
    if (layout === "n2-events") {
      // Choice 1 in events of its own, before or after choice 0's.
      const theirs = chunk([choice("1", other(), null)]);
      if (rng.chance(0.5)) events.push(theirs, chunk([mine]));
      else events.push(chunk([mine]), theirs);
    } else if (layout === "n2-same-event" || layout === "no-index-n2") {
      // Both in one event: choice 0 first or (with indexes) out of order.
      const theirs = choice(layout === "no-index-n2" ? null : "1", other(), null);
      events.push(chunk(layout === "no-index-n2" || rng.chance(0.5) ? [mine, theirs] : [theirs, mine]));
    } else {
      events.push(chunk([mine]));
    }
  }
  if (rng.chance(0.3))
    events.push(
      `{"choices":[],"object":"chat.completion.chunk","usage":{"prompt_tokens":9,"completion_tokens":38,"total_tokens":47},"created":1764142512,"model":"qwen-max","id":"${id}"}`,
    );
  let out = rng.chance(0.05) ? "\uFEFF" : "";
  const errorAt = rng.chance(0.04) ? rng.int(events.length + 1) : -1;
  events.forEach((e, k) => {
    if (k === errorAt) out += errorEvent(rng, eol);
    if (rng.chance(0.05)) out += `: keep-alive${eol}`;
    if (rng.chance(0.05)) out += `event: message${eol}id: ${rng.int(100)}${eol}`;
    if (rng.chance(0.05)) {
      // One event's data split over several data: lines (joined with LF; JSON allows it between tokens).
      const parts = e.split(",");
      out +=
        parts.map((p, j) => `data:${rng.chance(0.5) ? " " : ""}${p}${j < parts.length - 1 ? "," : ""}`).join(eol) +
        eol +
        eol;
    } else {
      out += `data:${rng.chance(0.9) ? " " : ""}${e}${eol}${eol}`;
    }
  });
  if (errorAt === events.length) out += errorEvent(rng, eol);
  if (rng.chance(0.85)) out += `data: [DONE]${eol}${eol}`;
  if (rng.chance(0.05)) out = out.slice(0, out.length - eol.length); // no blank line after the last event
  return out;
}

/** An event of type error, whatever its data: JSON, text, several lines, or none. */
function errorEvent(rng: Rng, eol: string): string {
  const data = rng.pick([
    'data: {"error":{"message":"overloaded","type":"server_error"}}',
    'data: {"message":"rate limited"}',
    'data: {"choices":[{"index":0,"delta":{"content":"partial"}}]}',
    "data: upstream went away",
    `data: part one${eol}data: part two`,
    "",
  ]);
  return `event:${rng.chance(0.8) ? " " : ""}error${eol}${data.length ? data + eol : ""}${eol}`;
}

// ---------------------------------------------------------------------------
// Bytes

const INTERESTING: Uint8Array[] = [
  [0x00],
  [0xff],
  [0xfe],
  [0xc0, 0x80],
  [0xc3],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xe2, 0x82],
  [0x80],
  [0xef, 0xbb, 0xbf],
  [0x22],
  [0x5c],
  [0x7b],
  [0x7d],
  [0x5b],
  [0x5d],
  [0x2c],
  [0x3a],
  [0x0a],
  [0x0d],
  [0x20],
].map((a) => new Uint8Array(a));

const TOKENS = [
  "null",
  "true",
  "false",
  "\\u0000",
  "\\ud800",
  "\\udc00\\ud800",
  "\\uD83D\\uDE00",
  "1e999999",
  "-",
  "0x1F",
  "NaN",
  "Infinity",
  "\\x41",
  "\\'",
  '""',
  "{}",
  "[]",
  "[[[[",
  "]]]]",
  '"choices":',
  '"content":',
  '"message":',
  "\n\n",
  "data: ",
  "data: [DONE]\n\n",
  "\r\n\r\n",
  ":",
  "```json\n",
  "```",
].map(utf8);

/** 1-4 byte-level mutations: flips, interesting bytes, deletions, truncation, duplication, token splices. */
export function mutateBytes(rng: Rng, input: Uint8Array): Uint8Array {
  let b: Uint8Array = new Uint8Array(input);
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const pos = rng.int(b.length + 1);
    switch (rng.int(8)) {
      case 0:
        if (b.length) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[rng.int(b.length)] = rng.int(256);
        break;
      case 2:
        b = splice(b, pos, 0, rng.pick(INTERESTING));
        break;
      case 3:
        b = splice(b, pos, Math.min(b.length - pos, rng.range(1, 16)), new Uint8Array(0));
        break;
      case 4:
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 5: {
        const len = Math.min(b.length - pos, rng.range(1, 64));
        b = splice(b, pos, 0, b.slice(pos, pos + len));
        break;
      }
      case 6:
        b = splice(b, pos, 0, rng.pick(TOKENS));
        break;
      default: {
        const other = rng.pick(ALL_FIXTURES);
        const at = rng.int(other.length);
        b = splice(b, pos, rng.int(8), other.slice(at, at + rng.range(1, 40)));
      }
    }
  }
  return b;
}

function splice(b: Uint8Array, pos: number, del: number, ins: Uint8Array): Uint8Array {
  pos = Math.min(pos, b.length);
  del = Math.max(0, Math.min(del, b.length - pos));
  const out = new Uint8Array(b.length - del + ins.length);
  out.set(b.subarray(0, pos), 0);
  out.set(ins, pos);
  out.set(b.subarray(pos + del), pos + ins.length);
  return out;
}

/** Splits a body into the chunks Envoy would deliver. */
export function splitChunks(rng: Rng, body: Uint8Array): Uint8Array[] {
  const mode = rng.weighted([
    [40, "one"],
    [30, "random"],
    [10, "bytes"],
    [15, "fixed"],
    [5, "empty-between"],
  ] as const);
  if (body.length === 0 || mode === "one") return [body];
  const cuts = new Set<number>();
  if (mode === "bytes" && body.length <= 600) {
    for (let i = 1; i < body.length; i++) cuts.add(i);
  } else if (mode === "fixed") {
    const size = rng.pick([1, 3, 7, 100, 1024, 16384]);
    if (body.length / size > 4096) return splitChunks(rng, body);
    for (let i = size; i < body.length; i += size) cuts.add(i);
  } else {
    const n = rng.range(1, Math.min(16, body.length));
    for (let i = 0; i < n; i++) cuts.add(rng.range(1, body.length - 1));
  }
  const sorted = [...cuts].filter((c) => c > 0 && c < body.length).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const c of sorted) {
    chunks.push(body.subarray(prev, c));
    if (mode === "empty-between" && rng.chance(0.5)) chunks.push(new Uint8Array(0));
    prev = c;
  }
  chunks.push(body.subarray(prev));
  return chunks;
}

// ---------------------------------------------------------------------------
// Upstream responses

export interface UpstreamSpec {
  label: string;
  /** Whether the body is an SSE stream (as labelled by content-type, for stats). */
  sse: boolean;
  responseHeaders: Pairs;
  /** The response ends with its headers (no body callbacks). */
  headersEnd: boolean;
  body: Uint8Array;
  chunks: Uint8Array[];
  /** An extra empty chunk carries end of stream (as when content-length is absent). */
  trailingEmpty: boolean;
}

const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/json;charset=UTF-8",
  " application/json ",
  "application/json ; foo=bar",
];
const SSE_TYPES = ["text/event-stream", "text/event-stream;charset=UTF-8", "TEXT/EVENT-STREAM"];
const OTHER_TYPES = [
  "text/plain",
  "text/html",
  "application/jsonp",
  "application/json-seq",
  "application/problem+json",
  "",
  "applicationjson",
  "json",
  "application/json\u0000",
  "application/jsön",
  "text/event-stream2",
];

function extraHeaders(rng: Rng): Pairs {
  const out: Pairs = [];
  const n = rng.chance(0.7) ? rng.int(3) : rng.int(40);
  for (let i = 0; i < n; i++) {
    out.push(
      rng.weighted<() => [string, string]>([
        [4, () => ["x-request-id", rng.hex(32)]],
        [2, () => ["x-mock", "ai-json-mode-mock"]],
        [2, () => ["date", "Wed, 26 Nov 2025 10:00:00 GMT"]],
        [1, () => ["x-" + rng.hex(4), randText(rng, 20).replace(/[\r\n\u0000]/g, " ")]],
        [1, () => ["set-cookie", "a=" + rng.hex(8)]],
        [1, () => ["mode", "text"]],
        [1, () => ["content-length", String(rng.int(1000))]],
        [1, () => ["content-type", rng.pick(JSON_TYPES)]],
        [1, () => ["x-long", "v".repeat(rng.pick([100, 8000]))]],
        [1, () => ["vary", "accept-encoding"]],
      ])(),
    );
  }
  return out;
}

/** An upstream response (headers, body, chunks). `big` forces one of the 8 MB cases. */
export function genUpstream(rng: Rng, big?: "content" | "sse"): UpstreamSpec {
  let label: string;
  let body: Uint8Array;
  let sse = false;
  if (big === "content") {
    label = "big-8mb-content";
    const s = plainText(rng, 200) + "x".repeat(8 * 1024 * 1024) + "\u0000\ud800" + CJK;
    body = utf8(completionText(rng, JSON.stringify(s)));
  } else if (big === "sse") {
    label = "big-8mb-sse";
    sse = true;
    const piece = "y".repeat(65536);
    let t = "";
    for (let i = 0; i < 128; i++) t += `data: {"choices":[{"delta":{"content":"${piece}"},"index":0}]}\n\n`;
    body = utf8(t + "data: [DONE]\n\n");
  } else {
    const kind = rng.weighted([
      [30, "completion"],
      [8, "fixture"],
      [12, "sse"],
      [3, "fixture-sse"],
      [10, "mutated"],
      [6, "mutated-sse"],
      [4, "random-json"],
      [3, "not-json"],
      [2, "error-body"],
      [2, "answer-as-upstream"],
    ] as const);
    label = kind;
    switch (kind) {
      case "completion":
        body = utf8(completionText(rng, upstreamContentText(rng)));
        break;
      case "fixture":
        body = FIXTURES.completion;
        break;
      case "sse":
        sse = true;
        body = utf8(sseText(rng, rng.chance(0.8) ? plainText(rng, 300) : randText(rng, 80)));
        break;
      case "fixture-sse":
        sse = true;
        body = FIXTURES.stream;
        break;
      case "mutated":
        body = mutateBytes(
          rng,
          rng.chance(0.5) ? FIXTURES.completion : utf8(completionText(rng, upstreamContentText(rng))),
        );
        break;
      case "mutated-sse":
        sse = true;
        body = mutateBytes(rng, rng.chance(0.5) ? FIXTURES.stream : utf8(sseText(rng, plainText(rng, 100))));
        break;
      case "random-json":
        body = utf8(randJsonText(rng, 6, 5));
        break;
      case "not-json":
        body = utf8(
          rng.pick(["<html>502</html>", "", " ", "null", "{", "\u0000", "data: x\n\n", '{"choices":'] as const),
        );
        break;
      case "error-body":
        body = FIXTURES.upstream500;
        break;
      default:
        body = rng.pick([FIXTURES.answerObject, FIXTURES.answerFenced, FIXTURES.answerEmpty, FIXTURES.error401]);
    }
  }
  const type = rng.weighted<() => string | null>([
    [sse ? 4 : 80, () => rng.pick(JSON_TYPES)],
    [sse ? 80 : 4, () => rng.pick(SSE_TYPES)],
    [4, () => rng.pick(OTHER_TYPES)],
    [2, () => null],
  ])();
  const status = rng.weighted([
    [92, "200"],
    [2, "500"],
    [1, "404"],
    [1, "201"],
    [1, "429"],
    [1, "abc"],
    [1, "0200"],
    [1, ""],
  ] as const);
  const headers: Pairs = [];
  if (!rng.chance(0.005)) headers.push([":status", status]);
  if (type !== null) headers.push(["content-type", type]);
  const clMode = rng.weighted([
    [85, "right"],
    [10, "none"],
    [3, "wrong"],
    [2, "twice"],
  ] as const);
  if (clMode === "right") headers.push(["content-length", String(body.length)]);
  else if (clMode === "wrong") headers.push(["content-length", String(body.length + rng.range(-5, 5))]);
  else if (clMode === "twice")
    headers.push(["content-length", String(body.length)], ["content-length", String(body.length)]);
  if (rng.chance(0.06))
    headers.push(["content-encoding", rng.pick(["gzip", "br", "identity", "IDENTITY", "", "deflate"])]);
  headers.push(...extraHeaders(rng));
  rng.shuffle(headers);
  const headersEnd = !big && rng.chance(0.03);
  return {
    label,
    sse,
    responseHeaders: headers,
    headersEnd,
    body,
    chunks: headersEnd ? [] : big ? splitBig(rng, body) : splitChunks(rng, body),
    trailingEmpty: !headersEnd && rng.chance(0.15),
  };
}

function splitBig(rng: Rng, body: Uint8Array): Uint8Array[] {
  const size = rng.pick([16384, 65536, 1 << 20]);
  const out: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.subarray(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------
// Requests

export interface RequestSpec {
  routeName: string;
  headers: Pairs;
  /** Request body (undefined: the request ends with its headers). */
  body?: Uint8Array;
  /** The request carries the loop-guard header. */
  loop: boolean;
}

export const ROUTES = ["json-route", "other-route", "chat", "chat-json", "r-x"];

export function genRequest(rng: Rng): RequestSpec {
  const headers: Pairs = [
    [
      ":authority",
      rng.pick(["gw.example.com", "api.example.com:8080", "localhost", "Evil.Example.COM", "[::1]:80", ""]),
    ],
    [":path", rng.pick(["/v1/chat/completions", "/api/openai/v1/chat/completions", "/", "/x?y=1"])],
    [":method", rng.pick(["POST", "POST", "GET"])],
    [":scheme", "http"],
  ];
  if (rng.chance(0.7)) headers.push(["accept-encoding", rng.pick(["gzip, deflate, br", "gzip", "identity", "*"])]);
  if (rng.chance(0.4)) headers.push(["authorization", "Bearer sk-client-" + rng.hex(12)]);
  if (rng.chance(0.3)) headers.push(["content-type", "application/json"]);
  const loop = rng.chance(0.04);
  if (loop) headers.push(["x-ai-json-mode", rng.pick(["1", "0", ""])]);
  if (rng.chance(0.1))
    headers.push(
      rng.pick<[string, string]>([
        ["host", "evil.example"],
        ["x-forwarded-host", "evil.example"],
        ["x-envoy-original-path", "/evil"],
        ["x-api-key", "sk-client-xyz"],
        ["api-key", "sk-client-xyz"],
      ]),
    );
  headers.push(...extraHeaders(rng));
  const hasBody = rng.chance(0.7);
  return {
    routeName: rng.pick(ROUTES),
    headers,
    body: hasBody
      ? utf8(JSON.stringify({ model: "qwen-max", messages: [{ role: "user", content: plainText(rng, 40) }] }))
      : undefined,
    loop,
  };
}

// ---------------------------------------------------------------------------
// DeepSeek answers

export type AnswerSpec =
  | { kind: "http"; label: string; status: number; headers: Pairs; body: Uint8Array }
  | { kind: "timeout"; label: string }
  | { kind: "refuse"; label: string }
  | { kind: "reset"; label: string };

function deepseekCompletion(rng: Rng, contentText: string, finish = "stop"): string {
  return members(rng, [
    ["id", JSON.stringify(rng.hex(8) + "-" + rng.hex(4))],
    ["object", '"chat.completion"'],
    ["created", "1764142514"],
    ["model", '"deepseek-chat"'],
    [
      "choices",
      `[${members(rng, [
        ["index", "0"],
        [
          "message",
          members(rng, [
            ["role", '"assistant"'],
            ["content", contentText],
          ]),
        ],
        ["logprobs", "null"],
        ["finish_reason", JSON.stringify(finish)],
      ])}]`,
    ],
    [
      "usage",
      rng.chance(0.9)
        ? `{"prompt_tokens":${rng.int(500)},"completion_tokens":${rng.int(500)},"total_tokens":${rng.int(1000)},"prompt_cache_hit_tokens":0}`
        : rng.pick(["null", '"u"', "{}"]),
    ],
    ["system_fingerprint", '"fp_ffc7281d48"'],
  ]);
}

/** A DeepSeek answer. `apiKey` is echoed in some error bodies (the plugin must not log it). */
export function genAnswer(rng: Rng, apiKey: string, schemaData?: unknown[], big = false): AnswerSpec {
  const http = (label: string, status: number, body: string | Uint8Array, type = "application/json"): AnswerSpec => {
    const b = typeof body === "string" ? utf8(body) : body;
    const headers: Pairs = [
      ["content-type", type],
      ["content-length", String(b.length)],
    ];
    if (rng.chance(0.2)) headers.push(...extraHeaders(rng));
    return { kind: "http", label, status, headers, body: b };
  };
  if (big) {
    const s = "z".repeat(8 * 1024 * 1024) + "\u0000\ud83d\ude00";
    return http("big-8mb-answer", 200, deepseekCompletion(rng, JSON.stringify(JSON.stringify({ output: s }))));
  }
  const raw = schemaData !== undefined && schemaData.length > 0 && schemaData[0] instanceof RawJson;
  const kind = rng.weighted([
    [30, "json"],
    [raw ? 60 : 6, "schema-data"],
    [6, "fixture"],
    [8, "fenced"],
    [4, "prose"],
    [10, "status"],
    [3, "timeout"],
    [2, "refuse"],
    [2, "reset"],
    [10, "malformed"],
    [10, "mutated"],
    [2, "not-object"],
  ] as const);
  switch (kind) {
    case "json":
      return http("json", 200, deepseekCompletion(rng, jsonStringText(rng, randJsonObjectText(rng))));
    case "schema-data": {
      const d = schemaData && schemaData.length ? rng.pick(schemaData) : { output: randText(rng) };
      if (d instanceof RawJson) return http(d.label, 200, deepseekCompletion(rng, JSON.stringify(d.text)));
      return http("schema-data", 200, deepseekCompletion(rng, JSON.stringify(JSON.stringify(d))));
    }
    case "fixture":
      return http(
        "fixture",
        200,
        rng.pick([FIXTURES.answerObject, FIXTURES.answerFenced, FIXTURES.answerEmpty, FIXTURES.answerTruncated]),
      );
    case "fenced": {
      const j = randJsonObjectText(rng);
      const fence = rng.pick([
        "```json\n" + j + "\n```",
        "```\n" + j + "\n```",
        "```JSON\r\n" + j + "```",
        "Here you go:\n```json\n" + j + "\n```\nDone.",
      ]);
      return http("fenced", 200, deepseekCompletion(rng, JSON.stringify(fence)));
    }
    case "prose": {
      const j = randJsonObjectText(rng);
      return http(
        "prose",
        200,
        deepseekCompletion(rng, JSON.stringify(`${plainText(rng, 40)} ${j} ${plainText(rng, 40)}`)),
      );
    }
    case "status": {
      const status = rng.pick([400, 401, 402, 404, 422, 429, 500, 502, 503, 504, 302, 204, 201]);
      const body = rng.weighted<() => string | Uint8Array>([
        [3, () => FIXTURES.error401],
        [2, () => FIXTURES.error429],
        [
          3,
          () =>
            `{"error":{"message":"Authentication Fails, Your api key: ${apiKey} is invalid","type":"authentication_error ${apiKey}","param":null,"code":"invalid_request_error"}}`,
        ],
        [1, () => ""],
        [1, () => `<html>${apiKey}</html>`],
        [2, () => deepseekCompletion(rng, JSON.stringify('{"output":"ok"}'))],
      ])();
      return http("status-" + status, status, body);
    }
    case "timeout":
    case "refuse":
    case "reset":
      return { kind, label: kind };
    case "malformed": {
      const m = rng.pick([
        ["empty-body", ""],
        ["not-json", "<html><body>502</body></html>"],
        ["no-choices", '{"choices":[]}'],
        ["choices-object", '{"choices":{}}'],
        ["no-message", '{"choices":[{"index":0}]}'],
        ["content-null", deepseekCompletion(rng, "null")],
        ["content-number", deepseekCompletion(rng, "42")],
        ["content-object", deepseekCompletion(rng, '{"output":"x"}')],
        ["content-empty", deepseekCompletion(rng, '""')],
        ["content-blank", deepseekCompletion(rng, '" \\n\\t "')],
        ["content-scalar-json", deepseekCompletion(rng, rng.pick(['"42"', '"\\"str\\""', '"null"', '"true"']))],
        ["content-truncated", deepseekCompletion(rng, JSON.stringify('{"output": "abc'), "length")],
        ["content-trailing", deepseekCompletion(rng, JSON.stringify('{"a":1} {"b":2}'))],
        ["content-invalid-utf8-escape", deepseekCompletion(rng, '"{\\"a\\":\\"\\ud800\\"}"')],
        ["body-truncated", deepseekCompletion(rng, JSON.stringify('{"output":"x"}')).slice(0, 40)],
        ["top-array", "[1,2,3]"],
        ["error-200", `{"error":{"message":"${apiKey}","type":"x"}}`],
      ] as const);
      return http("malformed-" + m[0], 200, m[1]);
    }
    case "mutated": {
      const base = rng.chance(0.5)
        ? FIXTURES.answerObject
        : utf8(deepseekCompletion(rng, jsonStringText(rng, randJsonObjectText(rng))));
      return http("mutated", 200, mutateBytes(rng, base));
    }
    default:
      return http(
        "not-object",
        200,
        deepseekCompletion(rng, JSON.stringify(rng.pick(["[]", "[1,2]", "{}", '{"":""}', '{"\\u0000":"\\ud800"}']))),
      );
  }
}

// ---------------------------------------------------------------------------
// Configs

/** What the fuzzer knows about a config it generated (to derive the expected call). */
export interface ConfigModel {
  url: string;
  model: string;
  apiKey: string;
  serviceFQDN: string;
  servicePort?: number;
  serviceHost?: string;
  timeout?: number;
  systemPrompt?: string;
  jsonSchema?: unknown;
  maxRetries?: number;
  responseFormat?: "json_object" | "text";
  maxTokens?: number;
  temperature?: number;
  output?: "body" | "openai";
  onFailure?: "passthrough" | "error";
  streaming?: "convert" | "passthrough";
}

export interface GeneratedConfig {
  /** The config object sent to the plugin. */
  json: Record<string, unknown>;
  /** Global effective config (null when the global fields are incomplete). */
  global: ConfigModel | null;
  /** Route rules: first match wins. */
  rules: { routes: string[]; config: ConfigModel }[];
  /** Every API key in the config. */
  apiKeys: string[];
  /** Data instances from the test suite for the schema, if any. */
  schemaData?: unknown[];
}

/** Clusters the fuzz host refuses (the call is BadArgument: "call_failed"). */
export const REFUSED_FQDN = "unregistered.dns";

/** Simple schemas the plugin supports (answers can match them). */
/** An answer's JSON written as text (numbers, key order and escapes exactly as given), and what it is. */
export class RawJson {
  constructor(
    public text: string,
    /** "unique-distinct" (the items of `output` all differ) or "unique-repeated" (two are equal as JSON). */
    public label: string,
  ) {}
}

/** The schema of the uniqueItems shapes: `output` must be an array of distinct items. */
export const UNIQUE_SCHEMA = {
  $comment: "uniqueItems shapes",
  type: "object",
  required: ["output"],
  properties: { output: { type: "array", uniqueItems: true } },
};

/** A value nested `depth` deep around `inner`, in arrays or one-member objects. */
function nestAround(rng: Rng, inner: string, depth: number, objects: boolean): string {
  let v = inner;
  for (let d = 0; d < depth; d++) v = objects && d % 2 === 1 ? `{"k":${v}}` : `[${v}]`;
  return v;
}

/** Pairs of texts equal as JSON though written differently. */
const SAME_JSON: [string, string][] = [
  ["1", "1.0"],
  ["1", "1e0"],
  ["-0", "0"],
  ["100", "1E2"],
  ['"A"', '"\\u0041"'],
  ['"\\n"', '"\\u000a"'],
  ['"😀"', '"\\ud83d\\ude00"'],
  ['{"a":1,"b":"x"}', '{"b":"x","a":1.0}'],
  ['{"a":[1,{"c":null}]}', '{ "a" : [ 1.00 , { "c" : null } ] }'],
  ["[1,[2]]", "[1.0,[2e0]]"],
];

/** Pairs that look alike but differ as JSON. */
const NOT_SAME_JSON: [string, string][] = [
  ["1", "1.5"],
  ['"A"', '"a"'],
  ['"1"', "1"],
  ['{"a":1}', '{"a":1,"b":2}'],
  ["[1,2]", "[2,1]"],
  ["null", "false"],
  ["[]", "{}"],
  ['{"a":1}', '{"A":1}'],
];

/**
 * `{"output": [...]}` as text for UNIQUE_SCHEMA: items nested more than 32
 * deep that differ only at the bottom, many equal items, or items equal as
 * JSON but spelled differently (1 / 1.0, reordered keys, escapes); the label
 * says whether two items are equal.
 */
function uniqueAnswer(rng: Rng): RawJson {
  const shape = rng.int(4);
  let items: string[];
  let repeated = rng.chance(0.5);
  if (shape === 0) {
    // Deep items, distinct at the bottom only.
    const depth = rng.range(33, 60);
    const objects = rng.chance(0.5);
    const n = rng.range(2, 300);
    items = Array.from({ length: n }, (_, i) => nestAround(rng, String(i), depth, objects));
    if (repeated) {
      const i = rng.int(n);
      const same = rng.pick(SAME_JSON.filter(([a]) => a === "1"));
      items[i] = nestAround(rng, same[0], depth, objects);
      items.splice(rng.int(n + 1), 0, nestAround(rng, same[1], depth, objects));
    }
  } else if (shape === 1) {
    // Many equal items (or one of them, which is distinct).
    const n = rng.range(2, 3000);
    const x = rng.pick(['{"a":1}', "[0]", '"same"', "7", "null"]);
    items = new Array(repeated ? n : 1).fill(x);
  } else if (shape === 2) {
    // Equal as JSON but written differently, or alike but different.
    const [a, b] = rng.pick(repeated ? SAME_JSON : NOT_SAME_JSON);
    const filler = Array.from({ length: rng.range(0, 20) }, (_, i) => `"f${i}"`);
    items = [...filler];
    items.splice(rng.int(items.length + 1), 0, a);
    items.splice(rng.int(items.length + 1), 0, b);
    if (rng.chance(0.5)) items.reverse();
  } else {
    // Many distinct numbers, a late one repeating an early one in another spelling.
    const n = rng.range(100, 5000);
    items = Array.from({ length: n }, (_, i) => String(1000 + i));
    if (repeated) items.push(rng.pick(["1000.0", "1.0e3", "1000"]));
  }
  return new RawJson(
    `{"output":[${items.join(rng.pick([",", ", "]))}]}`,
    repeated ? "unique-repeated" : "unique-distinct",
  );
}

function simpleSchema(rng: Rng): unknown {
  return rng.pick<unknown>([
    { type: "object" },
    { type: "object", required: ["output"] },
    { type: "object", properties: { output: { type: "string" } }, required: ["output"] },
    { type: "object", properties: { output: { type: ["string", "number", "null"] } } },
    { type: ["object", "array"] },
    { type: "object", additionalProperties: false, properties: { output: {} } },
    { type: "object", properties: { output: { type: "string", minLength: 1, maxLength: 3 } } },
    { type: "array", items: { type: "integer" }, uniqueItems: true, maxItems: 3 },
    { anyOf: [{ type: "object", required: ["a"] }, { type: "array" }] },
    { definitions: { s: { type: "string" } }, type: "object", properties: { output: { $ref: "#/definitions/s" } } },
    { not: { type: "array" } },
    { type: "object", properties: { output: { enum: ["x", 1, null] } } },
  ]);
}

export function genConfigModel(rng: Rng, apiKey: string): { model: ConfigModel; schemaData?: unknown[] } {
  const m: ConfigModel = {
    url: rng.pick([
      "https://api.deepseek.com/v1/chat/completions",
      "/v1/chat/completions",
      "http://deepseek.dns/v1/chat/completions?x=1",
      "https://user@api.deepseek.com:8443/chat/completions#frag",
      "/compatible-mode/v1/chat/completions",
    ]),
    model: rng.pick(["deepseek-chat", "deepseek-reasoner", "m\u00fcdel", "x"]),
    apiKey,
    serviceFQDN: rng.chance(0.03)
      ? REFUSED_FQDN
      : rng.pick(["deepseek.dns", "deepseek.default.svc.cluster.local", "ds.static"]),
  };
  let schemaData: unknown[] | undefined;
  if (rng.chance(0.3)) m.servicePort = rng.pick([1, 80, 443, 8443, 65535]);
  if (rng.chance(0.3)) m.serviceHost = rng.pick(["api.deepseek.com", "ds.internal:8080", "x"]);
  if (rng.chance(0.4)) m.timeout = rng.pick([1, 100, 5000, 50000, 600000]);
  if (rng.chance(0.2))
    m.systemPrompt = rng.pick([
      "Reply in JSON.",
      "输出 JSON 对象",
      randText(rng, 30).replace(/^\s+|\s+$/g, "") || "json",
    ]);
  if (rng.chance(0.25)) {
    const pick = rng.int(6);
    if (pick < 2) {
      // uniqueItems against items that differ deep down, repeat, or are equal but spelled differently.
      m.jsonSchema = UNIQUE_SCHEMA;
      schemaData = Array.from({ length: 6 }, () => uniqueAnswer(rng));
    } else if (pick < 4) m.jsonSchema = simpleSchema(rng);
    else {
      const s = rng.pick(suiteSchemas());
      m.jsonSchema = s.schema;
      schemaData = s.data;
    }
    if (typeof m.jsonSchema !== "object" || m.jsonSchema === null || Array.isArray(m.jsonSchema))
      m.jsonSchema = { type: "object" };
  }
  if (rng.chance(0.4)) m.maxRetries = rng.range(0, 5);
  if (rng.chance(0.3)) m.responseFormat = rng.pick(["json_object", "text"] as const);
  if (rng.chance(0.2)) m.maxTokens = rng.pick([1, 4096, 1000000]);
  if (rng.chance(0.2)) m.temperature = rng.pick([0, 0.7, 1.3, 2]);
  if (rng.chance(0.3)) m.output = rng.pick(["body", "openai"] as const);
  if (rng.chance(0.3)) m.onFailure = rng.pick(["passthrough", "error"] as const);
  if (rng.chance(0.15)) m.streaming = rng.pick(["convert", "passthrough"] as const);
  return { model: m, schemaData };
}

export function newApiKey(rng: Rng): string {
  return "sk-fuzz-" + rng.hex(24);
}

/** A valid config: global fields, sometimes route rules; the interpretation is known. */
export function genConfig(rng: Rng): GeneratedConfig {
  const key = newApiKey(rng);
  const { model, schemaData } = genConfigModel(rng, key);
  const json: Record<string, unknown> = { ...model };
  if (!rng.chance(0.2)) return { json, global: model, rules: [], apiKeys: [key], schemaData };
  // Route rules overlaying the global fields; the global part may be incomplete.
  const rules: GeneratedConfig["rules"] = [];
  const jsonRules: Record<string, unknown>[] = [];
  const keys = [key];
  const n = rng.range(1, 3);
  const incomplete = rng.chance(0.5);
  if (incomplete) delete json.model;
  for (let i = 0; i < n; i++) {
    const routes = [rng.pick(ROUTES)];
    if (rng.chance(0.3)) routes.push(rng.pick(ROUTES));
    const overlay: Partial<ConfigModel> = { model: rng.pick(["deepseek-chat", "rule-model-" + i]) };
    if (rng.chance(0.5)) {
      overlay.apiKey = newApiKey(rng);
      keys.push(overlay.apiKey);
    }
    if (rng.chance(0.3)) overlay.output = rng.pick(["body", "openai"] as const);
    if (rng.chance(0.3)) overlay.onFailure = rng.pick(["passthrough", "error"] as const);
    if (rng.chance(0.3)) overlay.maxRetries = rng.range(0, 3);
    jsonRules.push({ _match_route_: routes, ...overlay });
    rules.push({ routes, config: { ...model, ...overlay } });
  }
  json._rules_ = jsonRules;
  return { json, global: incomplete ? null : model, rules, apiKeys: keys, schemaData };
}

/** The effective config of a stream on `route`, per the generated rules. */
export function effectiveConfig(c: GeneratedConfig, route: string): ConfigModel | null {
  for (const r of c.rules) if (r.routes.includes(route)) return r.config;
  return c.global;
}

const RANDOM_VALUES = (rng: Rng): unknown =>
  rng.pick<() => unknown>([
    () => null,
    () => true,
    () => -1,
    () => 0,
    () => 1.5,
    () => 1e300,
    () => "",
    () => " ",
    () => randText(rng, 20),
    () => "x".repeat(rng.pick([1000, 100000])),
    () => [],
    () => [randText(rng, 5)],
    () => ({}),
    () => ({ type: "object", pattern: "x" }),
    () => 65536,
    () => 600001,
    () => 2.0000001,
    () => "json_object ",
    () => "OPENAI",
  ])();

export interface MutatedConfig {
  label: string;
  bytes: Uint8Array;
}

const CONFIG_FIELDS = [
  "url",
  "model",
  "apiKey",
  "serviceFQDN",
  "servicePort",
  "serviceHost",
  "timeout",
  "systemPrompt",
  "jsonSchema",
  "maxRetries",
  "responseFormat",
  "maxTokens",
  "temperature",
  "output",
  "onFailure",
  "streaming",
  "strategy",
  "maxBodyBytes",
  "totalTimeout",
  "_rules_",
];

/** Values in range for some fields, so that a mutated config is accepted and runs (under the relaxed oracle). */
const VALID_VALUES: Record<string, unknown[]> = {
  strategy: ["inject"],
  // Small limits: completions, streams and answers over them pass through (the limit's path).
  maxBodyBytes: [1024, 1500, 4096, 65536],
  // Budgets shorter than a retry, equal to the timeout, and just under the idle timeout.
  totalTimeout: [1000, 3000, 179999],
};

/** A config that may well be invalid: wrong types, out of range, broken JSON, invalid UTF-8, deep nesting... */
export function mutateConfig(rng: Rng, base: GeneratedConfig): MutatedConfig {
  const json = structuredClone(base.json);
  const kind = rng.weighted([
    [25, "field-value"],
    [10, "delete-field"],
    [8, "unknown-field"],
    [10, "rules"],
    [12, "schema"],
    [12, "bytes"],
    [5, "not-object"],
    [4, "deep"],
    [4, "duplicate-keys"],
    [3, "huge"],
  ] as const);
  switch (kind) {
    case "field-value":
      for (let i = rng.range(1, 3); i > 0; i--) {
        const field = rng.pick(CONFIG_FIELDS.filter((f) => f !== "apiKey"));
        // A valid value half the time where the field has some, so the path it opens runs.
        const valid = VALID_VALUES[field];
        json[field] = valid !== undefined && rng.chance(0.5) ? rng.pick(valid) : RANDOM_VALUES(rng);
      }
      if (rng.chance(0.2)) json.apiKey = rng.pick<unknown>([1, null, "", " ", ["k"], { k: 1 }]);
      break;
    case "delete-field":
      delete json[rng.pick(CONFIG_FIELDS)];
      break;
    case "unknown-field":
      json[rng.pick(["urls", "api_key", "Model", "", "\u0000", "_match_route_", "_rules"])] = RANDOM_VALUES(rng);
      break;
    case "rules":
      json._rules_ = rng.pick<() => unknown>([
        () => [],
        () => {},
        () => [{}],
        () => [{ _match_route_: [] }],
        () => [{ _match_route_: "json-route" }],
        () => [{ _match_route_: ["json-route"], _match_domain_: ["x"] }],
        () => [{ _match_domain_: ["*.example.com", "example.*", "*", ""], model: "m" }],
        () => [{ _match_service_: ["deepseek.dns:443", "x"], timeout: -1 }],
        () => [{ _match_route_prefix_: ["r-"], model: 5 }],
        () => [{ _match_route_: [1] }],
        () => [{ _match_route_: ["a"], _rules_: [{ _match_route_: ["b"] }] }],
        () => Array.from({ length: 200 }, (_, i) => ({ _match_route_: ["r" + i], model: "m" + i })),
        () => [null, 1, "x"],
      ])();
      break;
    case "schema":
      json.jsonSchema = rng.pick<() => unknown>([
        () => rng.pick(suiteSchemas()).schema,
        () => ({ type: "strin" }),
        () => ({ $ref: "#" }),
        () => ({
          $ref: "#/definitions/a",
          definitions: { a: { $ref: "#/definitions/b" }, b: { $ref: "#/definitions/a" } },
        }),
        () => ({ definitions: { a: { anyOf: [{ $ref: "#/definitions/a" }] } }, $ref: "#/definitions/a" }),
        () => ({ $ref: "http://example.com/x.json" }),
        () => ({ $ref: "#/definitions/%25" }),
        () => ({ properties: { a: { $ref: "#/properties/a" } } }),
        () => ({ minLength: -1 }),
        () => ({ maxItems: 1.5 }),
        () => ({ minimum: "1" }),
        () => ({ enum: [] }),
        () => ({ required: ["a", "a"] }),
        () => ({ type: [] }),
        () => ({ items: [{ type: "string" }, true, false] }),
        () => ({ pattern: "^(a+)+$" }),
        () => ({ format: "email" }),
        () => nestSchema(rng.pick([50, 127, 128, 129, 1000])),
        () => true,
        () => false,
        () => JSON.parse(randJsonText(rng, 4, 4)),
      ])();
      break;
    case "bytes": {
      const text = utf8(JSON.stringify(json));
      return { label: "config-bytes", bytes: mutateBytes(rng, text) };
    }
    case "not-object":
      return {
        label: "config-not-object",
        bytes: utf8(rng.pick(["", "null", "[]", "42", '"x"', "true", "[{}]", " ", "\u0000"])),
      };
    case "deep":
      return { label: "config-deep", bytes: utf8(deepNest(rng, rng.pick([100, 511, 512, 513, 100000]))) };
    case "duplicate-keys": {
      const text = JSON.stringify(json);
      return {
        label: "config-duplicate-keys",
        bytes: utf8(text.slice(0, -1) + `,"model":${JSON.stringify(rng.pick(["", 5, "dup"]))},"apiKey":"sk-dup"}`),
      };
    }
    default:
      json.systemPrompt = "p".repeat(1024 * 1024);
  }
  return { label: "config-" + kind, bytes: utf8(JSON.stringify(json) ?? "null") };
}

function nestSchema(depth: number): unknown {
  let s: unknown = { type: "string" };
  for (let i = 0; i < depth; i++) s = { properties: { a: s } };
  return s;
}
