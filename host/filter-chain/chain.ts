// What every part of the filter chain works with: the host it runs in
// (ChainHost, which host.ts provides) and the chain itself (Chain).

import type { EnvoyModel } from "../types.ts";
import type { StreamState } from "./state.ts";

/** What the filter chain needs from the host. */
export interface ChainHost {
  /** The current VM failed and was not re-created yet. */
  readonly failed: boolean;
  /** The current VM generation (1, then one more per re-creation). */
  readonly generation: number;
  readonly failStrategy: "close" | "open";
  readonly abiVersion: string;
  readonly model: EnvoyModel;
  readonly bufferLimit: number;
  readonly http2BufferLimit: number;
  readonly idleTimeoutMs: number;
  /** Calls an export (undefined when the VM failed or the export is missing). */
  invoke(name: string, contextId: number, ...args: number[]): number | undefined;
  /** Runs fn now, or after the current work (no VM re-entry). */
  run(fn: () => void): void;
  /** Runs fn after the current VM call returns. */
  after(fn: () => void): void;
  /** Before a new stream: re-creates a failed VM when allowed. */
  beforeNewStream(): void;
  hostLog(level: number, message: string, contextId: number): void;
}

/** The chain as its parts see it: the host, and the streams whose idle timer runs. */
export interface Chain {
  readonly host: ChainHost;
  readonly timed: Set<StreamState>;
}

/** The stream's VM failed, or was replaced: its context no longer exists in the VM. */
export function vmGone(c: Chain, s: StreamState): boolean {
  return c.host.failed || s.generation !== c.host.generation;
}
