// Envoy metrics, shaped like the Higress (proxy-wasm Go) SDK:
//   const hits = defineCounterMetric("my_plugin.hits");
//   hits.increment(1);
// and counters defined on first use, by name, as Higress plugins keep them:
//   const counters = new CounterMetrics("my_plugin.");
//   counters.increment("hits");          // my_plugin.hits
// Envoy files Wasm metrics under the `wasmcustom.` prefix.

import { MetricTypeValues, defineMetric, incrementMetric } from "../proxy";

/** A counter defined with the host; one the host refused to define ignores increments. */
export class MetricCounter {
  constructor(public id: u32) {}

  increment(offset: i64 = 1): void {
    incrementMetric(this.id, offset);
  }
}

/** Defines a counter named `name`. */
export function defineCounterMetric(name: string): MetricCounter {
  return new MetricCounter(defineMetric(MetricTypeValues.Counter, name));
}

/** Counters named `prefix` + name, each defined the first time it is incremented. */
export class CounterMetrics {
  private counters: Map<string, MetricCounter> = new Map<string, MetricCounter>();

  constructor(public prefix: string) {}

  increment(name: string, offset: i64 = 1): void {
    let counter: MetricCounter;
    if (this.counters.has(name)) {
      counter = this.counters.get(name);
    } else {
      counter = defineCounterMetric(this.prefix + name);
      this.counters.set(name, counter);
    }
    counter.increment(offset);
  }
}
