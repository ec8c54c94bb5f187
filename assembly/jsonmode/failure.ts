// Why a conversion did not happen. A failure's code is stable: clients read it
// in the 502 body (`error.code`, with onFailure: error) and the metrics count
// it (`ai_json_mode.failed.<code>`, `ai_json_mode.passthrough.<code>`); its
// reason is for log lines.

/** A failure: a code from FailureCode and a reason. */
export class Failure {
  constructor(
    public code: string,
    public reason: string,
  ) {}
}

/** Every failure code. README.md and README.zh-CN.md list the same set. */
export namespace FailureCode {
  /** The upstream body is empty or not JSON, or its stream is unusable (an event not JSON or an error, no data). */
  export const UpstreamNotJson = "upstream_not_json";
  /** The completion has no `choices[0].message.content` string. */
  export const NoContent = "no_content";
  /** The upstream's (or the JSON-mode model's) content is empty or blank. */
  export const EmptyContent = "empty_content";
  /** The JSON-mode call was refused, reset, or answered with a status other than 200. */
  export const CallFailed = "call_failed";
  /** The JSON-mode call answered 200 with something that is no chat completion with content. */
  export const InvalidAnswer = "invalid_answer";
  /** The model's answer holds no JSON object or array (retried). */
  export const InvalidJson = "invalid_json";
  /** The model's JSON does not match `jsonSchema` (retried). */
  export const SchemaMismatch = "schema_mismatch";
  /** The host refused the converted body. */
  export const Internal = "internal";
}

/** FailureCode's values, one each (tests/config-schema/failure-codes.test.ts checks the READMEs against them). */
export const FAILURE_CODES: string[] = [
  FailureCode.UpstreamNotJson,
  FailureCode.NoContent,
  FailureCode.EmptyContent,
  FailureCode.CallFailed,
  FailureCode.InvalidAnswer,
  FailureCode.InvalidJson,
  FailureCode.SchemaMismatch,
  FailureCode.Internal,
];
