// Check results in the state DB: record one run, read the latest.
import type { CheckResult, CheckStatus } from "../check/types.js";
import type { StateDb } from "./state-db.js";

export interface CheckRecord {
  id: number;
  app: string;
  at: string;
  trigger: string;
  status: CheckStatus;
  durationMs: number;
  results: Pick<CheckResult, "name" | "status" | "summary">[];
}

export function recordCheck(
  db: StateDb,
  run: {
    app: string;
    trigger: string;
    status: CheckStatus;
    durationMs: number;
    checks: CheckResult[];
  },
): number {
  const results = run.checks.map(({ name, status, summary }) => ({ name, status, summary }));
  const info = db
    .prepare(
      "INSERT INTO checks (app, at, trigger, status, duration_ms, results) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .run(
      run.app,
      new Date().toISOString(),
      run.trigger,
      run.status,
      run.durationMs,
      JSON.stringify(results),
    );
  return Number(info.lastInsertRowid);
}

interface CheckRow {
  id: number;
  app: string;
  at: string;
  trigger: string;
  status: CheckStatus;
  duration_ms: number;
  results: string;
}

function fromRow(row: CheckRow): CheckRecord {
  return {
    id: row.id,
    app: row.app,
    at: row.at,
    trigger: row.trigger,
    status: row.status,
    durationMs: row.duration_ms,
    results: JSON.parse(row.results),
  };
}

// Newest check runs of an app, newest first, optionally only those after `since` (ISO time).
export function listChecks(db: StateDb, app: string, limit: number, since?: string): CheckRecord[] {
  const rows = db
    .prepare("SELECT * FROM checks WHERE app = ? AND at >= ? ORDER BY id DESC LIMIT ?")
    .all(app, since ?? "", limit) as CheckRow[];
  return rows.map(fromRow);
}
