// The host's work queue, which keeps Envoy's rule that the VM is never
// re-entered from inside a host call: anything that calls back into the
// module (an answer, a continue, a local reply) waits until the current VM
// call returns, then runs in order.

export class WorkQueue {
  private readonly queue: Array<() => void> = [];
  private readonly afterActions: Array<() => void> = [];
  private draining = false;

  /** The host is busy: inside a VM call or a hook. */
  get busy(): boolean {
    return this.draining;
  }

  /** Runs fn now, or after the current work when the host is busy (inside a VM call or a hook). */
  run(fn: () => void): void {
    this.queue.push(fn);
    if (this.draining) return;
    this.draining = true;
    let error: unknown = undefined;
    const step = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        error ??= e; // a throwing event listener must not stall the queue
      }
    };
    try {
      while (this.queue.length) {
        step(this.queue.shift()!);
        while (this.afterActions.length) step(this.afterActions.shift()!);
      }
    } finally {
      this.draining = false;
    }
    if (error !== undefined) throw error;
  }

  /** Runs fn after the current VM call returns, before anything else queued. */
  after(fn: () => void): void {
    this.afterActions.push(fn);
  }

  /** Runs fn after the current VM call returns, before everything else, even what that call queued. */
  first(fn: () => void): void {
    this.afterActions.unshift(fn);
  }
}
