// Small time helpers shared by the harness and the tests.
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

// Resolve after ms milliseconds.
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

// Whether promise settles within ms; the timer is cleared so it never keeps the process alive.
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface WaitForOptions {
  intervalMs?: number;
  // Shown in the timeout error so a failing test says what it was waiting for.
  what?: string;
}

// Poll predicate until it returns a truthy value (returned) or timeoutMs passes (throws).
// A throwing predicate counts as "not yet", so callers can poll things that do not exist yet.
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs: number,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const interval = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = options.what ?? "condition";
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await delay(interval);
  }
}

// Block the thread for ms milliseconds; only for 'exit' handlers, where nothing async runs.
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Whether a host process still runs. A zombie counts as gone: a killed machine's PID 1 stays a
// zombie until unshare reaps it, and by then nothing of the machine runs any more.
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // The state letter follows the parenthesised command name, which may itself contain spaces.
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}
