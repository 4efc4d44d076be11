// Promotion pushes in the state DB: each attempt's outcome, and which verified deployment still
// waits for its promotion (DESIGN.md "Promotion across hosts").
import type { StateDb } from "./state-db.js";

export type PromotionOutcome = "promoted" | "failed" | "refused";

export interface PromotionRecord {
  revision: string;
  branch: string;
  at: string;
  outcome: PromotionOutcome;
  attempts: number;
  message: string | null;
}

export function recordPromotion(
  db: StateDb,
  app: string,
  row: Omit<PromotionRecord, "at">,
): PromotionRecord {
  const at = new Date().toISOString();
  db.prepare(
    "INSERT INTO promotions (app, revision, branch, at, outcome, attempts, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
  ).run(app, row.revision, row.branch, at, row.outcome, row.attempts, row.message);
  return { ...row, at };
}

// The last promotion attempt of `revision` to `branch`, if any.
export function lastPromotionOf(
  db: StateDb,
  app: string,
  revision: string,
  branch: string,
): PromotionRecord | undefined {
  return db
    .prepare(
      `SELECT revision, branch, at, outcome, attempts, message FROM promotions
       WHERE app = ? AND revision = ? AND branch = ? ORDER BY id DESC LIMIT 1`,
    )
    .get(app, revision, branch) as PromotionRecord | undefined;
}

// The newest promotion attempt of the app, whatever its revision.
export function lastPromotion(db: StateDb, app: string): PromotionRecord | undefined {
  return db
    .prepare(
      "SELECT revision, branch, at, outcome, attempts, message FROM promotions WHERE app = ? ORDER BY id DESC LIMIT 1",
    )
    .get(app) as PromotionRecord | undefined;
}

// Promotion attempts of the app's deployments, newest first, for `agent history`.
export function promotionsOf(
  db: StateDb,
  app: string,
  limit: number,
  since = "",
): PromotionRecord[] {
  return db
    .prepare(
      "SELECT revision, branch, at, outcome, attempts, message FROM promotions WHERE app = ? AND at >= ? ORDER BY id DESC LIMIT ?",
    )
    .all(app, since, limit) as PromotionRecord[];
}

// Whether `revision` was verified by a sync of this host (a deploy, or a recovery that completed
// one), not only put back by a rollback or restore: only such a commit is promoted.
export function verifiedBySync(db: StateDb, app: string, revision: string): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM deployments WHERE app = ? AND revision = ? AND outcome = 'deployed'
         AND trigger NOT IN ('rollback', 'restore') LIMIT 1`,
      )
      .get(app, revision) !== undefined
  );
}

// How many promotion attempts of `revision` to `branch` have not landed, since the last that did.
export function failedAttempts(db: StateDb, app: string, revision: string, branch: string): number {
  const row = db
    .prepare(
      `SELECT count(*) AS n FROM promotions WHERE app = ? AND revision = ? AND branch = ?
       AND outcome != 'promoted'`,
    )
    .get(app, revision, branch) as { n: number };
  return row.n;
}
