// ai-json-mode: the request's story, top to bottom.
//
//   request headers   drop accept-encoding (the upstream answers uncompressed);
//                     leave our own calls (x-ai-json-mode) alone
//   response headers  hold 200 + JSON (or SSE) + uncompressed responses; let the rest pass
//   response body     read the answer's content, pause, call the JSON-mode model
//   call answer       validate; retry on a bad answer; replace the body, fix the
//                     headers, resume
//
// On any failure the client gets the original response byte for byte (or, with
// onFailure: error, a 502 JSON error), the stream is resumed exactly once, and
// one warn line says why.

import {
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  HeaderPair,
  HttpCallResponse,
  HttpCallTarget,
  LogLevelValues,
  WasmResultValues,
  wasmResultName,
} from "../proxy";
import {
  HttpContext,
  ParseConfigBy,
  ProcessRequestHeadersBy,
  ProcessResponseBodyBy,
  ProcessResponseHeadersBy,
  SetCtx,
  StreamState,
} from "../higress";
import { JsonValue, asciiLower, jsonString } from "../json";
import { FailureMode, JsonModeConfig, OutputMode, StreamingMode, parseJsonModeConfig } from "./config";
import {
  Attempt,
  NOT_COMPLETION,
  buildErrorBody,
  buildJsonModeRequest,
  buildOpenAIOutput,
  readCompletionContent,
  readJsonModeAnswer,
  redact,
} from "./completion";
import { Failure, FailureCode } from "./failure";
import { buildSseOutput, collectSse } from "./sse";
import { count } from "./metrics";

export const PLUGIN_NAME = "ai-json-mode";
/** Marks the plugin's own calls; a request carrying it is never processed (no loops). */
export const LOOP_HEADER = "x-ai-json-mode";

export function register(): void {
  SetCtx<JsonModeConfig>(PLUGIN_NAME, [
    ParseConfigBy<JsonModeConfig>(parseJsonModeConfig),
    ProcessRequestHeadersBy<JsonModeConfig>(onRequestHeaders),
    ProcessResponseHeadersBy<JsonModeConfig>(onResponseHeaders),
    ProcessResponseBodyBy<JsonModeConfig>(onResponseBody),
  ]);
}

/** Per-stream state: what kind of response is held. */
class JsonModeState extends StreamState {
  /** The response is an SSE stream (text/event-stream). */
  sse: bool = false;
}

function state(ctx: HttpContext<JsonModeConfig>): JsonModeState {
  const s = ctx.state;
  if (s !== null && s instanceof JsonModeState) return changetype<JsonModeState>(s);
  const fresh = new JsonModeState();
  ctx.setState(fresh);
  return fresh;
}

function onRequestHeaders(ctx: HttpContext<JsonModeConfig>, config: JsonModeConfig): FilterHeadersStatusValues {
  if (ctx.getRequestHeader(LOOP_HEADER) !== null) {
    ctx.log.debug("stream " + ctx.id.toString() + ": own JSON-mode call, left alone");
    count("passthrough.loop_guard");
    ctx.disable();
    return FilterHeadersStatusValues.Continue;
  }
  ctx.removeRequestHeader("accept-encoding");
  return FilterHeadersStatusValues.Continue;
}

/** The media type of a content-type value, lower-case, without parameters. */
export function mediaType(value: string): string {
  let media = value;
  const semi = media.indexOf(";");
  if (semi >= 0) media = media.substring(0, semi);
  return asciiLower(media.trim());
}

function onResponseHeaders(ctx: HttpContext<JsonModeConfig>, config: JsonModeConfig): FilterHeadersStatusValues {
  const reason = skipReason(ctx, config);
  if (reason.length > 0) {
    ctx.log.debug("stream " + ctx.id.toString() + ": response passes untouched: " + reason);
    ctx.dontReadResponseBody();
    return FilterHeadersStatusValues.Continue;
  }
  // Hold the headers: with ABI 0.2.100 the body callbacks still arrive.
  return FilterHeadersStatusValues.StopIteration;
}

/** Why a response is not for us ("" when it is); counts the passthrough. */
function skipReason(ctx: HttpContext<JsonModeConfig>, config: JsonModeConfig): string {
  if (ctx.responseHeadersEndOfStream) {
    count("passthrough.no_body");
    return "no body";
  }
  const status = ctx.getResponseHeader(":status");
  if (status === null || status != "200") {
    count("passthrough.status");
    return "status " + (status === null ? "missing" : status);
  }
  const encoding = ctx.getResponseHeader("content-encoding");
  if (encoding !== null && encoding.length > 0 && asciiLower(encoding) != "identity") {
    count("passthrough.content_encoding");
    return "content-encoding " + encoding;
  }
  const type = ctx.getResponseHeader("content-type");
  const media = type === null ? "" : mediaType(type);
  if (media == "application/json") return "";
  if (media == "text/event-stream") {
    if (config.streaming == StreamingMode.Passthrough) {
      count("passthrough.streaming");
      return "stream (streaming: passthrough)";
    }
    state(ctx).sse = true;
    return "";
  }
  count("passthrough.content_type");
  return "content-type " + (type === null ? "missing" : type);
}

function onResponseBody(
  ctx: HttpContext<JsonModeConfig>,
  config: JsonModeConfig,
  body: Uint8Array,
): FilterDataStatusValues {
  const job = new JsonModeCall(ctx, config);
  if (state(ctx).sse) {
    const sse = collectSse(body);
    if (!sse.ok) return job.fail(new Failure(FailureCode.UpstreamNotJson, "upstream stream: " + sse.reason));
    if (sse.content.trim().length == 0)
      return job.fail(new Failure(FailureCode.EmptyContent, "upstream stream carried no content"));
    job.stream = true;
    job.first = sse.first;
    job.usage = sse.usage;
    job.content = jsonString(sse.content);
  } else {
    const content = readCompletionContent(body);
    if (content.code == NOT_COMPLETION) {
      // Some other JSON API behind the same route: not ours, and no failure.
      ctx.log.debug("stream " + ctx.id.toString() + ": response passes untouched: " + content.reason);
      count("passthrough.not_completion");
      return FilterDataStatusValues.Continue;
    }
    if (!content.ok) return job.fail(new Failure(content.code, "upstream " + content.reason));
    job.content = content.content;
    job.completion = content.completion;
  }
  if (!job.send()) return FilterDataStatusValues.Continue;
  return FilterDataStatusValues.StopIterationAndBuffer;
}

/** One conversion: the paused stream, its calls to the JSON-mode model, and how it ends. */
class JsonModeCall extends HttpCallTarget {
  /** The upstream's content, as a JSON string value. */
  content: JsonValue | null = null;
  /** The upstream completion (non-stream responses). */
  completion: JsonValue | null = null;
  /** SSE response: its first chunk and usage. */
  stream: bool = false;
  first: JsonValue | null = null;
  usage: JsonValue | null = null;
  /** Earlier bad answers, replayed on retries. */
  history: Attempt[] = [];

  constructor(
    public ctx: HttpContext<JsonModeConfig>,
    public config: JsonModeConfig,
  ) {
    super();
  }

  private where(): string {
    return "stream " + this.ctx.id.toString() + ": ";
  }

  /**
   * Dispatches one call. Returns false when the host refused it: the failure
   * has then been applied (the caller lets the response continue).
   */
  send(): bool {
    const config = this.config;
    const request = buildJsonModeRequest(config, this.content!, this.history);
    const headers = [
      new HeaderPair(":authority", config.authority),
      new HeaderPair("content-type", "application/json"),
      new HeaderPair("authorization", "Bearer " + config.apiKey),
      new HeaderPair(LOOP_HEADER, "1"),
    ];
    const d = config.client.post(this.ctx, config.url, headers, request, this, config.timeout);
    if (d.result != WasmResultValues.Ok) {
      this.fail(
        new Failure(
          FailureCode.CallFailed,
          "call to " +
            config.client.cluster.clusterName() +
            " refused: " +
            wasmResultName(d.result) +
            " (is the service registered under that name?)",
        ),
      );
      return false;
    }
    if (this.ctx.log.enabled(LogLevelValues.debug)) {
      this.ctx.log.debug(
        this.where() +
          "paused; JSON-mode call " +
          d.token.toString() +
          " (attempt " +
          (this.history.length + 1).toString() +
          ") to " +
          config.client.cluster.clusterName(),
      );
    }
    return true;
  }

  onHttpCallResponse(response: HttpCallResponse): void {
    const answer = readJsonModeAnswer(this.config, response.status, response.body);
    if (answer.ok) {
      this.succeed(answer.json!, answer.usage);
      return;
    }
    const failure = answer.failure!;
    if (answer.retryable && this.history.length < this.config.maxRetries) {
      this.history.push(new Attempt(answer.answer, failure.reason));
      count("retried");
      this.ctx.log.info(
        this.where() +
          "retrying (" +
          this.history.length.toString() +
          " of " +
          this.config.maxRetries.toString() +
          "): " +
          redact(failure.reason, this.config.apiKey),
      );
      if (this.send()) return;
      return; // send() applied the failure and resumed
    }
    this.fail(failure);
  }

  /** Replaces the body with the converted answer and resumes. */
  private succeed(json: Uint8Array, callUsage: JsonValue | null): void {
    const ctx = this.ctx;
    let body: Uint8Array;
    let type = "application/json";
    if (this.config.output == OutputMode.OpenAI) {
      if (this.stream) {
        body = buildSseOutput(this.first, json, this.usage, callUsage);
        type = "text/event-stream";
      } else {
        body = buildOpenAIOutput(this.completion!, json, callUsage);
      }
    } else {
      body = json;
    }
    if (!ctx.replaceResponseBody(body)) {
      this.fail(new Failure(FailureCode.Internal, "the host refused the new body"));
      return;
    }
    ctx.replaceResponseHeader("content-type", type);
    ctx.replaceResponseHeader("content-length", body.length.toString());
    ctx.replaceResponseHeader("mode", "json");
    count("converted");
    ctx.log.info(
      this.where() +
        "converted to JSON (" +
        json.length.toString() +
        " bytes" +
        (this.history.length > 0 ? ", after " + this.history.length.toString() + " retries" : "") +
        ")",
    );
    this.finish();
  }

  /**
   * Ends the conversion without a result: the original response continues
   * untouched, or (onFailure: error) becomes a 502 JSON error. Returns the body
   * action for a failure found during the body callback.
   */
  fail(failure: Failure): FilterDataStatusValues {
    const ctx = this.ctx;
    failure.reason = redact(failure.reason, this.config.apiKey);
    count("failed." + failure.code);
    if (this.config.onFailure == FailureMode.Error) {
      const body = buildErrorBody(failure);
      if (ctx.replaceResponseBody(body)) {
        ctx.replaceResponseHeader(":status", "502");
        ctx.replaceResponseHeader("content-type", "application/json");
        ctx.replaceResponseHeader("content-length", body.length.toString());
        count("error_response");
        ctx.log.warn(this.where() + "answered 502 " + failure.code + ": " + failure.reason);
        this.finish();
        return FilterDataStatusValues.Continue;
      }
    }
    count("passthrough." + failure.code);
    ctx.log.warn(this.where() + "passthrough (" + failure.code + "): " + failure.reason);
    this.finish();
    return FilterDataStatusValues.Continue;
  }

  /**
   * Resumes the stream if it is paused, i.e. when this ends in a call answer;
   * during the body callback nothing is paused yet and returning Continue is enough.
   */
  private finish(): void {
    if (this.ctx.responsePaused) this.ctx.resumeResponse();
  }
}
