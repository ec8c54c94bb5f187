// The module's HTTP calls as the host keeps track of them: the tokens it
// hands out, the calls dispatched and not answered yet, the tokens that are
// closed (answered, or dropped by a VM failure), and the answer the module
// reads while proxy_on_http_call_response runs.

import { WasmResult } from "./abi/constants.ts";
import type { HttpCall } from "./types.ts";
import type { CallResponse } from "./vm/imports/index.ts";

export class HttpCalls {
  /** Calls dispatched and not answered yet, by token, in dispatch order. */
  readonly pending = new Map<number, HttpCall>();
  /** Tokens answered or dropped: a late answer to one of them is ignored. */
  private readonly dropped = new Set<number>();
  private nextToken = 1;
  /** The answer being delivered (maps 6/7, buffer 4), or null. */
  response: CallResponse | null = null;
  /** What proxy_get_status reports. */
  status = { code: 0, message: "" };

  /** A token for a new call. */
  nextCallToken(): number {
    return this.nextToken++;
  }

  /** The token of a call that can still be answered; undefined for a closed one; throws for one never issued. */
  check(call: HttpCall | number): number | undefined {
    const token = typeof call === "number" ? call : call.token;
    if (this.pending.has(token)) return token;
    if (this.dropped.has(token)) return undefined; // dropped by a VM failure or already answered
    throw new Error(`no pending HTTP call with token ${token}`);
  }

  /** Closes a pending call (its answer is being delivered); false when it was not pending. */
  close(token: number): boolean {
    if (!this.pending.has(token)) return false;
    this.pending.delete(token);
    this.dropped.add(token);
    return true;
  }

  /** The VM failed: every pending call is dropped, and its answer ignored. */
  dropAll(): void {
    for (const token of this.pending.keys()) this.dropped.add(token);
    this.pending.clear();
  }

  /** Runs fn (proxy_on_http_call_response) with the answer in place; a null answer is a reset. */
  withAnswer(response: CallResponse | null, fn: () => void): void {
    this.response = response;
    this.status = response ? { code: 0, message: "" } : { code: WasmResult.BrokenConnection, message: "reset" };
    try {
      fn();
    } finally {
      this.response = null;
      this.status = { code: 0, message: "" };
    }
  }
}
