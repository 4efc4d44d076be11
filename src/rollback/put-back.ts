// `agent rollback` and `agent restore`: put an older release and/or an older DB back in service,
// as steps recorded like a sync's, undone (back to what was live) if verification fails.
import path from "node:path";
import type { SyncResult } from "../deploy/result.js";
import { type DeployRun, freshProgress, runStep, skipStep, stepFailure } from "../deploy/run.js";
import { runSinks } from "../deploy/run-sinks.js";
import type { AppSession } from "../deploy/session.js";
import { shortSha } from "../deploy/step-names.js";
import { ExitCode } from "../errors.js";
import type { LiveRelease } from "../release/layout.js";
import { keepDatabaseCopy } from "../sqlite/backup-app.js";
import { restoreDatabase } from "../sqlite/restore-db.js";
import { createDeployment, finishDeployment, updateDeployment } from "../state/deployments.js";
import { startStep, stopStep, switchStep, verifyStep } from "../steps/service-steps.js";
import { failed } from "../strategies/conclude.js";
import { rollBack } from "./undo-deploy.js";

export interface PutBackPlan {
  trigger: "rollback" | "restore";
  title: string;
  live: LiveRelease;
  // The release to run afterwards (the live one again for a restore).
  target: LiveRelease;
  // The DB file to put back, or why the DB stays as it is.
  restore: { file: string } | { keep: string };
  // Name of the copy of the current DB kept first, so nothing is destroyed.
  keepAs: "rollback" | "replaced";
}

// stop, backup (a kept copy of the DB as it is), rollback (put the DB back), switch, start,
// verify. The row looks like a sync's to crash recovery: from = what was live, migrated = the
// DB was replaced, backup = the kept copy; so an interruption is undone or finished like one.
export async function putBack(session: AppSession, plan: PutBackPlan): Promise<SyncResult> {
  const { app, db, layout } = session;
  const { live, target } = plan;
  const id = createDeployment(db, {
    app: app.name,
    trigger: plan.trigger,
    fromRelease: live.name,
    revision: target.revision,
  });
  updateDeployment(db, id, { toRelease: target.name });
  const log = session.log.child({ release: target.name });
  const emit = runSinks(db, id, log, session.watcher);
  const progress = freshProgress();
  const sha = target.revision;
  const run: DeployRun = {
    app,
    layout,
    db,
    emit,
    interruption: session.interruption,
    log,
    id,
    sha,
    from: live,
    release: target.name,
    progress,
  };
  emit({ type: "run", app: app.name, kind: plan.trigger, sha: target.revision, text: plan.title });
  try {
    await stopStep(run);
    if (app.database) {
      await runStep(run, "backup", async (note) => {
        const copy = await keepDatabaseCopy(app, plan.keepAs);
        progress.backupPath = copy;
        updateDeployment(db, id, { backupPath: copy });
        note(`current DB kept as ${path.basename(copy)}`);
      });
    }
    const { restore } = plan;
    if ("file" in restore) {
      await runStep(run, "rollback", async (note) => {
        progress.migrated = true;
        updateDeployment(db, id, { migrated: true });
        await restoreDatabase(app, restore.file);
        note(`DB restored from ${path.basename(restore.file)}`);
      });
    } else skipStep(run, "rollback", restore.keep);
    await switchStep(run);
    await startStep(run);
    await verifyStep(run);
  } catch (error) {
    const failure = await rollBack(run, stepFailure(run, "stop", error));
    return failed(run, failure, live.revision);
  }
  finishDeployment(db, id, "deployed");
  const text = `${app.name}: ${shortSha(target.revision)} (${target.name}) is live and verified`;
  emit({ type: "said", app: app.name, text });
  return { app: app.name, code: ExitCode.ok, outcome: "deployed", revision: target.revision };
}
