// ai-json-mode: the request's story, top to bottom.
//
//   request headers   leave our own calls (x-ai-json-mode with the marker) alone;
//                     otherwise drop a client's x-ai-json-mode and accept-encoding
//                     (the upstream answers uncompressed), without re-routing;
//                     strategy inject: hold a JSON POST and collect its body
//   request body      strategy inject: add the JSON instruction (request.ts),
//                     drop content-length from the held headers
//   response headers  hold 200 + JSON (or SSE) + uncompressed responses up to
//                     maxBodyBytes; let the rest pass
//   response body     collected in the plugin (higress/body.ts); read the
//                     answer's content; an injected request's answer that is
//                     already valid JSON is the output at once; otherwise
//                     pause, call the JSON-mode model
//   call answer       validate; retry on a bad answer while totalTimeout lasts;
//                     replace the body, fix the headers, resume
//
// On any failure the client gets the original response byte for byte (or, with
// onFailure: error, a 502 JSON error, marked `x-should-retry: false` when a
// retry cannot help), the stream is resumed exactly once, and one warn line
// says why.

import {
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  HeaderPair,
  HttpCallResponse,
  HttpCallTarget,
  LogLevelValues,
  WasmResultValues,
  getCurrentTimeNanoseconds,
  wasmResultName,
} from "../proxy";
import {
  BodyDirection,
  HttpContext,
  ParseConfigBy,
  ProcessBodyTooLargeBy,
  ProcessRequestBodyBy,
  ProcessRequestHeadersBy,
  ProcessResponseBodyBy,
  ProcessResponseHeadersBy,
  SetCtx,
  StreamState,
  contentLengthOf,
  equalsConstantTime,
} from "../higress";
import { JsonValue, asciiLower } from "../json";
import {
  FailureMode,
  JsonModeConfig,
  MIN_ATTEMPT_MS,
  OutputMode,
  Strategy,
  StreamingMode,
  parseJsonModeConfig,
} from "./config";
import {
  Attempt,
  NOT_COMPLETION,
  buildErrorBody,
  buildJsonModeRequest,
  readCompletionContent,
  readJsonModeAnswer,
  redact,
} from "./completion";
import { Failure, FailureCode } from "./failure";
import { SseText, collectSse, writeSseOutput } from "./sse";
import { writeOpenAIOutput } from "./output";
import { count } from "./metrics";
import { injectJsonInstruction, injectSkipReason, mediaType, readDirectAnswer } from "./request";

export { mediaType } from "./request";

export const PLUGIN_NAME = "ai-json-mode";
/**
 * Marks the plugin's own calls, with the configuration's marker as value
 * (PluginRootContext.ownCallMarker): a request carrying that value is never
 * processed (no loops when the JSON-mode model is reached through the same
 * gateway). The header of any other request is removed before it goes upstream.
 */
export const LOOP_HEADER = "x-ai-json-mode";
/** Response header the OpenAI SDKs read: `false` = do not retry. */
export const RETRY_HEADER = "x-should-retry";

export function register(): void {
  SetCtx<JsonModeConfig>(PLUGIN_NAME, [
    ParseConfigBy<JsonModeConfig>(parseJsonModeConfig),
    ProcessRequestHeadersBy<JsonModeConfig>(onRequestHeaders),
    ProcessRequestBodyBy<JsonModeConfig>(onRequestBody),
    ProcessResponseHeadersBy<JsonModeConfig>(onResponseHeaders),
    ProcessResponseBodyBy<JsonModeConfig>(onResponseBody),
    ProcessBodyTooLargeBy<JsonModeConfig>(onBodyTooLarge),
  ]);
}

/** Per-stream state: what kind of response is held. */
class JsonModeState extends StreamState {
  /** The response is an SSE stream (text/event-stream). */
  sse: bool = false;
  /** strategy inject: the chat request went upstream with the JSON instruction. */
  injected: bool = false;
  /** The response's content-length as its headers declared it (-1: none), read once by skipReason. */
  responseLength: i64 = -1;
}

function state(ctx: HttpContext<JsonModeConfig>): JsonModeState {
  const s = ctx.state;
  if (s !== null && s instanceof JsonModeState) return changetype<JsonModeState>(s);
  const fresh = new JsonModeState();
  ctx.setState(fresh);
  return fresh;
}

/** "stream <id>: ", the start of every line about a stream. */
function streamTag(ctx: HttpContext<JsonModeConfig>): string {
  return "stream " + ctx.id.toString() + ": ";
}

/** Whether debug lines are printed: on the path of every request, they are built only then. */
function debugOn(ctx: HttpContext<JsonModeConfig>): bool {
  return ctx.log.enabled(LogLevelValues.debug);
}

function onRequestHeaders(ctx: HttpContext<JsonModeConfig>, config: JsonModeConfig): FilterHeadersStatusValues {
  const guard = ctx.getRequestHeader(LOOP_HEADER);
  const marker = ctx.pluginRoot.ownCallMarker;
  if (guard !== null && marker.length > 0 && equalsConstantTime(guard, marker)) {
    if (debugOn(ctx)) ctx.log.debug(streamTag(ctx) + "own JSON-mode call, left alone");
    count("passthrough.loop_guard");
    ctx.disable();
    return FilterHeadersStatusValues.Continue;
  }
  // The edits below must not send the request to another route or cluster.
  ctx.disableReroute();
  if (guard !== null) {
    // Not our call: a client cannot switch the plugin off, and the header goes no further.
    ctx.removeRequestHeader(LOOP_HEADER);
    count("loop_header_removed");
    if (debugOn(ctx)) {
      ctx.log.debug(streamTag(ctx) + LOOP_HEADER + " of a client request removed (not the plugin's own call)");
    }
  }
  ctx.removeRequestHeader("accept-encoding");
  if (config.strategy == Strategy.Inject) {
    const skip = injectSkipReason(ctx, config);
    if (skip === null) {
      ctx.collectRequestBody(config.maxBodyBytes, contentLengthOf(ctx.getRequestHeader("content-length")));
      // Hold the headers: content-length goes once the body has changed.
      return FilterHeadersStatusValues.StopIteration;
    }
    count("inject.skipped." + skip.code);
    if (debugOn(ctx)) ctx.log.debug(streamTag(ctx) + "request goes untouched: " + skip.text);
  }
  ctx.dontReadRequestBody();
  return FilterHeadersStatusValues.Continue;
}

/** strategy inject: the whole request body; adds the JSON instruction when it is a chat request. */
function onRequestBody(
  ctx: HttpContext<JsonModeConfig>,
  config: JsonModeConfig,
  body: Uint8Array,
): FilterDataStatusValues {
  const injection = injectJsonInstruction(config, body);
  const changed = injection.body;
  if (changed === null) {
    count("inject.skipped." + injection.code);
    if (debugOn(ctx)) ctx.log.debug(streamTag(ctx) + "request goes untouched: " + injection.text);
    return FilterDataStatusValues.Continue;
  }
  if (!ctx.replaceRequestBody(changed)) {
    count("inject.skipped.refused");
    ctx.log.warn(
      streamTag(ctx) +
        "request goes untouched: the new body (" +
        changed.length.toString() +
        " bytes) was refused: over the stream's buffer limit, or by the host",
    );
    return FilterDataStatusValues.Continue;
  }
  // The headers are still held: their content-length would be wrong now.
  ctx.removeRequestHeader("content-length");
  state(ctx).injected = true;
  count("inject.injected");
  if (debugOn(ctx)) {
    ctx.log.debug(
      streamTag(ctx) + injection.text + " (" + body.length.toString() + " -> " + changed.length.toString() + " bytes)",
    );
  }
  return FilterDataStatusValues.Continue;
}

function onResponseHeaders(ctx: HttpContext<JsonModeConfig>, config: JsonModeConfig): FilterHeadersStatusValues {
  const reason = skipReason(ctx, config);
  if (reason.length > 0) {
    if (debugOn(ctx)) ctx.log.debug(streamTag(ctx) + "response passes untouched: " + reason);
    ctx.dontReadResponseBody();
    return FilterHeadersStatusValues.Continue;
  }
  // Collect the body in the plugin, and let Envoy accept what the plugin writes.
  ctx.collectResponseBody(config.maxBodyBytes, state(ctx).responseLength);
  // Hold the headers: with ABI 0.2.100 the body callbacks still arrive.
  return FilterHeadersStatusValues.StopIteration;
}

/** A body found larger than maxBodyBytes while collected: it went on byte for byte. */
function onBodyTooLarge(
  ctx: HttpContext<JsonModeConfig>,
  config: JsonModeConfig,
  direction: BodyDirection,
  size: i64,
): void {
  const request = direction == BodyDirection.Request;
  count(request ? "inject.skipped.too_large" : "passthrough.too_large");
  ctx.log.debug(
    "stream " +
      ctx.id.toString() +
      (request ? ": request goes untouched" : ": response passes untouched") +
      ": body over maxBodyBytes (" +
      size.toString() +
      " bytes seen, maxBodyBytes " +
      config.maxBodyBytes.toString() +
      ")",
  );
}

/** Why a response is not for us ("" when it is: its kind and length are then in the stream's state); counts the passthrough. */
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
  let sse = false;
  if (media == "text/event-stream") {
    if (config.streaming == StreamingMode.Passthrough) {
      count("passthrough.streaming");
      return "stream (streaming: passthrough)";
    }
    sse = true;
  } else if (media != "application/json") {
    count("passthrough.content_type");
    return "content-type " + (type === null ? "missing" : type);
  }
  const declared = contentLengthOf(ctx.getResponseHeader("content-length"));
  if (declared > config.maxBodyBytes) {
    count("passthrough.too_large");
    return "content-length " + declared.toString() + " over maxBodyBytes " + config.maxBodyBytes.toString();
  }
  if (ctx.getResponseHeader("trailer") !== null) {
    // Trailers end the stream instead of a last body callback: the body could not be written back.
    count("passthrough.trailers");
    return "trailers announced";
  }
  const s = state(ctx);
  s.sse = sse;
  s.responseLength = declared;
  return "";
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
    if (sse.text.isBlank())
      return job.fail(new Failure(FailureCode.EmptyContent, "upstream stream carried no content"));
    job.stream = true;
    job.first = sse.first;
    job.usage = sse.usage;
    // Written into the request straight from the body's deltas (the content is never copied whole).
    job.text = sse.text;
  } else {
    const content = readCompletionContent(body);
    if (content.code == NOT_COMPLETION) {
      // Some other JSON API behind the same route: not ours, and no failure.
      if (debugOn(ctx)) ctx.log.debug(streamTag(ctx) + "response passes untouched: " + content.reason);
      count("passthrough.not_completion");
      return FilterDataStatusValues.Continue;
    }
    if (!content.ok) return job.fail(new Failure(content.code, "upstream " + content.reason));
    job.content = content.content;
    job.completion = content.completion;
  }
  if (state(ctx).injected) {
    // strategy inject: the chat model was asked for JSON; its answer may be the output as it is.
    const text = job.text;
    if (job.content === null && text !== null) {
      job.content = text.toValue();
      job.text = null;
    }
    const direct = readDirectAnswer(config, job.content!);
    if (direct.ok) {
      job.direct = true;
      job.succeed(direct.json!, null);
      return FilterDataStatusValues.Continue;
    }
    job.repair = true;
    if (debugOn(ctx)) ctx.log.debug(streamTag(ctx) + "repairing with the JSON-mode model: " + direct.reason);
  }
  if (!job.send()) return FilterDataStatusValues.Continue;
  return FilterDataStatusValues.StopIterationAndBuffer;
}

/** One conversion: the paused stream, its calls to the JSON-mode model, and how it ends. */
class JsonModeCall extends HttpCallTarget {
  /** The upstream's content, as a JSON string value. */
  content: JsonValue | null = null;
  /** A stream's content, as its deltas' text in the body (when `content` is null). */
  text: SseText | null = null;
  /** The upstream completion (non-stream responses). */
  completion: JsonValue | null = null;
  /** SSE response: its first chunk and usage. */
  stream: bool = false;
  first: JsonValue | null = null;
  usage: JsonValue | null = null;
  /** Earlier bad answers, replayed on retries. */
  history: Attempt[] = [];
  /** When the first attempt started (host clock, ns); the budget runs from there. */
  started: u64 = 0;
  /** :status of the last call's answer; 0: no answer (refused, reset, out of time); -1: none yet. */
  callStatus: i32 = -1;
  /** strategy inject: the chat model's answer is the output, with no call. */
  direct: bool = false;
  /** strategy inject: the chat model's answer was not usable; the call repairs it. */
  repair: bool = false;

  constructor(
    public ctx: HttpContext<JsonModeConfig>,
    public config: JsonModeConfig,
  ) {
    super();
  }

  private where(): string {
    return streamTag(this.ctx);
  }

  /**
   * Dispatches one call. Returns false when the host refused it: the failure
   * has then been applied (the caller lets the response continue).
   */
  send(): bool {
    const config = this.config;
    const attempt = this.history.length + 1;
    // Time budget: the paused stream must resume well before Envoy's idle timeout.
    const now = getCurrentTimeNanoseconds();
    if (this.started == 0) this.started = now;
    const spent: i64 = now > this.started ? <i64>((now - this.started) / 1000000) : 0;
    const left = config.totalTimeout - spent;
    if (attempt > 1 && left < MIN_ATTEMPT_MS) {
      this.callStatus = 0;
      this.fail(
        new Failure(
          FailureCode.CallFailed,
          "no time left for attempt " +
            attempt.toString() +
            ": " +
            spent.toString() +
            " ms of totalTimeout " +
            config.totalTimeout.toString() +
            " ms spent",
        ),
      );
      return false;
    }
    const timeout = <i64>config.timeout < left ? <i64>config.timeout : left;
    // A stream's content is written from its deltas in the body, on every attempt (nothing else holds it).
    const request = buildJsonModeRequest(config, this.content, this.history, this.text);
    const headers = [
      new HeaderPair(":authority", config.authority),
      new HeaderPair("content-type", "application/json"),
      new HeaderPair("authorization", "Bearer " + config.apiKey),
      new HeaderPair(LOOP_HEADER, this.ctx.pluginRoot.ownCallMarker),
    ];
    const d = config.client.post(this.ctx, config.url, headers, request, this, <u32>timeout);
    if (d.result != WasmResultValues.Ok) {
      this.callStatus = 0;
      this.fail(
        new Failure(
          FailureCode.CallFailed,
          "call to " +
            config.client.cluster.clusterName() +
            " refused: " +
            wasmResultName(d.result) +
            refusalHint(d.result),
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
          attempt.toString() +
          ", timeout " +
          timeout.toString() +
          " ms) to " +
          config.client.cluster.clusterName(),
      );
    }
    return true;
  }

  /**
   * An answer larger than the stream's buffer limit could not become the
   * output: it is not read. The collector holds the limit in force (the
   * plugin's own, 2 x maxBodyBytes + 1 MiB, or a larger one another filter
   * set on the stream: raiseBufferLimit keeps the larger).
   */
  maxResponseBytes(): i64 {
    const c = this.ctx.responseCollector;
    return c !== null && c.limit > 0 ? c.limit : -1;
  }

  onHttpCallResponse(response: HttpCallResponse): void {
    this.callStatus = response.status;
    if (response.bodyTooLarge && response.status == 200) {
      this.fail(
        new Failure(
          FailureCode.InvalidAnswer,
          "answer of " +
            response.bodySize.toString() +
            " bytes not read: over " +
            this.maxResponseBytes().toString() +
            " bytes (the stream's buffer limit)",
        ),
      );
      return;
    }
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

  /** Replaces the body with the converted answer and resumes (if paused). */
  succeed(json: Uint8Array, callUsage: JsonValue | null): void {
    const ctx = this.ctx;
    let size: i64 = json.length;
    let ok = false;
    let type = "application/json";
    if (this.config.output == OutputMode.OpenAI) {
      // Written to the body in pieces as it is produced.
      const out = ctx.responseBodyOutput();
      if (out !== null) {
        if (this.stream) {
          writeSseOutput(this.first, json, this.usage, callUsage, out);
          type = "text/event-stream";
        } else {
          writeOpenAIOutput(this.completion!, json, callUsage, out);
        }
        ok = out.ok;
        size = out.size;
      }
    } else {
      ok = ctx.replaceResponseBody(json);
    }
    if (!ok) {
      const what =
        this.config.output == OutputMode.OpenAI
          ? "the converted body was refused after " + size.toString() + " bytes"
          : "the converted body (" + size.toString() + " bytes) was refused";
      this.fail(new Failure(FailureCode.Internal, what + ": over the stream's buffer limit, or by the host"));
      return;
    }
    ctx.replaceResponseHeader("content-type", type);
    ctx.replaceResponseHeader("content-length", size.toString());
    ctx.replaceResponseHeader("mode", "json");
    count("converted");
    if (this.direct) count("inject.direct");
    if (this.repair) count("inject.repaired");
    ctx.log.info(
      this.where() +
        "converted to JSON (" +
        json.length.toString() +
        " bytes" +
        (this.direct ? ", the chat model's answer as it was, no JSON-mode call" : "") +
        (this.repair ? ", repaired by the JSON-mode model" : "") +
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
        if (retryCanHelp(failure, this.callStatus)) ctx.removeResponseHeader(RETRY_HEADER);
        else ctx.replaceResponseHeader(RETRY_HEADER, "false");
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

/** The neutral reason a dispatch may be refused, for the log line. */
function refusalHint(result: WasmResultValues): string {
  if (result == WasmResultValues.InternalFailure) return " (no healthy endpoint yet?)";
  if (result == WasmResultValues.BadArgument) return " (no cluster of that name: check serviceFQDN and servicePort)";
  return "";
}

/**
 * Whether the same request may succeed later: only when the JSON-mode call
 * got no answer (refused, reset, out of time) or a 408, 429 or 5xx. Every
 * other failure (the upstream's body, the model's answer, a 4xx such as 401)
 * comes out the same on a retry: its 502 carries `x-should-retry: false`.
 */
export function retryCanHelp(failure: Failure, callStatus: i32): bool {
  if (failure.code != FailureCode.CallFailed) return false;
  return callStatus <= 0 || callStatus == 408 || callStatus == 429 || callStatus >= 500;
}
