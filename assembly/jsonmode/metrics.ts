// Envoy counters of ai-json-mode (Envoy files Wasm metrics under `wasmcustom.`):
//   ai_json_mode.converted              responses converted to JSON
//   ai_json_mode.passthrough.<reason>   responses passed through untouched, by reason
//   ai_json_mode.retried                JSON-mode calls repeated after a bad answer
//   ai_json_mode.failed.<code>          conversions that failed, by failure code
//                                        (also counted under passthrough.<code> or answered as errors)
//   ai_json_mode.error_response         failures answered with a 502 (onFailure: error)

import { MetricTypeValues, defineMetric, incrementMetric } from "../proxy";

const PREFIX = "ai_json_mode.";
const ids = new Map<string, u32>();

/** Adds one to a counter, defining it on first use. */
export function count(name: string): void {
  let id: u32;
  if (ids.has(name)) {
    id = ids.get(name);
  } else {
    id = defineMetric(MetricTypeValues.Counter, PREFIX + name);
    ids.set(name, id);
  }
  incrementMetric(id, 1);
}
