// `agent rollback`: back to the previous (or a named) release; the DB goes back to the backup
// taken when that release was left, if the releases since changed it.
import path from "node:path";
import { isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import type { EventSink } from "../deploy/events.js";
import type { Interruption } from "../deploy/interruption.js";
import { rememberResult, type SyncResult } from "../deploy/result.js";
import { type AppSession, openAppSession } from "../deploy/session.js";
import { shortSha } from "../deploy/step-names.js";
import { ExitCode, StepError, UsageError } from "../errors.js";
import { type LiveRelease, readLiveRelease } from "../release/layout.js";
import { releaseBefore } from "../release/prune-choice.js";
import { listReleases, releaseInfo } from "../release/releases.js";
import { fileExists } from "../sqlite/db-files.js";
import { databaseChangedSince, deploymentLeaving } from "../state/deployments.js";
import { type PutBackPlan, putBack } from "./put-back.js";
import { rollbackColors } from "./rollback-colors.js";

// Roll the app back; exit codes as sync (0 back and verified, 1 failed and still on the release
// that was live, 2 even that failed, 75 locked).
export async function rollbackApp(
  app: AppConfig,
  options: { to?: string; watcher: EventSink; interruption?: Interruption },
): Promise<SyncResult> {
  const session = await openAppSession(app, "rollback", options.watcher, options.interruption);
  try {
    if (!session.healthy) {
      return { app: app.name, code: ExitCode.rollbackFailed, outcome: "failed" };
    }
    await session.assertTrustedLayout();
    const live = await readLiveRelease(session.layout);
    if (!live) throw new StepError("rollback", `${app.name} has no live release to roll back from`);
    const target = await chooseTarget(session, live, options.to);
    if (isBlueGreen(app)) {
      return rememberResult(session.db, await rollbackColors(session, app, live, target));
    }
    const plan: PutBackPlan = {
      trigger: "rollback",
      title: `${app.name}: rolling back to ${shortSha(target.revision)} (${target.name}) from ${shortSha(live.revision)}`,
      live,
      target,
      restore: databaseFor(session, target.name),
      keepAs: "rollback",
    };
    if ("file" in plan.restore && !(await fileExists(plan.restore.file))) {
      throw new StepError(
        "rollback",
        `the DB backup taken when ${target.name} was left (${path.basename(plan.restore.file)}) is gone; its schema may not fit: pick a backup with agent restore`,
      );
    }
    return rememberResult(session.db, await putBack(session, plan));
  } finally {
    await session.close();
  }
}

// The named release, or the one before the live one in deploy order.
async function chooseTarget(
  session: AppSession,
  live: LiveRelease,
  to?: string,
): Promise<LiveRelease> {
  const names = await listReleases(session.layout);
  const name = to ?? releaseBefore(names, live.name);
  if (!name) throw new StepError("rollback", `${session.app.name}: no release before ${live.name}`);
  if (!names.includes(name)) {
    throw new UsageError(
      `no release ${name} in ${session.layout.releases} (have: ${names.join(", ")})`,
    );
  }
  if (name === live.name) throw new UsageError(`${name} is already live`);
  const info = await releaseInfo(session.layout, name);
  if (!info)
    throw new StepError("rollback", `release ${name} has no REVISION: not a complete release`);
  return info;
}

// Restore the backup of the deployment that left the target, if any deployment since then
// changed the DB (a migration, a restore); otherwise the DB stays.
function databaseFor(session: AppSession, release: string): PutBackPlan["restore"] {
  const { db, app } = session;
  if (!app.database) return { keep: "no database configured" };
  const leaving = deploymentLeaving(db, app.name, release);
  if (!leaving) return { keep: `no deployment on record left ${release}: DB kept as it is` };
  if (!databaseChangedSince(db, app.name, leaving.id))
    return { keep: "no migration since: DB kept" };
  if (!leaving.backupPath) return { keep: `${release} ran without a DB file: DB kept` };
  return { file: leaving.backupPath };
}
