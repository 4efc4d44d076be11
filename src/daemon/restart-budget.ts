// on_critical=restart may restart an app at most a few times an hour, across daemon restarts.
import { recall, remember } from "../state/app-memory.js";
import type { StateDb } from "../state/state-db.js";

export interface RestartBudget {
  max: number;
  windowMs: number;
}

// Two restarts in a rolling hour: enough to recover from a wedged worker twice, never a loop.
export const DEFAULT_RESTART_BUDGET: RestartBudget = { max: 2, windowMs: 3_600_000 };

const MEMORY_KEY = "on_critical.restarts";

// Decide whether one more restart fits in the budget, given earlier restart times (epoch ms).
// Returns the times still inside the window, plus `now` when the restart is allowed.
export function spendRestart(
  earlier: readonly number[],
  now: number,
  budget: RestartBudget = DEFAULT_RESTART_BUDGET,
): { allowed: boolean; times: number[] } {
  // A time in the future means the clock went backwards; counting it keeps the budget safe.
  const recent = earlier.filter((t) => now - t < budget.windowMs);
  if (recent.length >= budget.max) return { allowed: false, times: recent };
  return { allowed: true, times: [...recent, now] };
}

// Restart times remembered for an app; anything unreadable counts as "none yet".
export function readRestartTimes(db: StateDb, app: string): number[] {
  const text = recall(db, app, MEMORY_KEY);
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((t): t is number => Number.isFinite(t)) : [];
  } catch {
    return [];
  }
}

// Take one restart from the app's persisted budget; false when the budget is spent.
export function takeRestart(db: StateDb, app: string, now = Date.now()): boolean {
  const { allowed, times } = spendRestart(readRestartTimes(db, app), now);
  remember(db, app, MEMORY_KEY, JSON.stringify(times));
  return allowed;
}
