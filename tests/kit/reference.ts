// The ai-json-mode transform in plain TypeScript with V8's native JSON
// (JSON.parse / JSON.stringify, TextDecoder / TextEncoder): the practical
// speed limit in this engine, and the reference the fuzzer checks the plugin
// against.
//
//   phase 1 (upstream body -> call):   bytes -> UTF-8 decode -> JSON.parse ->
//       choices[0].message.content -> the JSON-mode request object ->
//       JSON.stringify -> UTF-8 bytes
//   phase 2 (call answer -> new body): bytes -> UTF-8 decode -> JSON.parse ->
//       choices[0].message.content -> the JSON in it (whole text, a Markdown
//       fence, or the first {...} / [...] span) -> JSON.stringify -> bytes
//
// Semantics follow README.md and assembly/jsonmode/{completion,sse}.ts: a
// blank content (only space, tab, CR, LF) is "empty_content"; a non-string
// content is "no_content"; the body must be strict UTF-8.

export const DEFAULT_SYSTEM_PROMPT =
  'Please output a JSON object that follows my JSON definition. Reply with the JSON object only: no prose, no Markdown. Example: {"output": "xxxx"}';
/** The default prompt when a jsonSchema is set (the plugin appends the schema after it). */
export const SCHEMA_SYSTEM_PROMPT =
  "Please output JSON that follows the JSON Schema below. Reply with the JSON only: no prose, no Markdown.";

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Strict UTF-8 decode; undefined for invalid bytes. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** JSON.parse of strict UTF-8 bytes; `ok: false` when either step fails. */
export function parseBytes(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  const text = decodeUtf8(bytes);
  if (text === undefined) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export function isBlank(s: string): boolean {
  return /^[ \t\n\r]*$/.test(s);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export type ContentCode = "ok" | "upstream_not_json" | "not_completion" | "no_content" | "empty_content";

/** `choices[0].message.content` of a parsed completion, with the plugin's failure codes. */
export function contentOf(completion: unknown): { code: ContentCode; content?: string } {
  // Not a chat completion at all (no `choices` member): not for the plugin.
  if (!isObject(completion) || !("choices" in completion)) return { code: "not_completion" };
  const choices = completion.choices;
  if (!Array.isArray(choices) || choices.length === 0) return { code: "no_content" };
  const first = choices[0];
  if (!isObject(first)) return { code: "no_content" };
  const message = first.message;
  if (!isObject(message)) return { code: "no_content" };
  const content = message.content;
  if (typeof content !== "string") return { code: "no_content" };
  if (isBlank(content)) return { code: "empty_content", content };
  return { code: "ok", content };
}

/** Phase 1, first half: the content of an upstream completion body. */
export function readCompletion(body: Uint8Array): { code: ContentCode; content?: string; completion?: unknown } {
  if (body.length === 0) return { code: "upstream_not_json" };
  const p = parseBytes(body);
  if (!p.ok) return { code: "upstream_not_json" };
  return { ...contentOf(p.value), completion: p.value };
}

export interface RequestOptions {
  model: string;
  prompt?: string;
  jsonObjectFormat?: boolean;
  maxTokens?: number;
  temperature?: number;
}

export interface Attempt {
  answer: string;
  problem: string;
}

/** The JSON-mode request object (same field order as the plugin). */
export function jsonModeRequest(o: RequestOptions, content: string, history: Attempt[] = []): Record<string, unknown> {
  const messages: Record<string, unknown>[] = [
    { role: "system", content: o.prompt ?? DEFAULT_SYSTEM_PROMPT },
    { role: "user", content },
  ];
  for (const a of history) {
    if (a.answer.length > 0) messages.push({ role: "assistant", content: a.answer });
    messages.push({
      role: "user",
      content: `Your previous answer was not accepted: ${a.problem}. Reply again with only the corrected JSON.`,
    });
  }
  const req: Record<string, unknown> = { model: o.model, messages, stream: false };
  if (o.jsonObjectFormat ?? true) req.response_format = { type: "json_object" };
  if (o.maxTokens !== undefined && o.maxTokens > 0) req.max_tokens = o.maxTokens;
  if (o.temperature !== undefined) req.temperature = o.temperature;
  return req;
}

/** Phase 1: upstream completion bytes -> the JSON-mode request body (undefined: passthrough). */
export function phase1(body: Uint8Array, o: RequestOptions): Uint8Array | undefined {
  const c = readCompletion(body);
  if (c.code !== "ok") return undefined;
  return encoder.encode(JSON.stringify(jsonModeRequest(o, c.content!)));
}

const FENCE = /```[a-zA-Z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/;

/**
 * The JSON object or array in a model's answer text: the whole text, else
 * the inside of the first Markdown fence, else the span from the first `{`
 * or `[` to the last matching `}` / `]`. undefined when there is none.
 * `exact` tells whether the whole text was the JSON (no heuristics involved).
 */
export function extractJson(text: string): { value: unknown; exact: boolean } | undefined {
  const whole = tryParse(text);
  if (whole.ok) return isContainer(whole.value) ? { value: whole.value, exact: true } : undefined;
  const fence = FENCE.exec(text);
  if (fence) {
    const inner = tryParse(fence[1]);
    if (inner.ok && isContainer(inner.value)) return { value: inner.value, exact: false };
  }
  for (const [open, close] of [
    ["{", "}"],
    ["[", "]"],
  ]) {
    const a = text.indexOf(open);
    const b = text.lastIndexOf(close);
    if (a >= 0 && b > a) {
      const span = tryParse(text.slice(a, b + 1));
      if (span.ok && isContainer(span.value)) return { value: span.value, exact: false };
    }
  }
  return undefined;
}

function isContainer(v: unknown): boolean {
  return typeof v === "object" && v !== null;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Phase 2: the call's answer bytes -> the new response body (undefined: passthrough). */
export function phase2(answer: Uint8Array): Uint8Array | undefined {
  const p = parseBytes(answer);
  if (!p.ok) return undefined;
  const c = contentOf(p.value);
  if (c.code !== "ok") return undefined;
  const e = extractJson(c.content!);
  if (!e) return undefined;
  return encoder.encode(JSON.stringify(e.value));
}

// ---- SSE (stream: true) -----------------------------------------------------

export interface SseResult {
  ok: boolean;
  /** Concatenated delta.content strings of choice 0. */
  content: string;
  events: number;
  first?: unknown;
  usage?: unknown;
  reason?: string;
}

/**
 * Whether a choice is choice 0: its `index` is a number equal to 0, or it
 * has no `index` and is the first of its event's `choices`.
 */
function isChoiceZero(choice: Record<string, unknown>, position: number): boolean {
  if (!("index" in choice)) return position === 0;
  return typeof choice.index === "number" && choice.index === 0;
}

/**
 * Collects the `delta.content` of choice 0 across the events of an SSE body,
 * with the plugin's rules: a leading UTF-8 byte order mark is ignored; lines
 * end in LF, CRLF or CR; an event's data lines are joined with LF; `data:
 * [DONE]` ends the stream; every choice of an event that is choice 0 (index
 * 0, or first without an index) adds its content, in order; an event of type
 * `error` (`event: error`, whatever its data or none), or whose data is not a
 * JSON object, or carries `error`, makes the stream unusable; a last event
 * without a blank line after it still counts.
 */
export function collectSse(body: Uint8Array): SseResult {
  const r: SseResult = { ok: false, content: "", events: 0 };
  let data: Uint8Array[] | null = null;
  let isError = false;
  const dispatch = (): number => {
    if (isError) {
      r.reason = `event ${r.events} is an error event`;
      return -1;
    }
    if (data === null) return 1;
    const parts: Uint8Array[] = data;
    data = null;
    const ev = joinLines(parts);
    if (ev.length === 6 && String.fromCharCode(...ev) === "[DONE]") return 0;
    const p = parseBytes(ev);
    if (!p.ok) {
      r.reason = `event ${r.events} is not JSON`;
      return -1;
    }
    const chunk = p.value;
    if (!isObject(chunk)) {
      r.reason = `event ${r.events} is not an object`;
      return -1;
    }
    if ("error" in chunk) {
      r.reason = `event ${r.events} carries an error`;
      return -1;
    }
    r.events++;
    if (r.first === undefined) r.first = chunk;
    if (isObject(chunk.usage)) r.usage = chunk.usage;
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return 1;
    choices.forEach((c, position) => {
      if (!isObject(c) || !isChoiceZero(c, position)) return;
      const delta = c.delta;
      if (isObject(delta) && typeof delta.content === "string") r.content += delta.content;
    });
    return 1;
  };
  const n = body.length;
  let i = n >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  for (;;) {
    let end = i;
    while (end < n && body[end] !== 0x0a && body[end] !== 0x0d) end++;
    const line = body.subarray(i, end);
    if (line.length === 0) {
      const v = dispatch();
      if (v < 0) return r;
      if (v === 0) break;
      isError = false;
    } else if (line[0] !== 0x3a) {
      let colon = line.indexOf(0x3a);
      if (colon < 0) colon = line.length;
      // The field name (only "data" and "event" matter: never decode a long line).
      const field = colon <= 5 ? String.fromCharCode(...line.subarray(0, colon)) : "";
      let v = colon + 1;
      if (v < line.length && line[v] === 0x20) v++;
      const value = line.subarray(Math.min(v, line.length));
      if (field === "data") {
        if (data === null) data = [];
        data.push(value);
      } else if (field === "event") {
        isError = value.length === 5 && String.fromCharCode(...value) === "error";
      }
    }
    if (end >= n) {
      const v = dispatch();
      if (v < 0) return r;
      break;
    }
    i = body[end] === 0x0d && end + 1 < n && body[end + 1] === 0x0a ? end + 2 : end + 1;
  }
  r.ok = r.events > 0;
  if (!r.ok) r.reason = "no data events in the stream";
  return r;
}

function joinLines(parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((s, p) => s + p.length, 0) + parts.length - 1;
  const out = new Uint8Array(Math.max(0, size));
  let o = 0;
  parts.forEach((p, k) => {
    if (k > 0) out[o++] = 0x0a;
    out.set(p, o);
    o += p.length;
  });
  return out;
}

/** Phase 1 for a stream: SSE bytes -> the JSON-mode request body. */
export function phase1Sse(body: Uint8Array, o: RequestOptions): Uint8Array | undefined {
  const s = collectSse(body);
  if (!s.ok || isBlank(s.content)) return undefined;
  return encoder.encode(JSON.stringify(jsonModeRequest(o, s.content)));
}

/** The whole transform: upstream completion + the call's answer -> the new body. */
export function transform(
  completion: Uint8Array,
  answer: (request: Uint8Array) => Uint8Array,
  o: RequestOptions,
): Uint8Array | undefined {
  const request = phase1(completion, o);
  if (!request) return undefined;
  return phase2(answer(request));
}
