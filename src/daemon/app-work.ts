// Serialises the daemon's own work per app (a check and a sync of one app never overlap) and
// tracks it, so SIGTERM can wait for whatever is running to finish.

export class AppWork {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly syncs = new Set<string>();
  private readonly tracked = new Set<Promise<unknown>>();
  private closing = false;

  // onEnded: told each time a piece of work ends (the daemon collects garbage after work).
  constructor(private readonly onEnded: () => void = () => {}) {}

  // Run fn after whatever the daemon is already doing for this app.
  run<T>(app: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(app) ?? Promise.resolve();
    const next = previous.then(fn);
    const tail = next.catch(() => undefined);
    this.tails.set(app, tail);
    void tail.then(() => {
      if (this.tails.get(app) === tail) this.tails.delete(app);
      this.onEnded();
    });
    return next;
  }

  // Queue a sync unless one is already queued or running for the app ("busy": the caller
  // says so, it does not stack a second one) or the daemon is shutting down ("stopping").
  startSync(app: string, fn: () => Promise<void>): "started" | "busy" | "stopping" {
    if (this.closing) return "stopping";
    if (this.syncs.has(app)) return "busy";
    this.syncs.add(app);
    void this.run(app, fn)
      .catch(() => undefined)
      .finally(() => this.syncs.delete(app));
    return "started";
  }

  // Whether the daemon itself has a sync of the app queued or running.
  syncBusy(app: string): boolean {
    return this.syncs.has(app);
  }

  // Follow work that does not need the app's slot (a check that only reports "deploying").
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.catch(() => undefined);
    this.tracked.add(settled);
    void settled.then(() => {
      this.tracked.delete(settled);
      this.onEnded();
    });
    return work;
  }

  // Refuse new syncs, then resolve once nothing is running or queued for any app.
  async drain(): Promise<void> {
    this.closing = true;
    while (this.tails.size > 0 || this.tracked.size > 0) {
      await Promise.all([...this.tails.values(), ...this.tracked]);
    }
  }
}
