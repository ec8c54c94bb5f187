// Numeric values of the proxy-wasm ABI, as Higress's Envoy uses them.

/** Return value of proxy_on_request_headers / proxy_on_response_headers. */
export enum FilterHeadersStatusValues {
  Continue = 0,
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

/** Return value of proxy_on_request_body / proxy_on_response_body. */
export enum FilterDataStatusValues {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

export enum WasmResultValues {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

export enum BufferTypeValues {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

export enum MapTypeValues {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

export enum LogLevelValues {
  trace = 0,
  debug = 1,
  info = 2,
  warn = 3,
  error = 4,
  critical = 5,
}

export enum StreamTypeValues {
  Request = 0,
  Response = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum MetricTypeValues {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** Human-readable name of a WasmResult, for log lines. */
export function wasmResultName(result: u32): string {
  switch (result) {
    case 0:
      return "Ok";
    case 1:
      return "NotFound";
    case 2:
      return "BadArgument";
    case 3:
      return "SerializationFailure";
    case 4:
      return "ParseFailure";
    case 5:
      return "BadExpression";
    case 6:
      return "InvalidMemoryAccess";
    case 7:
      return "Empty";
    case 8:
      return "CasMismatch";
    case 9:
      return "ResultMismatch";
    case 10:
      return "InternalFailure";
    case 11:
      return "BrokenConnection";
    case 12:
      return "Unimplemented";
  }
  return "WasmResult(" + result.toString() + ")";
}
