// The daemon's reads and writes of the checks table beyond recordCheck: "deploying" rows.
import { type CheckRecord, listChecks } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";
import type { LockHolder } from "../system/lock.js";

// A scheduled check that found a sync in progress is recorded as status "deploying" with no
// verdict: history shows the check was due and why it judged nothing, and no false alarm.
export function recordDeploying(db: StateDb, app: string, holder: LockHolder | undefined): number {
  const note = holder
    ? [{ name: "lock", status: "deploying", summary: `${holder.command} (pid ${holder.pid})` }]
    : [];
  const info = db
    .prepare(
      "INSERT INTO checks (app, at, trigger, status, duration_ms, results) VALUES (?, ?, 'schedule', 'deploying', 0, ?)",
    )
    .run(app, new Date().toISOString(), JSON.stringify(note));
  return Number(info.lastInsertRowid);
}

// The newest check that judged the app ("deploying" rows gave no verdict).
export function lastVerdict(db: StateDb, app: string): CheckRecord | undefined {
  return listChecks(db, app, 50).find((r) => (r.status as string) !== "deploying");
}
