// Contexts, the registry from context id to context, and HTTP-call routing.
// Per-stream state lives in ordinary managed objects reachable from the
// registry, so the GC sees it; no raw handles to live objects are kept.

import {
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  LogLevelValues,
  MapTypeValues,
  BufferTypeValues,
  StreamTypeValues,
  WasmResultValues,
  wasmResultName,
} from "./abi";
import { Headers, HeaderPair, findHeader } from "./headers";
import * as host from "./hostcalls";

/** What an HTTP call brought back. status 0 with no headers means the call was reset. */
export class HttpCallResponse {
  constructor(
    public status: i32,
    public headers: Headers,
    public body: Uint8Array,
    /** The body's size as the host announced it (the body is empty when it was over the target's limit). */
    public bodySize: u32 = 0,
  ) {}
  /** The body was not read: larger than the target's maxResponseBytes(). */
  get bodyTooLarge(): bool {
    return <i64>this.body.length < <i64>this.bodySize;
  }
}

/** Receives the answer of an HTTP call, with the originating stream set as effective context. */
export abstract class HttpCallTarget {
  abstract onHttpCallResponse(response: HttpCallResponse): void;
  /** The largest answer body read into memory (-1: any); a larger one is announced by its size only. */
  maxResponseBytes(): i64 {
    return -1;
  }
}

class PendingCall {
  constructor(
    public streamId: u32,
    public target: HttpCallTarget,
  ) {}
}

export class BaseContext {
  constructor(public id: u32) {}
}

/** Plugin (root) context: configuration and the HTTP calls of all its streams. */
export class RootContext extends BaseContext {
  private pending: Map<u32, PendingCall> = new Map<u32, PendingCall>();

  onVmStart(vmConfigSize: u32): bool {
    return true;
  }

  onConfigure(configSize: u32): bool {
    return true;
  }

  /** Creates the context of a new HTTP stream; the default passes everything through. */
  createHttpContext(id: u32): HttpContext {
    return new HttpContext(id, this);
  }

  /**
   * Dispatches an HTTP call on behalf of `stream`. When the answer arrives,
   * the stream is made the effective context and `target` is called.
   */
  dispatchHttpCall(
    stream: HttpContext,
    cluster: string,
    headers: Headers,
    body: Uint8Array,
    timeoutMs: u32,
    target: HttpCallTarget,
  ): host.HttpCallDispatch {
    const d = host.httpCall(cluster, headers, body, timeoutMs);
    if (d.result == WasmResultValues.Ok) {
      this.pending.set(d.token, new PendingCall(stream.id, target));
      stream.callTokens.push(d.token);
    }
    return d;
  }

  /** Number of calls whose answer a live stream waits for. */
  get pendingCallCount(): i32 {
    return this.pending.size;
  }

  /**
   * The stream ended while calls it made are still out: forget them at once,
   * so whatever their targets hold (a body, a parsed document, a request) can
   * be reclaimed now rather than when the answers come, and nothing is kept
   * per abandoned call. Their answers are then dropped unread.
   */
  abandonCalls(stream: HttpContext): void {
    const tokens = stream.callTokens;
    for (let i = 0; i < tokens.length; i++) this.pending.delete(tokens[i]);
    stream.callTokens = [];
  }

  /** Routes an HTTP call's answer to the stream that made the call. */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    if (!this.pending.has(token)) {
      // The stream that made the call has ended (abandonCalls).
      host.log(LogLevelValues.debug, "http call " + token.toString() + " answered after its stream ended; dropped");
      return;
    }
    const call = this.pending.get(token);
    this.pending.delete(token);
    const target = call.target;
    const stream = getHttpContext(call.streamId);
    if (stream === null) {
      host.log(LogLevelValues.debug, "http call answer after stream " + call.streamId.toString() + " ended; dropped");
      return;
    }
    stream.forgetCall(token);
    const r = host.setEffectiveContext(stream.id);
    if (r != WasmResultValues.Ok) {
      host.log(
        LogLevelValues.warn,
        "cannot resume stream " + stream.id.toString() + ": set_effective_context " + wasmResultName(r),
      );
      return;
    }
    const headers =
      numHeaders > 0 ? host.getHeaderMapPairs(MapTypeValues.HttpCallResponseHeaders) : new Array<HeaderPair>();
    const limit = target.maxResponseBytes();
    const read = bodySize > 0 && (limit < 0 || <i64>bodySize <= limit);
    if (read) host.makeRoomFor(<i64>bodySize);
    const body = read ? host.getBufferBytes(BufferTypeValues.HttpCallResponseBody, 0, bodySize) : new Uint8Array(0);
    let status: i32 = 0;
    const s = findHeader(headers, ":status");
    if (s !== null) status = parseStatus(s);
    target.onHttpCallResponse(new HttpCallResponse(status, headers, body, bodySize));
  }
}

/** Parses an HTTP status code; 0 when it is not a 3-digit number. */
export function parseStatus(s: string): i32 {
  if (s.length != 3) return 0;
  let v = 0;
  for (let i = 0; i < 3; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return 0;
    v = v * 10 + c;
  }
  return v;
}

/**
 * One HTTP stream. Every phase method defaults to Continue. The layer tracks
 * whether the response is paused, so it can be resumed exactly once.
 */
export class HttpContext extends BaseContext {
  /** True while the response waits for resumeResponse() or a local response. */
  responsePaused: bool = false;
  /** True while the request waits for resumeRequest() or a local response. */
  requestPaused: bool = false;
  /** Tokens of this stream's HTTP calls that are still out. */
  callTokens: u32[] = [];

  constructor(
    id: u32,
    public root: RootContext,
  ) {
    super(id);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatusValues {
    return FilterHeadersStatusValues.Continue;
  }
  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatusValues {
    return FilterDataStatusValues.Continue;
  }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatusValues {
    return FilterHeadersStatusValues.Continue;
  }
  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatusValues {
    return FilterDataStatusValues.Continue;
  }
  onLog(): void {}
  onDone(): bool {
    return true;
  }
  onDelete(): void {}

  /**
   * Resumes a paused response. Returns false (and changes nothing) when the
   * response is not paused, so a second resume can never reach the host.
   */
  resumeResponse(): bool {
    if (!this.responsePaused) {
      host.log(LogLevelValues.warn, "stream " + this.id.toString() + ": resume ignored, response is not paused");
      return false;
    }
    this.responsePaused = false;
    host.setEffectiveContext(this.id);
    const r = host.continueStream(StreamTypeValues.Response);
    if (r != WasmResultValues.Ok) {
      host.log(LogLevelValues.warn, "stream " + this.id.toString() + ": continue_stream " + wasmResultName(r));
    }
    return true;
  }

  /** Resumes a paused request; false (and nothing done) when it is not paused. */
  resumeRequest(): bool {
    if (!this.requestPaused) {
      host.log(LogLevelValues.warn, "stream " + this.id.toString() + ": resume ignored, request is not paused");
      return false;
    }
    this.requestPaused = false;
    host.setEffectiveContext(this.id);
    const r = host.continueStream(StreamTypeValues.Request);
    if (r != WasmResultValues.Ok) {
      host.log(LogLevelValues.warn, "stream " + this.id.toString() + ": continue_stream(request) " + wasmResultName(r));
    }
    return true;
  }

  /** A call of this stream was answered. */
  forgetCall(token: u32): void {
    const i = this.callTokens.indexOf(token);
    if (i >= 0) this.callTokens.splice(i, 1);
  }

  /** Answers the client locally; ends any pause. */
  sendLocalResponse(status: u32, details: string, body: Uint8Array, headers: Headers): WasmResultValues {
    this.requestPaused = false;
    this.responsePaused = false;
    host.setEffectiveContext(this.id);
    return host.sendLocalResponse(status, details, body, headers);
  }
}

// ---- registry --------------------------------------------------------------

/** Creates the root context for a new plugin instance. */
export abstract class RootContextFactory {
  abstract create(id: u32): RootContext;
}

class DefaultRootFactory extends RootContextFactory {
  create(id: u32): RootContext {
    return new RootContext(id);
  }
}

let rootFactory: RootContextFactory = new DefaultRootFactory();
const roots = new Map<u32, RootContext>();
const streams = new Map<u32, HttpContext>();

/** Registers the factory of the plugin's root context (call once, at start-up). */
export function registerRootContextFactory(factory: RootContextFactory): void {
  rootFactory = factory;
}

export function getRootContext(id: u32): RootContext | null {
  return roots.has(id) ? roots.get(id) : null;
}

export function getHttpContext(id: u32): HttpContext | null {
  return streams.has(id) ? streams.get(id) : null;
}

export function createContext(id: u32, parentId: u32): void {
  if (parentId == 0) {
    roots.set(id, rootFactory.create(id));
    return;
  }
  const root = getRootContext(parentId);
  if (root === null) {
    host.log(LogLevelValues.error, "context " + id.toString() + " created under unknown root " + parentId.toString());
    return;
  }
  streams.set(id, root.createHttpContext(id));
}

export function deleteContext(id: u32): void {
  if (streams.has(id)) {
    const stream = streams.get(id);
    stream.onDelete();
    stream.root.abandonCalls(stream);
    streams.delete(id);
  } else if (roots.has(id)) {
    roots.delete(id);
  }
}
