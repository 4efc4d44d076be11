// Remote operations (fetch, push) under one hard deadline, retried with backoff in between.
import { setTimeout as delay } from "node:timers/promises";
import { retryDelay } from "./backoff.js";

export interface AttemptFailure {
  attempt: number;
  error: Error;
  retryInMs: number | undefined;
}

export interface RetryOptions {
  // Hard cap for the whole operation, every attempt and pause included.
  timeoutMs: number;
  onAttemptFailed?: (failure: AttemptFailure) => void;
  // An answer that another attempt would only repeat (the remote refused, not failed to answer).
  isFinal?: (error: Error) => boolean;
}

// Run `attempt` with what is left of the deadline until it succeeds, the deadline leaves no room
// for another, or a final answer comes; the last error is thrown, with the attempts it took.
export async function retryWithinDeadline<T>(
  attempt: (remainingMs: number) => Promise<T>,
  options: RetryOptions,
): Promise<{ value: T; attempts: number }> {
  const deadline = Date.now() + options.timeoutMs;
  for (let n = 1; ; n++) {
    try {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error("deadline passed");
      return { value: await attempt(remaining), attempts: n };
    } catch (error) {
      const final = options.isFinal?.(error as Error) ?? false;
      const retryInMs = final ? undefined : retryDelay(n + 1, deadline - Date.now());
      options.onAttemptFailed?.({ attempt: n, error: error as Error, retryInMs });
      if (retryInMs === undefined) throw Object.assign(error as Error, { attempts: n });
      await delay(retryInMs);
    }
  }
}
