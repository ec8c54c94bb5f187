// Envoy counters of ai-json-mode (Envoy files Wasm metrics under `wasmcustom.`):
//   ai_json_mode.converted              responses converted to JSON
//   ai_json_mode.passthrough.<reason>   responses passed through untouched, by reason
//   ai_json_mode.retried                JSON-mode calls repeated after a bad answer
//   ai_json_mode.failed.<code>          conversions that failed, by failure code
//                                        (also counted under passthrough.<code> or answered as errors)
//   ai_json_mode.error_response         failures answered with a 502 (onFailure: error)
//   ai_json_mode.loop_header_removed    client requests whose x-ai-json-mode was not the plugin's marker
//   ai_json_mode.inject.injected        strategy inject: chat requests sent with the JSON instruction
//   ai_json_mode.inject.skipped.<why>   strategy inject: requests sent untouched, by reason
//   ai_json_mode.inject.direct          strategy inject: answers that were usable JSON (no JSON-mode call)
//   ai_json_mode.inject.repaired        strategy inject: answers converted by the JSON-mode model

import { CounterMetrics } from "../higress";

const counters = new CounterMetrics("ai_json_mode.");

/** Adds one to a counter, defining it on first use. */
export function count(name: string): void {
  counters.increment(name);
}
