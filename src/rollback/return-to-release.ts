// Put a release back in service by the same named steps a deploy runs: what step 9, recovery and
// a failed `agent rollback` have in common. The deployment row is marked as undoing first, so a
// power cut midway is recovered by going back again, never by going forward.
import { rm } from "node:fs/promises";
import path from "node:path";
import { notInterruptible } from "../deploy/interruption.js";
import { type DeployRun, freshProgress, runStep, skipStep } from "../deploy/run.js";
import { logger } from "../log.js";
import type { RecoveryDb } from "../recovery/recovery-plan.js";
import { keepDatabaseCopy } from "../sqlite/backup-app.js";
import { fileExists, moveDatabaseAside, removeDatabaseFiles } from "../sqlite/db-files.js";
import { restoreDatabase } from "../sqlite/restore-db.js";
import { updateDeployment } from "../state/deployments.js";
import { liftHold } from "../steps/hold.js";
import { startStep, stopStep, switchStep, verifyStep } from "../steps/service-steps.js";

export interface ReturnPlan {
  release: { name: string; revision: string };
  // "backup": restore that file; "remove": the DB did not exist before (moved aside, not
  // deleted); "keep": leave it as it is.
  db: RecoveryDb;
  // Keep the DB as the undone release left it (it may hold writes that release accepted).
  keepCopy: boolean;
}

// stop (held), rollback (keep a copy of the DB if asked, restore it), switch, start, verify.
// Progress lands in the deployment row, so a power cut midway never restores the DB twice
// (which would throw away what the restored release wrote since).
export async function returnToRelease(run: DeployRun, plan: ReturnPlan): Promise<void> {
  const back = undoing(run, plan.release);
  await stopStep(back);
  await databaseStep(back, plan.db, plan.keepCopy);
  await switchStep(back);
  await startStep(back);
  await verifyStep(back);
}

// A first deploy has nothing to go back to: undo its DB change, remove `current` (so that no
// start can run the failed release, and the next sync deploys afresh) and lift the hold. The
// app stays stopped.
export async function resetToNoRelease(run: DeployRun, db: RecoveryDb): Promise<void> {
  const back = undoing(run, undefined);
  await stopStep(back);
  await runStep(back, "rollback", async (note) => {
    const said = await putDatabaseBack(back, db, false);
    await rm(back.layout.current, { force: true });
    await liftHold(back.app);
    note([...said, "current removed, app left stopped"].join(", "));
  });
}

// The run as its undo sees it: the release it returns to, nothing changed yet, and no Ctrl-C
// stopping it halfway (the undo is what puts the app back in service).
function undoing(run: DeployRun, release: ReturnPlan["release"] | undefined): DeployRun {
  updateDeployment(run.db, run.id, { undoing: true });
  return {
    ...run,
    release: release?.name,
    sha: release?.revision ?? run.sha,
    interruption: notInterruptible,
    progress: freshProgress(),
  };
}

// The "rollback" step: the DB as it was before the deployment, or skipped when it stays.
async function databaseStep(run: DeployRun, db: RecoveryDb, keepCopy: boolean): Promise<void> {
  if (db.kind === "keep" && !keepCopy) {
    skipStep(run, "rollback", "DB unchanged by the deployment");
    return;
  }
  await runStep(run, "rollback", async (note) => {
    const said = await putDatabaseBack(run, db, keepCopy);
    note(said.join(", ") || "DB kept");
  });
}

// Keep a copy if asked, then restore (or move aside) the DB; record each part as it is done.
async function putDatabaseBack(
  run: DeployRun,
  db: RecoveryDb,
  keepCopy: boolean,
): Promise<string[]> {
  const { app } = run;
  const said: string[] = [];
  const present = !!app.database && (await fileExists(app.database.path));
  if (present && (keepCopy || db.kind === "remove")) {
    let copy: string;
    try {
      copy = await keepDatabaseCopy(app, "failed");
    } catch (error) {
      // A copy that cannot be made (the app user can spoil its own DB) must not keep the old
      // release from starting: the files are renamed aside instead, which loses nothing either.
      copy = await moveDatabaseAside(app.database?.path as string, "failed");
      logger.error(
        { app: app.name, err: error, movedTo: copy },
        "the DB could not be copied: renamed aside",
      );
    }
    updateDeployment(run.db, run.id, { keptCopy: copy });
    said.push(`kept the failed release's DB as ${path.basename(copy)}`);
  }
  if (db.kind === "backup") {
    await restoreDatabase(app, db.file);
    updateDeployment(run.db, run.id, { dbRestored: true });
    said.push(`DB restored from ${path.basename(db.file)}`);
  } else if (db.kind === "remove" && app.database) {
    await removeDatabaseFiles(app.database.path);
    updateDeployment(run.db, run.id, { dbRestored: true });
    said.push("DB created by the failed release moved aside");
  }
  return said;
}
