// The ai-json-mode configuration: parsing and validation. Every error names
// the field and what was expected; unknown fields only warn.

import { JsonValue, jsonString, serializeJson, stringifyJson, jsonKindName as kindName } from "../json";
import { ClusterClient, DEFAULT_MAX_BODY_BYTES, FQDNCluster, ParseResult, splitUrl } from "../higress";
import { Schema, SchemaCompileResult, compileSchema } from "../jsonschema";

export const DEFAULT_TIMEOUT_MS: i64 = 50000;
export const MAX_TIMEOUT_MS: i64 = 600000;

/**
 * Time budget of all attempts of one conversion, from the pause on. Once the
 * upstream response is complete only Envoy's stream idle timeout (180 s in
 * Higress) bounds the paused stream; the default leaves a minute of margin.
 */
export const DEFAULT_TOTAL_TIMEOUT_MS: i64 = 120000;
export const MIN_TOTAL_TIMEOUT_MS: i64 = 1000;
/** Higress's default stream idle timeout. */
export const IDLE_TIMEOUT_MS: i64 = 180000;
/** No new attempt starts with less than this left of totalTimeout. */
export const MIN_ATTEMPT_MS: i64 = 1000;

/** Largest response body collected: 10 MiB by default (the collector's own default), 1 KiB to 64 MiB. */
export { DEFAULT_MAX_BODY_BYTES } from "../higress";
export const MIN_MAX_BODY_BYTES: i64 = 1024;
export const MAX_MAX_BODY_BYTES: i64 = 64 * 1024 * 1024;

/** The lesson's JSON-mode instruction, in English, with the `output` key spelled right. */
export const DEFAULT_SYSTEM_PROMPT =
  'Please output a JSON object that follows my JSON definition. Reply with the JSON object only: no prose, no Markdown. Example: {"output": "xxxx"}';

/** The default prompt when a jsonSchema is set (the schema follows it). */
export const SCHEMA_SYSTEM_PROMPT =
  "Please output JSON that follows the JSON Schema below. Reply with the JSON only: no prose, no Markdown.";

export const DEFAULT_MAX_RETRIES: i64 = 2;

const KNOWN_FIELDS: string[] = [
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
  "maxBodyBytes",
  "totalTimeout",
  "strategy",
];

/** Where the JSON goes: the whole body, or inside the original OpenAI completion. */
export enum OutputMode {
  Body,
  OpenAI,
}
export enum FailureMode {
  Passthrough,
  Error,
}
export enum StreamingMode {
  Convert,
  Passthrough,
}
/**
 * How the JSON is obtained. Rewrite: the chat request goes untouched and the
 * JSON-mode model rewrites every answer (two calls). Inject: the chat request
 * asks for JSON itself (system prompt, response_format); the JSON-mode model
 * is called only to repair an answer that is not usable JSON.
 */
export enum Strategy {
  Rewrite,
  Inject,
}

export class JsonModeConfig {
  url: string = "";
  model: string = "";
  apiKey: string = "";
  serviceFQDN: string = "";
  servicePort: i64 = 443;
  /** The call's :authority; "" = the url's host, else serviceFQDN. */
  serviceHost: string = "";
  timeout: u32 = <u32>DEFAULT_TIMEOUT_MS;
  /** Budget of all attempts together, in ms (each attempt gets min(timeout, what is left)). */
  totalTimeout: i64 = DEFAULT_TOTAL_TIMEOUT_MS;
  /** Largest response body the plugin collects; larger ones pass through byte for byte. */
  maxBodyBytes: i64 = DEFAULT_MAX_BODY_BYTES;
  systemPrompt: string = DEFAULT_SYSTEM_PROMPT;
  /** Answers must validate against this schema (also shown in the prompt). */
  schema: Schema | null = null;
  maxRetries: i32 = <i32>DEFAULT_MAX_RETRIES;
  /** true: the call carries response_format {"type":"json_object"}. */
  jsonObjectFormat: bool = true;
  /** 0 = not sent. */
  maxTokens: i64 = 0;
  /** NaN = not sent. */
  temperature: f64 = NaN;
  output: OutputMode = OutputMode.Body;
  onFailure: FailureMode = FailureMode.Passthrough;
  streaming: StreamingMode = StreamingMode.Convert;
  strategy: Strategy = Strategy.Rewrite;
  /** Derived: the system prompt as sent (with the schema appended when there is one). */
  prompt: string = DEFAULT_SYSTEM_PROMPT;
  /** Derived: `prompt` as a JSON string token, written as it is into every request that carries it. */
  promptJson: Uint8Array = new Uint8Array(0);
  /** Derived: the client for the FQDN cluster `outbound|<servicePort>||<serviceFQDN>`. */
  client: ClusterClient = new ClusterClient(new FQDNCluster("", 0));
  /** Derived: the :authority the call carries. */
  authority: string = "";
}

/**
 * Short description of a bad value for an error line (never used for apiKey):
 * strings are cut at 40 characters and written as JSON string literals, so
 * that a control character (a CR or LF in the value) cannot split the line.
 */
function shown(v: JsonValue): string {
  if (v.isString()) return quoted(v.length > 40 ? v.asString().substring(0, 40) + "..." : v.asString());
  if (v.isNumber()) return v.rawText();
  return kindName(v);
}

/** `s` as a JSON string literal (control characters escaped: one line). */
export function quoted(s: string): string {
  return stringifyJson(jsonString(s));
}

/**
 * Position of the first control character (U+0000-U+001F, U+007F) in `s`, or
 * -1. Such characters have no place in these fields: in a header value (the
 * API key, the authority) a CR or LF would split the header, and YAML block
 * scalars (`|`) leave a trailing newline that is easy to miss.
 */
export function controlCharacterAt(s: string): i32 {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f) return i;
  }
  return -1;
}

/** "U+000A" */
function codePointName(c: i32): string {
  let hex = c.toString(16).toUpperCase();
  while (hex.length < 4) hex = "0" + hex;
  return "U+" + hex;
}

/**
 * The problem with a control character in field `name` ("" when there is
 * none). The value itself is shown (escaped) except for `secret` fields.
 */
function controlCharacterProblem(name: string, s: string, secret: bool): string {
  const at = controlCharacterAt(s);
  if (at < 0) return "";
  const c = s.charCodeAt(at);
  const where = at == s.length - 1 ? "at the end" : "at position " + at.toString();
  let msg = name + ": control character " + codePointName(c) + " " + where + " is not allowed";
  if (c == 0x0a && at == s.length - 1)
    msg += " (a YAML block scalar `|` keeps a trailing newline: use a quoted string or `>-`)";
  if (!secret) msg += "; got " + quoted(s.length > 40 ? s.substring(0, 40) + "..." : s);
  return msg;
}

/**
 * `url` with every non-ASCII character of its path and query written as
 * percent-encoded UTF-8 (as browsers turn an IRI into a URI): the request
 * line must be ASCII. Returns null when the host part is not ASCII (an
 * internationalized host must be given in its punycode form) or the text
 * holds a lone surrogate.
 */
export function percentEncodeUrl(url: string): string | null {
  let pathStart = 0;
  const sep = url.indexOf("://");
  if (sep > 0 && url.charCodeAt(0) != 47) {
    pathStart = url.length;
    for (let i = sep + 3; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c == 47 || c == 63 || c == 35) {
        pathStart = i;
        break;
      }
    }
    for (let i = 0; i < pathStart; i++) {
      if (url.charCodeAt(i) >= 0x80) return null;
    }
  }
  let ascii = true;
  for (let i = pathStart; i < url.length; i++) {
    if (url.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return url;
  const parts = new Array<string>();
  parts.push(url.substring(0, pathStart));
  for (let i = pathStart; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c < 0x80) {
      parts.push(String.fromCharCode(c));
      continue;
    }
    let cp: i32 = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < url.length) {
      const d = url.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        return null;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      return null;
    }
    const b = String.UTF8.encode(String.fromCodePoint(cp));
    const bytes = Uint8Array.wrap(b);
    for (let k = 0; k < bytes.length; k++) parts.push("%" + hexByte(bytes[k]));
  }
  return parts.join("");
}

function hexByte(b: u8): string {
  const digits = "0123456789ABCDEF";
  return digits.charAt(b >> 4) + digits.charAt(b & 15);
}

/**
 * Schemas compiled lately, by the identity of their source value: every rule
 * inherits the global `jsonSchema` as the very same value (rules.ts overlay),
 * so it is compiled once per configuration, not once per rule; so is the
 * prompt text built from it. A few entries, most recent first (a rule with a
 * schema of its own between rules that inherit does not evict the global one).
 */
const SCHEMA_CACHE: i32 = 4;
let cachedSources = new Array<JsonValue>();
let cachedResults = new Array<SchemaCompileResult>();
let cachedPromptBase: string = "";
let cachedPromptSchema: Schema | null = null;
let cachedPrompt: string = "";

function compileCached(source: JsonValue): SchemaCompileResult {
  let found = -1;
  for (let i = 0; i < cachedSources.length; i++) {
    if (cachedSources[i] === source) {
      found = i;
      break;
    }
  }
  let compiled: SchemaCompileResult;
  if (found >= 0) {
    compiled = cachedResults[found];
    cachedSources.splice(found, 1);
    cachedResults.splice(found, 1);
  } else {
    compiled = compileSchema(source);
  }
  cachedSources.unshift(source);
  cachedResults.unshift(compiled);
  if (cachedSources.length > SCHEMA_CACHE) {
    cachedSources.pop();
    cachedResults.pop();
  }
  return compiled;
}

let cachedTokenPrompt: string = "";
let cachedToken: Uint8Array = new Uint8Array(0);

/**
 * `prompt` as a JSON string token: built once for the rules that share a
 * prompt (a schema's prompt can be large; every rule holds the same token).
 */
function promptToken(prompt: string): Uint8Array {
  if (cachedToken.length == 0 || prompt != cachedTokenPrompt) {
    cachedTokenPrompt = prompt;
    cachedToken = serializeJson(jsonString(prompt));
  }
  return cachedToken;
}

/** The prompt as sent: `base` with the schema's text appended (built once per base and schema). */
function promptWith(base: string, schema: Schema): string {
  if (cachedPromptSchema !== schema || cachedPromptBase != base) {
    cachedPromptSchema = schema;
    cachedPromptBase = base;
    cachedPrompt = base + "\n\nThe JSON must be valid against this JSON Schema:\n" + schema.describe();
  }
  return cachedPrompt;
}

class Fields {
  /** First wrong value found. */
  error: string = "";
  /** First required field found missing (a config may be completed by a rule). */
  missing: string = "";
  constructor(public json: JsonValue) {}

  /** Records the first problem ("" is none). */
  fail(message: string): void {
    if (this.error.length == 0 && message.length > 0) this.error = message;
  }

  /** A required, non-empty string. `example` completes the error message. */
  requiredString(name: string, example: string): string {
    const v = this.json.get(name);
    if (v === null) {
      if (this.missing.length == 0) this.missing = name + ": required string, e.g. " + example;
      return "";
    }
    if (!v.isString()) {
      this.fail(name + ": required string, e.g. " + example + "; got " + kindName(v));
      return "";
    }
    const s = v.asString();
    if (s.trim().length == 0) {
      this.fail(name + ": required string, e.g. " + example + "; got an empty string");
      return "";
    }
    return s;
  }

  optionalString(name: string, fallback: string, example: string): string {
    const v = this.json.get(name);
    if (v === null) return fallback;
    if (!v.isString()) {
      this.fail(name + ": expected a string, e.g. " + example + "; got " + kindName(v));
      return fallback;
    }
    return v.asString();
  }

  /** An optional integer in [min, max]. */
  optionalInteger(name: string, fallback: i64, min: i64, max: i64, what: string): i64 {
    const v = this.json.get(name);
    if (v === null) return fallback;
    if (!v.isNumber() || !v.isInteger()) {
      this.fail(
        name + ": expected " + what + " from " + min.toString() + " to " + max.toString() + "; got " + shown(v),
      );
      return fallback;
    }
    const n = v.asNumber();
    if (n < <f64>min || n > <f64>max) {
      this.fail(
        name + ": expected " + what + " from " + min.toString() + " to " + max.toString() + "; got " + shown(v),
      );
      return fallback;
    }
    return <i64>n;
  }

  /** An optional string that must be one of `allowed`; returns its index. */
  optionalEnum(name: string, allowed: string[], fallback: i32): i32 {
    const v = this.json.get(name);
    if (v === null) return fallback;
    const list = '"' + allowed.join('" or "') + '"';
    if (!v.isString()) {
      this.fail(name + ": expected " + list + "; got " + shown(v));
      return fallback;
    }
    const i = allowed.indexOf(v.asString());
    if (i < 0) {
      this.fail(name + ": expected " + list + "; got " + shown(v));
      return fallback;
    }
    return i;
  }

  /** An optional number in [min, max]; NaN when absent. */
  optionalNumber(name: string, min: f64, max: f64): f64 {
    const v = this.json.get(name);
    if (v === null) return NaN;
    const n = v.isNumber() ? v.asNumber() : NaN;
    if (!v.isNumber() || !(n >= min && n <= max)) {
      this.fail(name + ": expected a number from " + fmt(min) + " to " + fmt(max) + "; got " + shown(v));
      return NaN;
    }
    return n;
  }
}

function fmt(n: f64): string {
  return n == Math.floor(n) ? (<i64>n).toString() : n.toString();
}

/** Parses one effective configuration (global fields, or global overlaid with a rule). */
export function parseJsonModeConfig(json: JsonValue): ParseResult<JsonModeConfig> {
  if (!json.isObject()) return ParseResult.fail<JsonModeConfig>("configuration: expected a JSON object");
  const f = new Fields(json);
  const c = new JsonModeConfig();
  c.url = f.requiredString("url", '"https://api.deepseek.com/v1/chat/completions" or "/v1/chat/completions"');
  c.model = f.requiredString("model", '"deepseek-chat"');
  c.apiKey = f.requiredString("apiKey", '"sk-..."');
  c.serviceFQDN = f.requiredString("serviceFQDN", '"deepseek.dns"');

  f.fail(controlCharacterProblem("apiKey", c.apiKey, true));
  f.fail(controlCharacterProblem("model", c.model, false));
  f.fail(controlCharacterProblem("serviceFQDN", c.serviceFQDN, false));
  f.fail(controlCharacterProblem("url", c.url, false));
  if (c.url.length > 0 && controlCharacterAt(c.url) < 0) {
    const encoded = percentEncodeUrl(c.url);
    if (encoded === null) {
      f.fail(
        "url: the host must be ASCII (write an internationalized host in its punycode form) and the text valid Unicode; got " +
          shown(json.get("url")!),
      );
    } else {
      c.url = encoded;
    }
  }
  const u = c.url.length > 0 ? splitUrl(c.url) : null;
  if (c.url.length > 0 && u === null) {
    f.fail(
      'url: expected an absolute http(s) URL or a path starting with "/", e.g. "https://api.deepseek.com/v1/chat/completions"; got ' +
        shown(json.get("url")!),
    );
  }
  c.servicePort = f.optionalInteger(
    "servicePort",
    u !== null && u.scheme == "http" ? 80 : 443,
    1,
    65535,
    "an integer port",
  );
  c.serviceHost = f.optionalString("serviceHost", "", '"api.deepseek.com"');
  f.fail(controlCharacterProblem("serviceHost", c.serviceHost, false));
  c.timeout = <u32>(
    f.optionalInteger("timeout", DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS, "an integer number of milliseconds")
  );
  c.totalTimeout = f.optionalInteger(
    "totalTimeout",
    DEFAULT_TOTAL_TIMEOUT_MS,
    MIN_TOTAL_TIMEOUT_MS,
    MAX_TIMEOUT_MS,
    "an integer number of milliseconds",
  );
  c.maxBodyBytes = f.optionalInteger(
    "maxBodyBytes",
    DEFAULT_MAX_BODY_BYTES,
    MIN_MAX_BODY_BYTES,
    MAX_MAX_BODY_BYTES,
    "an integer number of bytes",
  );
  const prompt = json.get("systemPrompt");
  if (prompt !== null) {
    if (!prompt.isString() || prompt.asString().trim().length == 0) {
      f.fail("systemPrompt: expected a non-empty string; got " + shown(prompt));
    } else {
      c.systemPrompt = prompt.asString();
    }
  }
  c.maxRetries = <i32>f.optionalInteger("maxRetries", DEFAULT_MAX_RETRIES, 0, 5, "an integer");
  c.jsonObjectFormat = f.optionalEnum("responseFormat", ["json_object", "text"], 0) == 0;
  c.maxTokens = f.optionalInteger("maxTokens", 0, 1, 1000000, "an integer number of tokens");
  c.temperature = f.optionalNumber("temperature", 0, 2);
  c.output = <OutputMode>f.optionalEnum("output", ["body", "openai"], 0);
  c.onFailure = <FailureMode>f.optionalEnum("onFailure", ["passthrough", "error"], 0);
  c.streaming = <StreamingMode>f.optionalEnum("streaming", ["convert", "passthrough"], 0);
  c.strategy = <Strategy>f.optionalEnum("strategy", ["rewrite", "inject"], 0);
  const schema = json.get("jsonSchema");
  if (schema !== null) {
    if (!schema.isObject()) {
      f.fail(
        'jsonSchema: expected a JSON Schema object, e.g. {"type": "object", "required": ["output"]}; got ' +
          shown(schema),
      );
    } else {
      const compiled = compileCached(schema);
      if (compiled.ok && compiled.schema !== null) c.schema = compiled.schema;
      else f.fail("jsonSchema: " + compiled.error);
    }
  }
  if (f.error.length > 0) return ParseResult.fail<JsonModeConfig>(f.error);
  if (f.missing.length > 0) return ParseResult.incomplete<JsonModeConfig>(f.missing);

  c.authority = c.serviceHost.length > 0 ? c.serviceHost : u!.host.length > 0 ? u!.host : c.serviceFQDN;
  c.client = new ClusterClient(new FQDNCluster(c.serviceFQDN, c.servicePort, c.authority));
  c.prompt = c.systemPrompt;
  if (c.schema !== null) {
    // The default prompt's {"output": ...} example would contradict the schema.
    c.prompt = promptWith(prompt === null ? SCHEMA_SYSTEM_PROMPT : c.systemPrompt, c.schema!);
  }
  c.promptJson = promptToken(c.prompt);

  const result = new ParseResult<JsonModeConfig>(c);
  const budget = timeBudgetWarnings(c);
  for (let i = 0; i < budget.length; i++) result.warnings.push(budget[i]);
  const keys = json.keys();
  for (let i = 0; i < keys.length; i++) {
    if (!KNOWN_FIELDS.includes(keys[i])) result.warnings.push("unknown field " + quoted(keys[i]) + " ignored");
  }
  return result;
}

/** Why a configuration's timeouts may not fit Higress's stream idle timeout (one line each; none when they fit). */
export function timeBudgetWarnings(c: JsonModeConfig): string[] {
  const out = new Array<string>();
  if (c.totalTimeout >= IDLE_TIMEOUT_MS) {
    out.push(
      "totalTimeout: " +
        c.totalTimeout.toString() +
        " ms is not below Higress's stream idle timeout (" +
        IDLE_TIMEOUT_MS.toString() +
        " ms by default): a response paused that long ends in a 504 from the gateway " +
        "unless its idle timeout is raised",
    );
  }
  if (<i64>c.timeout >= c.totalTimeout) {
    out.push(
      "timeout: " +
        c.timeout.toString() +
        " ms is not below totalTimeout (" +
        c.totalTimeout.toString() +
        " ms): every attempt is cut to what is left of totalTimeout, and one that runs out leaves no time for a retry",
    );
  }
  return out;
}
