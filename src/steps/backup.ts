// Steps "precopy" and "backup": a backup of the DB that holds every row committed before the stop.
// The bulk is copied while the app still serves (precopy); after the stop only what changed since
// is applied (backup), so the app's stop window does not grow with the size of its DB. A DB that
// cannot be copied ahead (not in WAL mode), or a copy that could not be brought up to date, is
// backed up whole after the stop, as before.
import path from "node:path";
import { InterruptedError } from "../deploy/interruption.js";
import { type DeployRun, runStep, skipStep } from "../deploy/run.js";
import { describeError } from "../errors.js";
import { logger } from "../log.js";
import { backupApp } from "../sqlite/backup-app.js";
import { fileExists } from "../sqlite/db-files.js";
import {
  abandonPrecopy,
  checkThenPrune,
  finishPrecopy,
  precopyDatabase,
  precopyUnsupported,
} from "../sqlite/precopy.js";
import { backupsNeededForRecovery, updateDeployment } from "../state/deployments.js";

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

// The named step "precopy", before the stop: copy the DB while the old release serves.
export async function precopyStep(run: DeployRun): Promise<void> {
  const unsupported = await precopyUnsupported(run.app);
  if (unsupported) {
    const after = unsupported === "not in WAL mode" ? ": backed up whole after the stop" : "";
    skipStep(run, "precopy", `${unsupported}${after}`);
    return;
  }
  try {
    await runStep(run, "precopy", async (note) => {
      run.precopy = await precopyDatabase(run.app);
      note(`${mb(run.precopy.copy.bytes)} copied while serving, quick_check ok`);
    });
  } catch (error) {
    // Ctrl-C between steps stops the deploy; anything else only means "back up whole after the
    // stop", as for a DB that cannot be copied ahead (the step's failure is on record).
    if (error instanceof InterruptedError) throw error;
    run.log.warn(
      { step: "precopy", err: describeError(error) },
      "the DB could not be copied while serving: it is backed up whole after the stop",
    );
  }
}

// End a pre-copy the deploy did not take up (it failed before the backup step).
export async function abandonPrecopyOf(run: DeployRun): Promise<void> {
  const precopy = run.precopy;
  run.precopy = undefined;
  if (precopy) await abandonPrecopy(run.app, precopy).catch(() => undefined);
}

// Step 6: back up the DB now that nothing writes it: the backup holds every committed row. Its
// path is recorded before anything else changes, so a rollback, or recovery after a power cut,
// can put it back.
export async function backupDatabase(run: DeployRun, note: (text: string) => void): Promise<void> {
  const db = run.app.database;
  if (!db || !(await fileExists(db.path))) {
    // First deploy: the migration creates the DB. Nothing exists that could be lost.
    await abandonPrecopyOf(run);
    updateDeployment(run.db, run.id, { backupPath: null });
    note("no database file yet");
    return;
  }
  const protect = backupsNeededForRecovery(run.db, run.app.name);
  const precopy = run.precopy;
  run.precopy = undefined;
  if (precopy) {
    try {
      const outcome = await finishPrecopy(run.app, precopy);
      record(run, outcome.path);
      // Checked while the deploy goes on (every restore checks what it restores, too); older
      // backups are pruned only once it passed.
      run.backupVerified = checkThenPrune(run.app, outcome.path, protect);
      note(
        `${path.basename(outcome.path)} (${mb(outcome.bytes)} copied while serving, ${mb(outcome.walBytes)} of -wal applied after the stop)`,
      );
      return;
    } catch (error) {
      run.log.warn(
        { step: "backup", err: (error as Error).message },
        "the copy made while serving could not be brought up to date: backing up whole",
      );
    }
  }
  const outcome = await backupApp(run.app, protect);
  record(run, outcome.path);
  note(`${path.basename(outcome.path)} (${mb(outcome.bytes)}, quick_check ok)`);
}

function record(run: DeployRun, backupPath: string): void {
  run.progress.backupPath = backupPath;
  updateDeployment(run.db, run.id, { backupPath });
}

// The named step: skipped for an app without a database.
export async function backupStep(run: DeployRun): Promise<void> {
  if (run.app.database) await runStep(run, "backup", (note) => backupDatabase(run, note));
  else skipStep(run, "backup", "no database configured");
}

// After the app is back: the outcome of the delayed quick_check of a backup brought up to date
// after the stop. A damaged backup does not undo a good deploy; it is logged, and `agent check`
// reports it (its backups check reads the newest backup) until a new one is taken.
export async function awaitBackupVerified(run: DeployRun): Promise<void> {
  const verified = run.backupVerified;
  run.backupVerified = undefined;
  const problem = await verified;
  if (problem) {
    (run.log ?? logger).error(
      { app: run.app.name, backup: run.progress.backupPath, problem },
      "the backup taken for this deploy is damaged; `agent backup` takes a new one",
    );
  }
}
