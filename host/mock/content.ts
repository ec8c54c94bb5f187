// What the mocks say: error bodies as the providers send them, the answers
// derived from the request, and token counts.

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
export const NOT_JSON_BODY =
  "<html><body><h1>502 Bad Gateway</h1><p>ai-json-mode mock: this body is not JSON</p></body></html>\n";

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
    return content.map((p: any) => (p && typeof p === "object" && typeof p.text === "string" ? p.text : "")).join("");
  }
  return content == null ? "" : String(content);
}

/** All message texts of a request, one per line. */
export function promptText(json: any): string {
  const messages = json && Array.isArray(json.messages) ? json.messages : [];
  return messages.map((m: any) => messageText(m && m.content)).join("\n");
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

/** True when a system (or developer) message mentions JSON: the request asks for JSON in its prompt. */
export function systemAsksJson(json: any): boolean {
  const messages = json && Array.isArray(json.messages) ? json.messages : [];
  return messages.some(
    (m: any) => m && (m.role === "system" || m.role === "developer") && /json/i.test(messageText(m.content)),
  );
}

/**
 * Request header that tells the chat mock how to answer a request that asks
 * for JSON (see JsonStyle); a MockBehavior's `json` wins over it.
 */
export const JSON_STYLE_HEADER = "x-mock-json";

/**
 * How the chat mock answers a request that asks for JSON (a
 * `response_format` of type json_object, or a system message that mentions
 * JSON): `obey` the JSON object alone, `fenced` the object in a ```json
 * fence, `disobey` prose as if nothing had been asked.
 */
export type JsonStyle = "obey" | "fenced" | "disobey";
export const JSON_STYLES: readonly JsonStyle[] = ["obey", "fenced", "disobey"];

/** The chat mock's JSON answer: the JSON-mode mock's object for the prose reply, so both strategies give the same JSON. */
export function chatJsonReply(userMessage: string): string {
  return jsonModeObject(chatReply(userMessage));
}

/** A rough token count: one per CJK character, one per four other characters. */
export function tokens(text: string): number {
  let cjk = 0;
  let other = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if ((c >= 0x3000 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) cjk++;
    else other++;
  }
  return Math.max(1, cjk + Math.ceil(other / 4));
}

/** Splits streamed content into deterministic pieces of up to 8 characters. */
export function splitContent(content: string): string[] {
  const cps = Array.from(content);
  if (cps.length === 0) return [""];
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += 8) out.push(cps.slice(i, i + 8).join(""));
  return out;
}
