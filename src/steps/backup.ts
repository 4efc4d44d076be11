// Step 6: back up the DB now that nothing writes it: the backup holds every committed row.
import path from "node:path";
import { type DeployRun, runStep, skipStep } from "../deploy/run.js";
import { backupApp } from "../sqlite/backup-app.js";
import { fileExists } from "../sqlite/db-files.js";
import { backupsNeededForRecovery, updateDeployment } from "../state/deployments.js";

// Take the verified online backup (pruned to database.backups.keep) and record its path before
// anything else changes, so a rollback, or recovery after a power cut, can put it back.
export async function backupDatabase(run: DeployRun, note: (text: string) => void): Promise<void> {
  const db = run.app.database;
  if (!db || !(await fileExists(db.path))) {
    // First deploy: the migration creates the DB. Nothing exists that could be lost.
    updateDeployment(run.db, run.id, { backupPath: null });
    note("no database file yet");
    return;
  }
  const outcome = await backupApp(run.app, backupsNeededForRecovery(run.db, run.app.name));
  run.progress.backupPath = outcome.path;
  updateDeployment(run.db, run.id, { backupPath: outcome.path });
  const mb = (outcome.bytes / 1048576).toFixed(1);
  note(`${path.basename(outcome.path)} (${mb} MB, quick_check ok)`);
}

// The named step: skipped for an app without a database.
export async function backupStep(run: DeployRun): Promise<void> {
  if (run.app.database) await runStep(run, "backup", (note) => backupDatabase(run, note));
  else skipStep(run, "backup", "no database configured");
}
