// The functions the host calls. Each finds the context by id and delegates;
// an unknown id gets the neutral answer (Continue / true), never a trap.

import { FilterDataStatusValues, FilterHeadersStatusValues } from "./abi";
import { createContext, deleteContext, getHttpContext, getRootContext } from "./context";
export { malloc } from "./hostcalls";

/** Declares the Higress ABI: response-header StopIteration keeps body callbacks flowing. */
export function proxy_abi_version_0_2_100(): void {}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  createContext(contextId, parentContextId);
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  const root = getRootContext(rootContextId);
  return root === null ? true : root.onVmStart(vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  const root = getRootContext(rootContextId);
  return root === null ? false : root.onConfigure(pluginConfigurationSize);
}

export function proxy_on_request_headers(
  contextId: u32,
  numHeaders: u32,
  endOfStream: bool,
): FilterHeadersStatusValues {
  const ctx = getHttpContext(contextId);
  if (ctx === null) return FilterHeadersStatusValues.Continue;
  const action = ctx.onRequestHeaders(numHeaders, endOfStream);
  if (
    endOfStream &&
    action != FilterHeadersStatusValues.Continue &&
    action != FilterHeadersStatusValues.ContinueAndEndStream
  ) {
    ctx.requestPaused = true;
  }
  return action;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatusValues {
  const ctx = getHttpContext(contextId);
  if (ctx === null) return FilterDataStatusValues.Continue;
  const action = ctx.onRequestBody(bodySize, endOfStream);
  if (endOfStream && action != FilterDataStatusValues.Continue) ctx.requestPaused = true;
  return action;
}

export function proxy_on_response_headers(
  contextId: u32,
  numHeaders: u32,
  endOfStream: bool,
): FilterHeadersStatusValues {
  const ctx = getHttpContext(contextId);
  if (ctx === null) return FilterHeadersStatusValues.Continue;
  const action = ctx.onResponseHeaders(numHeaders, endOfStream);
  if (
    endOfStream &&
    action != FilterHeadersStatusValues.Continue &&
    action != FilterHeadersStatusValues.ContinueAndEndStream
  ) {
    ctx.responsePaused = true;
  }
  return action;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatusValues {
  const ctx = getHttpContext(contextId);
  if (ctx === null) return FilterDataStatusValues.Continue;
  const action = ctx.onResponseBody(bodySize, endOfStream);
  if (endOfStream && action != FilterDataStatusValues.Continue) ctx.responsePaused = true;
  return action;
}

export function proxy_on_http_call_response(
  rootContextId: u32,
  token: u32,
  numHeaders: u32,
  bodySize: u32,
  numTrailers: u32,
): void {
  const root = getRootContext(rootContextId);
  if (root !== null) root.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
}

export function proxy_on_log(contextId: u32): void {
  const ctx = getHttpContext(contextId);
  if (ctx !== null) ctx.onLog();
}

export function proxy_on_done(contextId: u32): bool {
  const ctx = getHttpContext(contextId);
  return ctx === null ? true : ctx.onDone();
}

export function proxy_on_delete(contextId: u32): void {
  deleteContext(contextId);
}
