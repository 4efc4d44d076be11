// Whether the live revision still waits for its promotion: it was verified by a sync of this host
// (not put back by a rollback or restore) and no push of it to promote.branch has landed. Read
// from the state DB alone, so a poll can ask it every period for nothing.
import type { AppConfig } from "../config/schema.js";
import { failedAttempts, lastPromotionOf, verifiedBySync } from "../state/promotions.js";
import type { StateDb } from "../state/state-db.js";

export function promotionDue(db: StateDb, app: AppConfig, live: string | undefined): boolean {
  if (!app.promote || !live) return false;
  if (!verifiedBySync(db, app.name, live)) return false;
  return lastPromotionOf(db, app.name, live, app.promote.branch)?.outcome !== "promoted";
}

// The longest a poll waits between two tries of a promotion that keeps failing.
const MAX_RETRY_MS = 3_600_000;

// For the daemon's poll: a due promotion is tried again once a poll period after the last
// attempt, then after twice that, and so on up to an hour: a remote that refuses for good costs
// a sync an hour, not one a period (a CLI sync always tries).
export function promotionRetryDue(
  db: StateDb,
  app: AppConfig,
  live: string | undefined,
  periodMs: number,
  now = Date.now(),
): boolean {
  if (!app.promote || !live || !promotionDue(db, app, live)) return false;
  const last = lastPromotionOf(db, app.name, live, app.promote.branch);
  if (!last) return true;
  const failures = failedAttempts(db, app.name, live, app.promote.branch);
  const waitMs = Math.min(periodMs * 2 ** Math.min(Math.max(failures - 1, 0), 20), MAX_RETRY_MS);
  return now - Date.parse(last.at) >= waitMs;
}
