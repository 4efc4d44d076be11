// Ctrl-C, a dropped SSH session (SIGHUP) or a SIGTERM during a sync, rollback or restore from a
// shell: the run does not die between a stop and a start, leaving the app held and stopped for a
// person to find. The signal is remembered; the step under way finishes, and the run then rolls
// back (or, once the new release has started, verifies it) before it exits.
export interface Interruption {
  // The first signal received, while fn runs; undefined when none came.
  readonly signal: NodeJS.Signals | undefined;
}

// For runs nobody can interrupt this way (the daemon's own syncs: it drains on SIGTERM).
export const notInterruptible: Interruption = { signal: undefined };

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

// Catch the signals for as long as fn runs. `say` tells the person (on stderr) what happens now;
// after a hang-up nobody reads it, and writing to the dead terminal must not kill us either.
export async function catchingSignals<T>(
  fn: (interruption: Interruption) => Promise<T>,
  say: (text: string) => void,
): Promise<T> {
  const state: { signal: NodeJS.Signals | undefined } = { signal: undefined };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.signal) {
      say(
        `${signal}: still finishing after ${state.signal}; the app is being put back in service (kill -9 leaves that to the next run)`,
      );
      return;
    }
    state.signal = signal;
    say(
      `${signal}: finishing the current step, then rolling back (or verifying a release that has started)`,
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    return await fn(state);
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}

// What catchingSignals says, on stderr: "agent sync: SIGINT: finishing the current step...".
export function sayOnStderr(command: string): (text: string) => void {
  return (text) => {
    try {
      process.stderr.write(`agent ${command}: ${text}\n`);
    } catch {
      // The terminal is gone (SIGHUP): nobody to tell.
    }
  };
}

// The run was interrupted; thrown between steps so the usual failure path undoes what was done.
export class InterruptedError extends Error {
  constructor(
    readonly signal: NodeJS.Signals,
    before: string,
  ) {
    super(`interrupted by ${signal} before ${before}`);
    this.name = "InterruptedError";
  }
}

// Steps that run once interrupted: putting the app back. Once the new release's start has begun
// (`started`), it is verified rather than stopped again: that is the shorter way to a release
// that serves.
const FINISHING = new Set(["rollback"]);

// Throw InterruptedError if a signal came and the run is not already finishing.
export function stopIfInterrupted(
  interruption: Interruption,
  step: string,
  started: boolean,
): void {
  if (interruption.signal && !started && !FINISHING.has(step)) {
    throw new InterruptedError(interruption.signal, step);
  }
}
