// history.retention: check results and finished deployments older than it are deleted, once at
// start and once a day. The newest of each kind per app is always kept, so `agent status`, the
// health endpoint and a rollback never lose the record they stand on.
import type { StateDb } from "../state/state-db.js";

export interface PruneResult {
  checks: number;
  deployments: number;
}

// Delete what is older than retentionMs; returns how many rows went.
export function pruneHistory(db: StateDb, retentionMs: number, now = Date.now()): PruneResult {
  const cutoff = new Date(now - retentionMs).toISOString();
  return db.transaction(() => {
    const checks = db
      .prepare(
        `DELETE FROM checks WHERE at < ?
           AND id NOT IN (SELECT MAX(id) FROM checks GROUP BY app)`,
      )
      .run(cutoff).changes;
    // Finished only: a running row is what crash recovery reads. The newest deployment and the
    // newest successful one per app stay: they name the live release and its pre-switch backup.
    const doomed = `SELECT id FROM deployments
       WHERE finished_at IS NOT NULL AND finished_at < ?
         AND id NOT IN (SELECT MAX(id) FROM deployments GROUP BY app)
         AND id NOT IN (SELECT MAX(id) FROM deployments WHERE outcome = 'deployed' GROUP BY app)`;
    db.prepare(`DELETE FROM deployment_steps WHERE deployment_id IN (${doomed})`).run(cutoff);
    const deployments = db
      .prepare(`DELETE FROM deployments WHERE id IN (${doomed})`)
      .run(cutoff).changes;
    return { checks, deployments };
  })();
}
