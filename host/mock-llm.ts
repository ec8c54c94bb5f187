// Mock OpenAI-compatible LLM servers for offline use. These are MOCKS: every
// answer carries the header `x-mock: ai-json-mode-mock`, and every console line
// they print starts with `[mock]`.
//
// - startChatMock: the upstream chat model (shaped like Qwen through DashScope's
//   compatible mode). Replies "Mock reply to: <last user message>", or an SSE
//   stream when the request says `"stream": true`.
// - startJsonModeMock: the JSON-mode model (shaped like DeepSeek). Replies with a
//   JSON object derived from the request, `{"output": <last user message>}`,
//   fenced in ```json when the request has no `response_format: json_object`,
//   and 401 without `authorization: Bearer ...`.
//
// Both answer POST `<any prefix>/chat/completions`; anything else gets a 404.
// A MockBehavior (set() for every request, enqueue() for the next ones) adds
// latency, error statuses, malformed answers, chunking, gzip and resets.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { AddressInfo, Socket } from "node:net";

export interface MockBehavior {
  /** HTTP status; default 200. A non-200 status without `body` answers the provider's error body for it. */
  status?: number;
  /** Delay before the headers are sent. */
  latencyMs?: number;
  /** Delay between body chunks (and between SSE events). */
  chunkDelayMs?: number;
  /** Split the body into chunks of this many bytes (1 = byte by byte). */
  chunkSize?: number;
  /** Replace the whole answer body. */
  body?: string | Uint8Array | ((req: RecordedRequest) => string | Uint8Array);
  /** Replace the content-type. */
  contentType?: string;
  /** Extra response headers (they win over the mock's own). */
  headers?: Record<string, string>;
  /** Replace choices[0].message.content only (used verbatim). */
  content?: string | ((req: RecordedRequest) => string);
  /**
   * - truncated: output cut at max_tokens: half the content, finish_reason "length"
   * - not-json: a 200 body that is not JSON (still labelled application/json)
   * - no-choices: `"choices": []`
   * - empty-content: `"content": ""` with finish_reason "stop"
   * - content-number: `"content": 42`
   * - reset: the connection is reset before any byte of the answer
   * - close-mid-body: headers (with the full content-length) and half the body, then the connection is destroyed
   */
  malformed?: MalformedKind;
  /** Compress the body: `content-encoding: gzip`. */
  gzip?: boolean;
}

export type MalformedKind =
  | "truncated"
  | "not-json"
  | "no-choices"
  | "empty-content"
  | "content-number"
  | "reset"
  | "close-mid-body";

export const MALFORMED_KINDS: readonly MalformedKind[] = [
  "truncated", "not-json", "no-choices", "empty-content", "content-number", "reset", "close-mid-body",
];

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: string;
  /** The parsed body, when it is JSON. */
  json?: any;
}

export interface MockServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** The behaviour of every later request that the queue does not cover (replaces the previous one). */
  set(b: MockBehavior): void;
  /** A behaviour for exactly one later request; queued behaviours are used first, in order. */
  enqueue(b: MockBehavior): void;
  close(): Promise<void>;
}

export interface MockOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Initial behaviour (as set()). */
  behavior?: MockBehavior;
  /** The `model` the answers carry; default: the request's model, else the mock's default. */
  model?: string;
  /** Receives one `[mock] ...` line per answered request. Silent when absent. */
  onLog?: (line: string) => void;
}

export const MOCK_HEADER = "x-mock";
export const MOCK_HEADER_VALUE = "ai-json-mode-mock";

/** Error bodies as the providers send them (same as the shared fixtures). */
export const ERROR_BODIES: Readonly<Record<number, string>> = {
  401: '{"error":{"message":"Authentication Fails, Your api key: ****7f3a is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}',
  429: '{"error":{"message":"Rate limit reached for requests","type":"rate_limit_reached_error","param":null,"code":"rate_limit_reached"}}',
  500: '{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":"internal_error"}}',
};

/** The provider-style error body for a status (fixture bodies for 401, 429 and 500). */
export function errorBody(status: number, message?: string): string {
  if (message === undefined && ERROR_BODIES[status]) return ERROR_BODIES[status];
  const type = status >= 500 ? "server_error" : "invalid_request_error";
  const code = status === 404 ? "not_found" : status >= 500 ? "internal_error" : "invalid_request_error";
  return JSON.stringify({
    error: { message: message ?? `mock error: HTTP ${status}`, type, param: null, code },
  });
}

/** The not-JSON body used by `malformed: "not-json"`. */
export const NOT_JSON_BODY = "<html><body><h1>502 Bad Gateway</h1><p>ai-json-mode mock: this body is not JSON</p></body></html>\n";

/** Text of the last user message of an OpenAI chat request (string content or text parts). */
export function lastUserMessage(json: any): string {
  const messages = json && Array.isArray(json.messages) ? json.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!m || m.role !== "user") continue;
    return messageText(m.content);
  }
  return "";
}

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p: any) => (p && typeof p === "object" && typeof p.text === "string" ? p.text : ""))
      .join("");
  }
  return content == null ? "" : String(content);
}

/** The chat mock's answer to a user message. */
export function chatReply(userMessage: string): string {
  return `Mock reply to: ${userMessage}`;
}

/** The JSON-mode mock's JSON for a user message, pretty-printed as DeepSeek does. */
export function jsonModeObject(userMessage: string): string {
  return JSON.stringify({ output: userMessage }, null, 2);
}

/** True when the request asks for JSON output (`response_format: {type: "json_object"}`). */
export function wantsJsonObject(json: any): boolean {
  return !!(json && json.response_format && json.response_format.type === "json_object");
}

// ---------------------------------------------------------------------------

interface Flavor {
  /** Short name used in log lines. */
  name: string;
  defaultModel: string;
  requireAuth: boolean;
  /** Checks beyond "JSON with a messages array"; returns an error message or null. */
  validate(json: any): string | null;
  content(json: any): string;
  completion(a: AnswerParts): object;
  chunk(a: AnswerParts, delta: Record<string, unknown> | null, finish: string | null, usage: object | null): object;
}

interface AnswerParts {
  id: string;
  created: number;
  model: string;
  content: unknown;
  finishReason: string;
  noChoices: boolean;
  promptTokens: number;
  completionTokens: number;
}

/** A rough token count: one per CJK character, one per four other characters. */
function tokens(text: string): number {
  let cjk = 0;
  let other = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if ((c >= 0x3000 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) cjk++;
    else other++;
  }
  return Math.max(1, cjk + Math.ceil(other / 4));
}

function promptText(json: any): string {
  const messages = json && Array.isArray(json.messages) ? json.messages : [];
  return messages.map((m: any) => messageText(m && m.content)).join("\n");
}

const qwenFlavor: Flavor = {
  name: "chat",
  defaultModel: "qwen-max",
  requireAuth: false,
  validate: () => null,
  content: (json) => chatReply(lastUserMessage(json)),
  completion: (a) => ({
    choices: a.noChoices
      ? []
      : [{ message: { role: "assistant", content: a.content }, finish_reason: a.finishReason, index: 0, logprobs: null }],
    object: "chat.completion",
    usage: {
      prompt_tokens: a.promptTokens,
      completion_tokens: a.completionTokens,
      total_tokens: a.promptTokens + a.completionTokens,
      prompt_tokens_details: { cached_tokens: 0 },
    },
    created: a.created,
    system_fingerprint: null,
    model: a.model,
    id: a.id,
  }),
  chunk: (a, delta, finish, usage) => ({
    choices: a.noChoices || delta === null ? [] : [{ delta, finish_reason: finish, index: 0, logprobs: null }],
    object: "chat.completion.chunk",
    usage,
    created: a.created,
    system_fingerprint: null,
    model: a.model,
    id: a.id,
  }),
};

const deepseekFlavor: Flavor = {
  name: "json-mode",
  defaultModel: "deepseek-chat",
  requireAuth: true,
  validate(json) {
    // DeepSeek refuses JSON output mode when no message mentions JSON.
    if (wantsJsonObject(json) && !/json/i.test(promptText(json))) {
      return "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'.";
    }
    return null;
  },
  content(json) {
    const obj = jsonModeObject(lastUserMessage(json));
    return wantsJsonObject(json) ? obj : "```json\n" + obj + "\n```";
  },
  completion: (a) => ({
    id: a.id,
    object: "chat.completion",
    created: a.created,
    model: a.model,
    choices: a.noChoices
      ? []
      : [{ index: 0, message: { role: "assistant", content: a.content }, logprobs: null, finish_reason: a.finishReason }],
    usage: {
      prompt_tokens: a.promptTokens,
      completion_tokens: a.completionTokens,
      total_tokens: a.promptTokens + a.completionTokens,
      prompt_tokens_details: { cached_tokens: 0 },
      prompt_cache_hit_tokens: 0,
      prompt_cache_miss_tokens: a.promptTokens,
    },
    system_fingerprint: "fp_mock_ai_json_mode",
  }),
  chunk: (a, delta, finish, usage) => ({
    id: a.id,
    object: "chat.completion.chunk",
    created: a.created,
    model: a.model,
    system_fingerprint: "fp_mock_ai_json_mode",
    choices: a.noChoices || delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  }),
};

/** Starts the mock chat model (Qwen-shaped answers). */
export function startChatMock(opts: MockOptions = {}): Promise<MockServer> {
  return startMock(qwenFlavor, opts);
}

/** Starts the mock JSON-mode model (DeepSeek-shaped answers). */
export function startJsonModeMock(opts: MockOptions = {}): Promise<MockServer> {
  return startMock(deepseekFlavor, opts);
}

// ---------------------------------------------------------------------------

interface Answer {
  status: number;
  contentType: string;
  /** The body, as the pieces the mock would write without chunkSize (SSE: one per event). */
  pieces: Buffer[];
  streamed: boolean;
}

function startMock(flavor: Flavor, opts: MockOptions): Promise<MockServer> {
  const host = opts.host ?? "127.0.0.1";
  const requests: RecordedRequest[] = [];
  const queue: MockBehavior[] = [];
  let behavior: MockBehavior = opts.behavior ?? {};
  let seq = 0;
  let closed = false;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number | undefined) =>
    !ms || ms <= 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.add(t);
        });

  const log = (line: string) => opts.onLog?.(`[mock] ${flavor.name} ${line}`);

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`internal error: ${err && err.message}`);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "content-type": "application/json", [MOCK_HEADER]: MOCK_HEADER_VALUE });
        res.end(errorBody(500, `mock internal error: ${err && err.message}`));
      } else {
        res.destroy();
      }
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const rec: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: { ...(req.headers as Record<string, string | string[]>) },
      body,
    };
    try {
      rec.json = JSON.parse(body);
    } catch {
      // not JSON: json stays undefined
    }
    requests.push(rec);
    const pathname = rec.path.split("?")[0];

    const finish = (status: number | string) => {
      const model = rec.json && typeof rec.json.model === "string" ? ` model=${rec.json.model}` : "";
      const user = lastUserMessage(rec.json);
      const preview = user ? " " + JSON.stringify(user.length > 60 ? user.slice(0, 57) + "..." : user) : "";
      const auth = rec.headers["authorization"] ? " auth=Bearer ***" : "";
      log(`${rec.method} ${rec.path} -> ${status} in ${Date.now() - started} ms${model}${auth}${preview}`);
    };

    if (rec.method !== "POST" || !pathname.endsWith("/chat/completions")) {
      const text = errorBody(404, `mock: no route for ${rec.method} ${pathname}; the mock answers POST */chat/completions`);
      send(res, 404, "application/json", [Buffer.from(text)], {}, false, () => finish(404));
      return;
    }

    const b = queue.length > 0 ? queue.shift()! : behavior;

    await sleep(b.latencyMs);
    if (closed || res.destroyed) return;

    if (b.malformed === "reset") {
      const sock = req.socket as Socket & { resetAndDestroy?: () => void };
      if (typeof sock.resetAndDestroy === "function") sock.resetAndDestroy();
      else sock.destroy();
      finish("reset");
      return;
    }

    const answer = buildAnswer(b, rec);
    const status = answer.status;
    const onDone = () => finish(b.malformed === "close-mid-body" ? `${status} (closed mid-body)` : status);
    send(res, status, answer.contentType, answer.pieces, b, answer.streamed, onDone);
  }

  function buildAnswer(b: MockBehavior, rec: RecordedRequest): Answer {
    const json = rec.json;
    const jsonAnswer = (status: number, text: string): Answer => ({
      status,
      contentType: "application/json",
      pieces: [Buffer.from(text)],
      streamed: false,
    });

    if (b.body !== undefined) {
      const raw = typeof b.body === "function" ? b.body(rec) : b.body;
      return {
        status: b.status ?? 200,
        contentType: b.contentType ?? "application/json",
        pieces: [Buffer.from(typeof raw === "string" ? Buffer.from(raw, "utf8") : raw)],
        streamed: false,
      };
    }
    const auth = rec.headers["authorization"];
    if (flavor.requireAuth && (typeof auth !== "string" || !/^Bearer\s+\S+/i.test(auth))) {
      return jsonAnswer(401, ERROR_BODIES[401]);
    }
    if (b.status !== undefined && b.status !== 200) return jsonAnswer(b.status, errorBody(b.status));
    if (!json || typeof json !== "object" || !Array.isArray(json.messages)) {
      return jsonAnswer(400, errorBody(400, "mock: the body must be a JSON object with a messages array"));
    }
    const invalid = flavor.validate(json);
    if (invalid) return jsonAnswer(400, errorBody(400, invalid));

    seq++;
    const digest = createHash("sha256").update(`${flavor.name}\n${seq}\n${rec.body}`).digest("hex");
    let content: unknown =
      b.content === undefined ? flavor.content(json) : typeof b.content === "function" ? b.content(rec) : b.content;
    let finishReason = "stop";
    if (b.malformed === "truncated") {
      const cps = Array.from(String(content));
      content = cps.slice(0, Math.floor(cps.length / 2)).join("");
      finishReason = "length";
    } else if (b.malformed === "empty-content") {
      content = "";
    } else if (b.malformed === "content-number") {
      content = 42;
    }
    const parts: AnswerParts = {
      id:
        flavor === deepseekFlavor
          ? `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`
          : `chatcmpl-mock-${digest.slice(0, 24)}`,
      created: Math.floor(Date.now() / 1000),
      model: opts.model ?? (typeof json.model === "string" && json.model ? json.model : flavor.defaultModel),
      content,
      finishReason,
      noChoices: b.malformed === "no-choices",
      promptTokens: tokens(promptText(json)),
      completionTokens: typeof content === "string" ? tokens(content) : 1,
    };
    const contentType = b.contentType;

    if (json.stream === true) {
      const events: Buffer[] = [];
      const event = (data: string) => events.push(Buffer.from(`data: ${data}\n\n`));
      if (b.malformed === "not-json") {
        event("this event is not JSON (ai-json-mode mock)");
      } else {
        event(JSON.stringify(flavor.chunk(parts, { content: "", role: "assistant" }, null, null)));
        const pieces = typeof parts.content === "string" ? splitContent(parts.content) : [parts.content];
        pieces.forEach((piece, i) => {
          const last = i === pieces.length - 1;
          event(JSON.stringify(flavor.chunk(parts, { content: piece }, last ? parts.finishReason : null, null)));
        });
        if (json.stream_options && json.stream_options.include_usage === true) {
          const full = flavor.completion(parts) as { usage: object };
          event(JSON.stringify(flavor.chunk(parts, null, null, full.usage)));
        }
      }
      event("[DONE]");
      return { status: 200, contentType: contentType ?? "text/event-stream;charset=UTF-8", pieces: events, streamed: true };
    }

    const text = b.malformed === "not-json" ? NOT_JSON_BODY : JSON.stringify(flavor.completion(parts));
    return { status: 200, contentType: contentType ?? "application/json", pieces: [Buffer.from(text)], streamed: false };
  }

  function send(
    res: ServerResponse,
    status: number,
    contentType: string,
    pieces: Buffer[],
    b: MockBehavior,
    streamed: boolean,
    onDone: () => void,
  ): void {
    let body = Buffer.concat(pieces);
    const headers: Record<string, string> = { "content-type": contentType, [MOCK_HEADER]: MOCK_HEADER_VALUE };
    if (b.gzip) {
      body = gzipSync(body);
      pieces = [body];
      headers["content-encoding"] = "gzip";
    }
    if (streamed) headers["cache-control"] = "no-cache";
    else headers["content-length"] = String(body.length);
    Object.assign(headers, b.headers ?? {});

    if (b.chunkSize && b.chunkSize > 0) {
      pieces = [];
      for (let i = 0; i < body.length; i += b.chunkSize) pieces.push(body.subarray(i, i + b.chunkSize));
    }
    const midBody = b.malformed === "close-mid-body";
    if (midBody) {
      // Keep only the pieces (cut as needed) that make up the first half of the body.
      let budget = Math.floor(body.length / 2);
      const half: Buffer[] = [];
      for (const p of pieces) {
        if (budget <= 0) break;
        half.push(p.subarray(0, budget));
        budget -= Math.min(p.length, budget);
      }
      pieces = half;
    }

    res.writeHead(status, headers);
    const write = (p: Buffer) => new Promise<void>((resolve) => (p.length ? res.write(p, () => resolve()) : resolve()));
    (async () => {
      if (pieces.length === 0 || (pieces.length === 1 && !midBody)) {
        if (pieces.length && !midBody) res.end(pieces[0]);
        else res.flushHeaders();
      } else {
        for (let i = 0; i < pieces.length; i++) {
          if (closed || res.destroyed) return;
          await write(pieces[i]);
          if (i < pieces.length - 1) await sleep(b.chunkDelayMs);
        }
      }
      if (midBody) {
        // Let the half body reach the socket, then cut the connection.
        await sleep(5);
        res.destroy();
      } else if (!res.writableEnded) {
        res.end();
      }
      onDone();
    })().catch(() => res.destroy());
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
      resolve({
        url: `http://${urlHost}:${port}`,
        port,
        requests,
        set(b: MockBehavior) {
          behavior = b ?? {};
        },
        enqueue(b: MockBehavior) {
          queue.push(b ?? {});
        },
        close() {
          if (closed) return Promise.resolve();
          closed = true;
          for (const t of timers) clearTimeout(t);
          timers.clear();
          return new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          });
        },
      });
    });
  });
}

/** Splits streamed content into deterministic pieces of up to 8 characters. */
function splitContent(content: string): string[] {
  const cps = Array.from(content);
  if (cps.length === 0) return [""];
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += 8) out.push(cps.slice(i, i + 8).join(""));
  return out;
}
