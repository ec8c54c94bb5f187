// A Higress-style plugin skeleton over the proxy-wasm layer:
//
//   SetCtx<MyConfig>("my-plugin", [
//     ParseConfigBy<MyConfig>(parseConfig),
//     ProcessResponseHeadersBy<MyConfig>(onResponseHeaders),
//     ProcessResponseBodyBy<MyConfig>(onResponseBody),
//   ]);
//
// The configuration (with `_rules_`) is parsed once per configure; each
// stream gets the config that matches it, and phase handlers receive the
// stream context and that config. Each handler is optional and independent:
// a body handler works without a header handler. Bodies handed to body
// handlers are whole: collected in the plugin to the end of the stream (see
// body.ts for why not in Envoy), up to a size the header handler can set with
// collectRequestBody / collectResponseBody (10 MiB by default); a larger body
// passes through byte for byte and the body handler is not called.

import {
  BufferTypeValues,
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  MapTypeValues,
  RootContext,
  RootContextFactory,
  HttpContext as StreamContext,
  registerRootContextFactory,
  getBufferBytes,
  setBufferBytes,
  getHeaderMapValue,
  getHeaderMapPairs,
  addHeaderMapValue,
  replaceHeaderMapValue,
  removeHeaderMapValue,
  getPropertyString,
  setProperty,
  setEffectiveContext,
  Headers,
} from "../proxy";
import { ByteBuilder, JsonValue, parseJson } from "../json";
import { MatchInput, MatchKind, ParseResult, RuleSet, parseRuleSet } from "./rules";
import { Log } from "./log";
import { BodyCollector, BodyDirection, BodyOutput, CollectStep, DEFAULT_MAX_BODY_BYTES, contentLengthOf } from "./body";
import { sha256, toHex } from "./digest";

export { ParseResult } from "./rules";

// ---- handler registrations ---------------------------------------------------

export abstract class CtxOption<C> {}

class ParseConfigOption<C> extends CtxOption<C> {
  constructor(public fn: (json: JsonValue) => ParseResult<C>) {
    super();
  }
}
class RequestHeadersOption<C> extends CtxOption<C> {
  constructor(public fn: (ctx: HttpContext<C>, config: C) => FilterHeadersStatusValues) {
    super();
  }
}
class RequestBodyOption<C> extends CtxOption<C> {
  constructor(public fn: (ctx: HttpContext<C>, config: C, body: Uint8Array) => FilterDataStatusValues) {
    super();
  }
}
class ResponseHeadersOption<C> extends CtxOption<C> {
  constructor(public fn: (ctx: HttpContext<C>, config: C) => FilterHeadersStatusValues) {
    super();
  }
}
class ResponseBodyOption<C> extends CtxOption<C> {
  constructor(public fn: (ctx: HttpContext<C>, config: C, body: Uint8Array) => FilterDataStatusValues) {
    super();
  }
}
class BodyTooLargeOption<C> extends CtxOption<C> {
  constructor(public fn: (ctx: HttpContext<C>, config: C, direction: BodyDirection, size: i64) => void) {
    super();
  }
}

export function ParseConfigBy<C>(fn: (json: JsonValue) => ParseResult<C>): CtxOption<C> {
  return new ParseConfigOption<C>(fn);
}
export function ProcessRequestHeadersBy<C>(
  fn: (ctx: HttpContext<C>, config: C) => FilterHeadersStatusValues,
): CtxOption<C> {
  return new RequestHeadersOption<C>(fn);
}
export function ProcessRequestBodyBy<C>(
  fn: (ctx: HttpContext<C>, config: C, body: Uint8Array) => FilterDataStatusValues,
): CtxOption<C> {
  return new RequestBodyOption<C>(fn);
}
export function ProcessResponseHeadersBy<C>(
  fn: (ctx: HttpContext<C>, config: C) => FilterHeadersStatusValues,
): CtxOption<C> {
  return new ResponseHeadersOption<C>(fn);
}
export function ProcessResponseBodyBy<C>(
  fn: (ctx: HttpContext<C>, config: C, body: Uint8Array) => FilterDataStatusValues,
): CtxOption<C> {
  return new ResponseBodyOption<C>(fn);
}
/** Told when a body passed its size limit and went through untouched (`size`: bytes seen when it did). */
export function ProcessBodyTooLargeBy<C>(
  fn: (ctx: HttpContext<C>, config: C, direction: BodyDirection, size: i64) => void,
): CtxOption<C> {
  return new BodyTooLargeOption<C>(fn);
}

/** The registered handlers of one plugin. */
export class Plugin<C> {
  parseConfig: ParseConfigOption<C> | null = null;
  requestHeaders: RequestHeadersOption<C> | null = null;
  requestBody: RequestBodyOption<C> | null = null;
  responseHeaders: ResponseHeadersOption<C> | null = null;
  responseBody: ResponseBodyOption<C> | null = null;
  bodyTooLarge: BodyTooLargeOption<C> | null = null;
  log: Log;

  constructor(
    public name: string,
    options: CtxOption<C>[],
  ) {
    this.log = new Log(name);
    for (let i = 0; i < options.length; i++) {
      const o = options[i];
      if (o instanceof ParseConfigOption<C>) this.parseConfig = changetype<ParseConfigOption<C>>(o);
      else if (o instanceof RequestHeadersOption<C>) this.requestHeaders = changetype<RequestHeadersOption<C>>(o);
      else if (o instanceof RequestBodyOption<C>) this.requestBody = changetype<RequestBodyOption<C>>(o);
      else if (o instanceof ResponseHeadersOption<C>) this.responseHeaders = changetype<ResponseHeadersOption<C>>(o);
      else if (o instanceof ResponseBodyOption<C>) this.responseBody = changetype<ResponseBodyOption<C>>(o);
      else if (o instanceof BodyTooLargeOption<C>) this.bodyTooLarge = changetype<BodyTooLargeOption<C>>(o);
    }
  }
}

class PluginRootFactory<C> extends RootContextFactory {
  constructor(public plugin: Plugin<C>) {
    super();
  }
  create(id: u32): RootContext {
    return new PluginRootContext<C>(id, this.plugin);
  }
}

/** Registers a plugin: its name and its handlers. Call once, at module start. */
export function SetCtx<C>(pluginName: string, options: CtxOption<C>[]): void {
  registerRootContextFactory(new PluginRootFactory<C>(new Plugin<C>(pluginName, options)));
}

// ---- root context: configuration ---------------------------------------------

export class PluginRootContext<C> extends RootContext {
  rules: RuleSet<C> | null = null;
  /**
   * A value that marks the plugin's own HTTP calls (e.g. in a loop-guard
   * header): 32 hex digits of SHA-256 over the plugin's root id and its whole
   * configuration. Every worker VM and every gateway replica with the same
   * configuration computes the same value, so a call that comes back through
   * the gateway is recognized wherever it lands; a client cannot compute it
   * without the configuration, whose secrets (API keys) it holds. It changes
   * with the configuration. "" before the first configuration.
   */
  ownCallMarker: string = "";

  constructor(
    id: u32,
    public plugin: Plugin<C>,
  ) {
    super(id);
  }

  onConfigure(configSize: u32): bool {
    const log = this.plugin.log;
    const parser = this.plugin.parseConfig;
    if (parser === null) {
      log.error("no config parser registered");
      return false;
    }
    const bytes =
      configSize > 0 ? getBufferBytes(BufferTypeValues.PluginConfiguration, 0, configSize) : new Uint8Array(0);
    let json: JsonValue;
    if (bytes.length == 0) {
      json = parseJson(Uint8Array.wrap(String.UTF8.encode("{}"))).value!;
    } else {
      const parsed = parseJson(bytes);
      if (!parsed.ok) {
        log.error("config is not valid JSON: " + parsed.error);
        return false;
      }
      json = parsed.value!;
    }
    const set = parseRuleSet<C>(json, parser.fn);
    if (!set.ok) {
      log.error("invalid config: " + set.error);
      return false;
    }
    for (let i = 0; i < set.warnings.length; i++) log.warn("config: " + set.warnings[i]);
    this.ownCallMarker = markerOf(bytes);
    if (set.global === null && set.rules.length > 0) {
      log.info(
        "config accepted: " +
          set.rules.length.toString() +
          " rule(s); requests matching no rule pass untouched (" +
          set.globalReason +
          ")",
      );
    } else {
      log.info("config accepted: " + set.rules.length.toString() + " rule(s) and a global config");
    }
    this.rules = set;
    return true;
  }

  createHttpContext(id: u32): StreamContext {
    return new HttpContext<C>(id, this);
  }
}

/** See PluginRootContext.ownCallMarker. */
function markerOf(config: Uint8Array): string {
  const rootId = getPropertyString(["plugin_root_id"]);
  const b = new ByteBuilder(config.length + 64);
  b.pushString("higress own call\0");
  b.pushString(rootId !== null ? rootId : "");
  b.pushString("\0");
  b.pushBytes(config);
  return toHex(sha256(b.takeBytes()), 16);
}

// ---- per-stream context ------------------------------------------------------

/** Base class for a plugin's per-stream state; extend it and store it with setState(). */
export class StreamState {}

export class HttpContext<C> extends StreamContext {
  /** The config that applies to this stream; null: the plugin leaves it alone. */
  config: C | null = null;
  private resolved: bool = false;
  private skipRequestBody: bool = false;
  private skipResponseBody: bool = false;
  /** The plugin's own per-stream state (GC-managed). */
  state: StreamState | null = null;
  /** The request headers ended the stream (there is no request body). */
  requestHeadersEndOfStream: bool = false;
  /** The response headers ended the stream (there is no body). */
  responseHeadersEndOfStream: bool = false;
  /** Body collection, created by collect*Body() or at the first body callback. */
  requestCollector: BodyCollector | null = null;
  responseCollector: BodyCollector | null = null;
  private rerouteDisabled: bool = false;

  constructor(
    id: u32,
    public pluginRoot: PluginRootContext<C>,
  ) {
    super(id, pluginRoot);
  }

  get log(): Log {
    return this.pluginRoot.plugin.log;
  }
  get plugin(): Plugin<C> {
    return this.pluginRoot.plugin;
  }

  setState(s: StreamState): void {
    this.state = s;
  }

  /** The plugin leaves this stream alone from now on (as if no config matched). */
  disable(): void {
    this.resolved = true;
    this.config = null;
  }

  /** Body callbacks of this stream pass straight through from now on. */
  dontReadRequestBody(): void {
    this.skipRequestBody = true;
  }
  dontReadResponseBody(): void {
    this.skipResponseBody = true;
  }

  /** Resolves the config for this stream once: first matching rule, else global, else none. */
  resolve(): C | null {
    if (this.resolved) return this.config;
    this.resolved = true;
    const set = this.pluginRoot.rules;
    if (set === null) return null;
    let route = "";
    let authority = "";
    let cluster = "";
    if (set.needs(MatchKind.Route) || set.needs(MatchKind.RoutePrefix)) {
      const r = getPropertyString(["route_name"]);
      if (r !== null) route = r;
    }
    if (set.needs(MatchKind.Domain)) {
      const a = getHeaderMapValue(MapTypeValues.HttpRequestHeaders, ":authority");
      if (a !== null) authority = a;
    }
    if (set.needs(MatchKind.Service)) {
      const c = getPropertyString(["cluster_name"]);
      if (c !== null) cluster = c;
    }
    this.config = set.match(new MatchInput(route, authority, cluster));
    return this.config;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatusValues {
    this.requestHeadersEndOfStream = endOfStream;
    const config = this.resolve();
    if (config === null) return FilterHeadersStatusValues.Continue;
    const h = this.plugin.requestHeaders;
    if (h === null) return FilterHeadersStatusValues.Continue;
    const fn = h.fn;
    return fn(this, config);
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatusValues {
    const config = this.resolve();
    const h = this.plugin.requestBody;
    if (config === null || h === null || this.skipRequestBody) return FilterDataStatusValues.Continue;
    let c = this.requestCollector;
    if (c === null) c = this.collectRequestBody(DEFAULT_MAX_BODY_BYTES, -1);
    const step = c.onData(bodySize, endOfStream);
    if (step == CollectStep.More) return FilterDataStatusValues.StopIterationNoBuffer;
    if (step == CollectStep.TooLarge) {
      this.skipRequestBody = true;
      this.tooLarge(config, BodyDirection.Request, c.size);
      return FilterDataStatusValues.Continue;
    }
    const fn = h.fn;
    return c.finishCallback(fn(this, config, c.body()));
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatusValues {
    this.responseHeadersEndOfStream = endOfStream;
    const config = this.resolve();
    if (config === null) return FilterHeadersStatusValues.Continue;
    const h = this.plugin.responseHeaders;
    if (h === null) return FilterHeadersStatusValues.Continue;
    const fn = h.fn;
    return fn(this, config);
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatusValues {
    const config = this.resolve();
    const h = this.plugin.responseBody;
    if (config === null || h === null || this.skipResponseBody) return FilterDataStatusValues.Continue;
    let c = this.responseCollector;
    if (c === null)
      c = this.collectResponseBody(DEFAULT_MAX_BODY_BYTES, contentLengthOf(this.getResponseHeader("content-length")));
    const step = c.onData(bodySize, endOfStream);
    if (step == CollectStep.More) return FilterDataStatusValues.StopIterationNoBuffer;
    if (step == CollectStep.TooLarge) {
      this.skipResponseBody = true;
      this.tooLarge(config, BodyDirection.Response, c.size);
      return FilterDataStatusValues.Continue;
    }
    const fn = h.fn;
    return c.finishCallback(fn(this, config, c.body()));
  }

  private tooLarge(config: C, direction: BodyDirection, size: i64): void {
    const h = this.plugin.bodyTooLarge;
    if (h === null) return;
    const fn = h.fn;
    fn(this, config, direction, size);
  }

  /**
   * Prepares to collect the response body, up to `maxBytes` (call it from the
   * response-headers handler, before holding the headers): raises the
   * stream's buffer limit so Envoy accepts the output. `expected` is the
   * response's content-length (-1: unknown; see contentLengthOf), to reserve
   * memory. Returns the collector.
   */
  collectResponseBody(maxBytes: i64, expected: i64 = -1): BodyCollector {
    const c = new BodyCollector(BodyDirection.Response, maxBytes, expected);
    c.raiseLimit();
    this.responseCollector = c;
    return c;
  }

  /** Same for the request body; `expected` is the request's content-length (-1: unknown). */
  collectRequestBody(maxBytes: i64, expected: i64 = -1): BodyCollector {
    const c = new BodyCollector(BodyDirection.Request, maxBytes, expected);
    c.raiseLimit();
    this.requestCollector = c;
    return c;
  }

  /**
   * Request-header edits no longer re-route the request: Higress's Envoy
   * clears the route cache after every request-header edit (and may pick
   * another route or cluster) unless the stream's `clear_route_cache`
   * property is `off`. Call before the first edit; later calls do nothing.
   */
  disableReroute(): void {
    if (this.rerouteDisabled) return;
    this.rerouteDisabled = true;
    setProperty(["clear_route_cache"], "off");
  }

  /** Resumes the paused response; a held body that nothing replaced goes on as it was. */
  resumeResponse(): bool {
    if (!this.responsePaused) return super.resumeResponse();
    const c = this.responseCollector;
    if (c !== null) {
      setEffectiveContext(this.id);
      c.release();
    }
    return super.resumeResponse();
  }

  /** Resumes the paused request; a held body that nothing replaced goes on as it was. */
  resumeRequest(): bool {
    if (!this.requestPaused) return super.resumeRequest();
    const c = this.requestCollector;
    if (c !== null) {
      setEffectiveContext(this.id);
      c.release();
    }
    return super.resumeRequest();
  }

  // ---- header and body helpers (the stream is the effective context) ----

  getRequestHeader(key: string): string | null {
    return getHeaderMapValue(MapTypeValues.HttpRequestHeaders, key);
  }
  /** Request-header edits: see disableReroute(). */
  removeRequestHeader(key: string): void {
    removeHeaderMapValue(MapTypeValues.HttpRequestHeaders, key);
  }
  replaceRequestHeader(key: string, value: string): void {
    replaceHeaderMapValue(MapTypeValues.HttpRequestHeaders, key, value);
  }
  getResponseHeader(key: string): string | null {
    return getHeaderMapValue(MapTypeValues.HttpResponseHeaders, key);
  }
  getResponseHeaders(): Headers {
    return getHeaderMapPairs(MapTypeValues.HttpResponseHeaders);
  }
  addResponseHeader(key: string, value: string): void {
    addHeaderMapValue(MapTypeValues.HttpResponseHeaders, key, value);
  }
  replaceResponseHeader(key: string, value: string): void {
    replaceHeaderMapValue(MapTypeValues.HttpResponseHeaders, key, value);
  }
  removeResponseHeader(key: string): void {
    removeHeaderMapValue(MapTypeValues.HttpResponseHeaders, key);
  }

  /**
   * Replaces the whole response body: during the body handler's call, or
   * while the response it paused waits. False when the host refuses, or the
   * body is larger than the stream's buffer limit (Envoy would answer 500).
   */
  replaceResponseBody(body: Uint8Array): bool {
    const c = this.responseCollector;
    if (c !== null) return c.write(body);
    // start 0 and a length past the end replace the whole body (i32 max, as the Go SDK passes).
    return setBufferBytes(BufferTypeValues.HttpResponseBody, 0, <u32>i32.MAX_VALUE, body) == 0;
  }

  /**
   * The response body written in pieces (see BodyOutput), while the body
   * handler runs or the response it paused waits; null when the plugin does
   * not collect this response's body.
   */
  responseBodyOutput(): BodyOutput | null {
    const c = this.responseCollector;
    return c !== null ? new BodyOutput(c) : null;
  }

  /** Same for the request body. */
  replaceRequestBody(body: Uint8Array): bool {
    const c = this.requestCollector;
    if (c !== null) return c.write(body);
    return setBufferBytes(BufferTypeValues.HttpRequestBody, 0, <u32>i32.MAX_VALUE, body) == 0;
  }
}
