// Metrics with Envoy's rules: a counter only increases, a gauge is set or
// moved, a histogram records samples and cannot be read or incremented.

import { MetricType, WasmResult as R } from "../../abi/constants.ts";
import type { MetricValue } from "../../types.ts";
import type { ImportGroup, ImportHost } from "./types.ts";

interface MetricRecord {
  name: string;
  type: number;
  value: bigint;
  samples: bigint[];
}

/** The metrics the module defined: one record per (type, name); every definition gets its own id. */
export class MetricStore {
  private readonly byId = new Map<number, MetricRecord>();
  private readonly byKey = new Map<string, MetricRecord>();
  private nextId = 1;

  define(type: number, name: string): number {
    const key = `${type}:${name}`;
    let rec = this.byKey.get(key);
    if (!rec) {
      rec = { name, type: type >>> 0, value: 0n, samples: [] };
      this.byKey.set(key, rec);
    }
    const id = this.nextId++ * 4 + (type >>> 0);
    this.byId.set(id, rec);
    return id;
  }

  get(id: number): MetricRecord | undefined {
    return this.byId.get(id >>> 0);
  }

  /** Every metric by name (histograms with their samples). */
  snapshot(): Map<string, MetricValue> {
    const out = new Map<string, MetricValue>();
    for (const m of this.byKey.values()) {
      out.set(
        m.name,
        m.type === MetricType.Histogram
          ? { type: m.type, value: m.value, samples: [...m.samples] }
          : { type: m.type, value: m.value },
      );
    }
    return out;
  }
}

export function metricImports(h: ImportHost): ImportGroup {
  const { mem, metrics } = h;
  return {
    proxy_define_metric: {
      fn: (type: number, nPtr: number, nLen: number, idPtr: number) => {
        if (type >>> 0 > MetricType.Histogram) return R.BadArgument;
        const id = metrics.define(type, mem.readString(nPtr, nLen));
        mem.writeU32(idPtr, id);
        return R.Ok;
      },
      trace: (type: number, nPtr: number, nLen: number) => [type >>> 0, mem.readString(nPtr, nLen)],
    },
    proxy_increment_metric: {
      fn: (id: number, delta: bigint) => {
        const m = metrics.get(id);
        if (!m) return R.NotFound;
        if (m.type === MetricType.Counter) {
          if (delta <= 0n) return R.BadArgument;
          m.value += delta;
          return R.Ok;
        }
        if (m.type === MetricType.Gauge) {
          m.value += delta;
          return R.Ok;
        }
        return R.BadArgument;
      },
      trace: (id: number, delta: bigint) => [id >>> 0, delta],
    },
    proxy_record_metric: {
      fn: (id: number, value: bigint) => {
        const m = metrics.get(id);
        if (!m) return R.NotFound;
        const v = BigInt.asUintN(64, value);
        if (m.type === MetricType.Counter) m.value += v;
        else if (m.type === MetricType.Gauge) m.value = v;
        else {
          m.value = v;
          m.samples.push(v);
        }
        return R.Ok;
      },
      trace: (id: number, value: bigint) => [id >>> 0, value],
    },
    proxy_get_metric: {
      fn: (id: number, out: number) => {
        const m = metrics.get(id);
        if (!m) return R.NotFound;
        if (m.type === MetricType.Histogram) return R.BadArgument;
        mem.writeU64(out, m.value);
        return R.Ok;
      },
    },
  };
}
