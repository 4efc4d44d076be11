// A full garbage collection once the daemon's work has ended. The daemon is idle for minutes
// between checks, and V8 keeps the heap a check grew (and the garbage it left) until its own
// limits push it to collect: measured with a check every second, RssAnon crept from 22 to 37 MB
// over 1,000 checks with no live object left behind. One collection shortly after work, at most
// every 30 s, gives the freed pages back.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Collect = () => void;

// V8's gc(), asked for at run time: NODE_OPTIONS accepts --expose-gc only from Node 20.18, and
// `engines` says 20.5. A context made after the flag is set has it as a global.
export function exposedGc(): Collect | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : undefined");
    return typeof gc === "function" ? (gc as Collect) : undefined;
  } catch {
    return undefined;
  }
}

export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    // exposedGc() in the daemon; undefined: do nothing.
    private readonly gc: Collect | undefined,
    // After work ends, how long to wait (work often comes in bursts: a check, then a sync).
    private readonly afterMs = 2_000,
    // Least time between two collections: a full GC of the daemon's heap costs ~10 ms of CPU.
    private readonly gapMs = 30_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  // Some work ended: collect after afterMs, or once gapMs since the last collection has passed.
  // One collection is pending at most; more work ending meanwhile does not push it back.
  workEnded(): void {
    if (!this.gc || this.timer) return;
    const wait = Math.max(this.afterMs, this.last + this.gapMs - this.now());
    this.timer = setTimeout(() => this.collect(), wait);
    // Never what keeps the daemon from exiting.
    this.timer.unref();
  }

  // Collect now (also before READY: the garbage of starting up goes before the first sample).
  collect(): void {
    this.stop();
    if (!this.gc) return;
    this.gc();
    this.last = this.now();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
