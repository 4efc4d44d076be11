// Put a release back in service: what step 9, recovery and `agent rollback` have in common.
import { rm } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";
import { keepDatabaseCopy } from "../sqlite/backup-app.js";
import { updateDeployment } from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";
import { fileExists, moveDatabaseAside, removeDatabaseFiles } from "./db-files.js";
import { liftHold } from "./hold.js";
import type { RecoveryDb } from "./recovery-plan.js";
import { restoreDatabase } from "./restore-db.js";
import { startService } from "./start.js";
import { stopService } from "./stop.js";
import { switchCurrent } from "./switch.js";
import { verifyRelease } from "./verify.js";

export interface ReturnPlan {
  release: { name: string; revision: string };
  // "backup": restore that file; "remove": the DB did not exist before (moved aside, not
  // deleted); "keep": leave it as it is.
  db: RecoveryDb;
  // Keep the DB as the undone release left it (it may hold writes that release accepted).
  keepCopy: boolean;
}

export interface ReturnTarget {
  app: AppConfig;
  layout: AppLayout;
  db: StateDb;
  deploymentId: number;
}

// Stop (held), keep a copy of the DB if asked, restore it, swap `current`, start, verify.
// Progress lands in the deployment row, so a power cut midway never restores the DB twice
// (which would throw away what the restored release wrote since). Returns a one-line summary.
export async function returnToRelease(target: ReturnTarget, plan: ReturnPlan): Promise<string> {
  const { app, layout } = target;
  await stopService(app);
  const said = await putDatabaseBack(target, plan.db, plan.keepCopy);
  await switchCurrent(layout, plan.release.name);
  await startService(app);
  await verifyRelease(app, plan.release.revision);
  said.push(`current -> ${plan.release.name}`);
  return said.join(", ");
}

// A first deploy has nothing to go back to: undo its DB change, remove `current` (so that no
// start can run the failed release, and the next sync deploys afresh) and lift the hold. The
// app stays stopped.
export async function resetToNoRelease(target: ReturnTarget, db: RecoveryDb): Promise<string> {
  await stopService(target.app);
  const said = await putDatabaseBack(target, db, false);
  await rm(target.layout.current, { force: true });
  await liftHold(target.app);
  said.push("current removed, app left stopped");
  return said.join(", ");
}

// Keep a copy if asked, then restore (or move aside) the DB; record each part as it is done.
async function putDatabaseBack(
  target: ReturnTarget,
  db: RecoveryDb,
  keepCopy: boolean,
): Promise<string[]> {
  const { app } = target;
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
    updateDeployment(target.db, target.deploymentId, { keptCopy: copy });
    said.push(`kept the failed release's DB as ${path.basename(copy)}`);
  }
  if (db.kind === "backup") {
    await restoreDatabase(app, db.file);
    updateDeployment(target.db, target.deploymentId, { dbRestored: true });
    said.push(`DB restored from ${path.basename(db.file)}`);
  } else if (db.kind === "remove" && app.database) {
    await removeDatabaseFiles(app.database.path);
    updateDeployment(target.db, target.deploymentId, { dbRestored: true });
    said.push("DB created by the failed release moved aside");
  }
  return said;
}
