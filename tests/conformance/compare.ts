// Comparing the transcripts of the two hosts: the C++ embedder (proxy-wasm-cpp-host
// on WAMR in a model of Envoy 1.27) and host/ (V8). Both write the format of
// README.md; before comparing, each is reduced to what both hosts report:
//
// - events of the kinds in COMPARED_EVENTS, in order: the scenario's steps, every
//   call into the VM, every state-changing host call with its arguments and result,
//   log lines at info and above, what went upstream and to the client, local
//   replies, resets, call answers, skipped steps, stream ends, traps and VM
//   re-creation;
// - what each client received, the calls and their states, the metrics.
//
// Left out, each for a reason given in docs/host.md ("Conformance with the C++
// host"): the configuration canary (contexts `canaryN`, `canaryN.root`: host/ tries
// a configuration on its worker VM, whose events for a refused one are named
// `rejectedN`), and events only the C++ model reports about Envoy's internals
// (continue_decoding/encoding, buffer_limit, clear_route_cache, fail_stream,
// call_cancelled, wasm_error, vm_error); of a local reply its path, of a
// configuration its root name or refusing stage. Context ids quoted in log text
// are replaced by context names.
//
// DOCUMENTED_DIFFERENCES lists what else differs for a documented reason; each
// applies only where the C++ transcript shows its situation (a reconfiguration,
// no filter) and leaves out exactly the events it names; everything else must
// still be identical.

import { isDeepStrictEqual } from "node:util";
import type { TEvent, Transcript } from "./corpus.ts";

export const COMPARED_EVENTS = new Set([
  "step",
  "vm",
  "call",
  "log",
  "configure",
  "upstream_headers",
  "upstream_data",
  "client_headers",
  "client_data",
  "local_reply",
  "reset",
  "idle_timeout",
  "call_answer",
  "call_dropped",
  "skipped",
  "stream_end",
  "vm_failed",
  "vm_recover",
  "filter",
  "scenario_error",
]);

/** A difference docs/host.md documents ("Conformance with the C++ host"). */
export interface DocumentedDifference {
  name: string;
  reason: string;
  /** The transcript (of the C++ host) shows the situation. */
  applies: (t: Transcript) => boolean;
  /** The events left out on both sides; everything else must still be identical. */
  ignore: (e: TEvent) => boolean;
  /** Further normalisation of both transcripts (a: the C++ host's, b: host/'s). */
  normalise?: (a: Transcript, b: Transcript) => [Transcript, Transcript];
}

export const DOCUMENTED_DIFFERENCES: DocumentedDifference[] = [
  {
    name: "reconfiguration",
    reason:
      "host/ reconfigures its one root context in place; Envoy gives each configuration a root context of its own " +
      "(proxy_on_context_create, proxy_on_vm_start) and shuts the old one down (proxy_on_done, proxy_on_delete, " +
      "its calls still out cancelled) after its last stream; a call made after the reconfiguration for a stream " +
      "of the old one carries the new configuration's loop marker on host/",
    applies: (t) => t.events.some((e) => e.ev === "configure" && Number(e.index) > 1 && e.accepted === true),
    ignore: (e) =>
      e.ev === "vm" &&
      /^root\d+$/.test(String(e.ctx)) &&
      ["proxy_on_context_create", "proxy_on_vm_start", "proxy_on_done", "proxy_on_delete"].includes(String(e.fn)),
    normalise: (a, b) => {
      // The loop marker of a call: the configuration's, and host/ has only the latest one.
      const unmark = (e: TEvent): TEvent =>
        e.ev === "call" && e.fn === "http_call" && Array.isArray(e.headers)
          ? {
              ...e,
              headers: (e.headers as [string, string][]).map(([k, v]) =>
                k === "x-ai-json-mode" ? [k, "(marker)"] : [k, v],
              ),
            }
          : e;
      // Calls Envoy cancelled with their root context: host/ still delivers their answers.
      const cancelled = new Set(a.calls.filter((c) => c.state === "cancelled").map((c) => c.call));
      const drop = (events: TEvent[]): TEvent[] => {
        const out: TEvent[] = [];
        let skipping = false;
        for (const e of events) {
          if (e.ev === "step") skipping = false;
          if ((e.ev === "call_answer" || e.ev === "call_dropped") && cancelled.has(Number(e.call))) {
            skipping = true;
            continue;
          }
          if (!skipping) out.push(unmark(e));
        }
        return out;
      };
      const calls = (t: Transcript): Transcript["calls"] =>
        t.calls.map((c) => (cancelled.has(c.call) ? { ...c, state: "cancelled" } : c));
      return [
        { ...a, events: drop(a.events), calls: calls(a) },
        { ...b, events: drop(b.events), calls: calls(b) },
      ];
    },
  },
  {
    name: "no filter",
    reason:
      "while no configuration was ever accepted Envoy has no filter at all; host/ keeps the module, unconfigured, " +
      "in the stream's path (the local gateway refuses to start instead)",
    applies: (t) => t.events.some((e) => e.ev === "filter" && e.state === "absent"),
    ignore: (e) => e.ev === "vm" || (e.ev === "filter" && e.state === "absent"),
  },
];

export type Part = "events" | "clients" | "calls" | "metrics" | "errors";

function excludedContext(name: unknown): boolean {
  return typeof name === "string" && (name.startsWith("canary") || name.startsWith("rejected"));
}

/**
 * Context ids in log text ("stream 4: ...") as context names ("stream b: ..."):
 * the hosts number contexts differently (the C++ host gives each root context an
 * id of its own).
 */
function namedIds(t: Transcript, ctx: unknown, msg: string): string {
  const vm = typeof ctx === "string" ? t.contexts[ctx]?.vm : undefined;
  if (vm === undefined) return msg;
  return msg.replace(/\bstream (\d+)\b/g, (m, id: string) => {
    const found = Object.entries(t.contexts).find(([, c]) => c.vm === vm && c.id === Number(id));
    return found ? `stream ${found[0]}` : m;
  });
}

/** The events both hosts report, normalised. */
export function comparableEvents(t: Transcript): TEvent[] {
  const out: TEvent[] = [];
  for (const e of t.events) {
    if (!COMPARED_EVENTS.has(e.ev)) continue;
    if (excludedContext(e.ctx) || excludedContext(e.vm)) continue;
    if (e.ev === "log") {
      out.push({ ...e, msg: namedIds(t, e.ctx, String(e.msg)) });
      continue;
    }
    if (e.ev === "configure") {
      out.push({ ev: "configure", index: e.index, accepted: e.accepted });
      continue;
    }
    if (e.ev === "local_reply") {
      const { path: _path, ...rest } = e;
      out.push(rest as TEvent);
      continue;
    }
    out.push(e);
  }
  return out;
}

export interface Comparison {
  name: string;
  identical: boolean;
  /** Documented differences left out (their names). */
  documented: string[];
  /** Human-readable lines about the first differences. */
  diff: string[];
  parts: Part[];
}

function show(v: unknown, max = 300): string {
  const s = v === undefined ? "(nothing)" : JSON.stringify(v);
  return s.length > max ? s.slice(0, max) + "…" : s;
}

/** Compares two transcripts of one scenario (a: C++ host, b: host/). */
export function compareTranscripts(cpp: Transcript, ts: Transcript, context = 3): Comparison {
  const name = String(cpp.name ?? ts.name);
  const docs = DOCUMENTED_DIFFERENCES.filter((d) => d.applies(cpp));
  let [a, b] = [cpp, ts];
  for (const d of docs) if (d.normalise) [a, b] = d.normalise(a, b);
  const diff: string[] = [];
  const parts: Part[] = [];
  const keep = (e: TEvent): boolean => !docs.some((d) => d.ignore(e));
  const ea = comparableEvents(a).filter(keep);
  const eb = comparableEvents(b).filter(keep);
  const n = Math.max(ea.length, eb.length);
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (!isDeepStrictEqual(ea[i], eb[i])) {
      first = i;
      break;
    }
  }
  if (first >= 0) {
    parts.push("events");
    diff.push(`events differ at #${first} (of ${ea.length} C++, ${eb.length} host/):`);
    for (let i = Math.max(0, first - 2); i < first; i++) diff.push(`    ${show(ea[i], 200)}`);
    // The next few events on each side, then where the two meet again (if they do).
    let shown = 0;
    for (let i = first; i < n && shown < context; i++, shown++) {
      if (isDeepStrictEqual(ea[i], eb[i])) break;
      diff.push(`  - C++   ${show(ea[i])}`);
      diff.push(`  + host/ ${show(eb[i])}`);
    }
  }
  const clients = new Set([...Object.keys(a.clients), ...Object.keys(b.clients)]);
  for (const c of clients) {
    const ca = a.clients[c];
    const cb = b.clients[c];
    if (isDeepStrictEqual(ca, cb)) continue;
    if (!parts.includes("clients")) parts.push("clients");
    if (!ca || !cb) {
      diff.push(`client ${c}: only on ${ca ? "C++" : "host/"}`);
      continue;
    }
    for (const k of new Set([...Object.keys(ca), ...Object.keys(cb)]) as Set<keyof typeof ca>) {
      if (!isDeepStrictEqual(ca[k], cb[k])) diff.push(`client ${c} ${k}: C++ ${show(ca[k])}, host/ ${show(cb[k])}`);
    }
  }
  if (!isDeepStrictEqual(a.calls, b.calls)) {
    parts.push("calls");
    diff.push(`calls: C++ ${show(a.calls)}, host/ ${show(b.calls)}`);
  }
  if (!isDeepStrictEqual(a.metrics, b.metrics)) {
    parts.push("metrics");
    const keys = new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)]);
    const lines = [...keys]
      .filter((k) => a.metrics[k] !== b.metrics[k])
      .map((k) => `${k}: C++ ${a.metrics[k] ?? "-"}, host/ ${b.metrics[k] ?? "-"}`);
    diff.push(`metrics: ${lines.join("; ")}`);
  }
  if (!isDeepStrictEqual(a.errors, b.errors)) {
    parts.push("errors");
    diff.push(`scenario errors: C++ ${show(a.errors)}, host/ ${show(b.errors)}`);
  }
  return { name, identical: parts.length === 0, documented: docs.map((d) => d.name), diff, parts };
}
