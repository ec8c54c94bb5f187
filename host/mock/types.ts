// Public types of the mock LLM servers.

import type { JsonStyle } from "./content.ts";

export type { JsonStyle } from "./content.ts";

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
  /**
   * The chat mock, asked for JSON (a response_format json_object, or a system
   * message that mentions JSON): `obey` (default) answers the JSON object,
   * `fenced` the object in a ```json fence, `disobey` prose. Wins over the
   * request header x-mock-json.
   */
  json?: JsonStyle;
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
  "truncated" | "not-json" | "no-choices" | "empty-content" | "content-number" | "reset" | "close-mid-body";

export const MALFORMED_KINDS: readonly MalformedKind[] = [
  "truncated",
  "not-json",
  "no-choices",
  "empty-content",
  "content-number",
  "reset",
  "close-mid-body",
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
