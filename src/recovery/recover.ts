// Finish what a sync that died midway left: bring the app to a verified release before anything
// else runs. Called with the app's lock held, so every `running` row belongs to a dead process.
import { isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import type { EventSink } from "../deploy/events.js";
import { notInterruptible } from "../deploy/interruption.js";
import { type DeployRun, freshProgress } from "../deploy/run.js";
import { runSinks } from "../deploy/run-sinks.js";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";
import { appLayout } from "../release/layout.js";
import { listReleases, releaseInfo } from "../release/releases.js";
import { resetToNoRelease, returnToRelease } from "../rollback/return-to-release.js";
import {
  currentBootId,
  type DeploymentRecord,
  finishDeployment,
  runningDeployments,
  stepsOf,
} from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";
import { startStep, switchStep, verifyStep } from "../steps/service-steps.js";
import { planRecovery, type RecoveryPlan } from "./recovery-plan.js";
import { settleColors } from "./settle-colors.js";

// Recover every interrupted deployment of the app (normally at most one). Returns false when
// the app could not be brought to a verified release: nothing more should be deployed on top.
export async function recoverInterrupted(
  app: AppConfig,
  db: StateDb,
  log: Logger,
  watcher: EventSink,
): Promise<boolean> {
  let healthy = true;
  for (const dep of runningDeployments(db, app.name)) {
    healthy = (await recoverOne(app, db, log, watcher, dep)) && healthy;
  }
  return healthy;
}

async function recoverOne(
  app: AppConfig,
  db: StateDb,
  log: Logger,
  watcher: EventSink,
  dep: DeploymentRecord,
): Promise<boolean> {
  const layout = appLayout(app);
  const how = dep.bootId && dep.bootId !== currentBootId() ? "a reboot" : `pid ${dep.pid} dying`;
  const why = `interrupted at ${dep.step ?? "start"} by ${how}`;
  const started = stepsOf(db, dep.id).some((s) => s.step === "start");
  const plan = planRecovery({ ...dep, started }, { releases: await listReleases(layout) });
  const from = dep.fromRelease ? await releaseInfo(layout, dep.fromRelease) : undefined;
  const runLog = log.child({ release: dep.toRelease, recovering: dep.id });
  const emit = runSinks(db, dep.id, runLog, watcher);
  const run: DeployRun = {
    app,
    layout,
    db,
    log: runLog,
    emit,
    // Recovery always runs to the end: it is what puts the app back in service.
    interruption: notInterruptible,
    id: dep.id,
    sha: dep.revision ?? "",
    from,
    release: dep.toRelease ?? undefined,
    progress: freshProgress(),
  };
  const blueGreen = dep.strategy === "blue-green" && isBlueGreen(app);
  const how2 = blueGreen ? "settling the colors" : plan.kind;
  run.log.warn({ deployment: dep.id, step: dep.step, plan: how2 }, `sync ${why}: recovering`);
  const text = `${app.name}: sync #${dep.id} was ${why}; recovering (${how2})`;
  emit({ type: "run", app: app.name, kind: "recover", sha: dep.revision ?? undefined, text });
  try {
    const outcome =
      blueGreen && isBlueGreen(app) ? await settleColors(run, app, dep) : await carryOut(run, plan);
    finishDeployment(db, dep.id, outcome, why);
    return true;
  } catch (error) {
    finishDeployment(db, dep.id, "failed", `${why}; recovery failed: ${describeError(error)}`);
    emit({
      type: "said",
      app: app.name,
      text: `${app.name}: recovery failed: ${describeError(error)}`,
    });
    return false;
  }
}

// Execute a plan by the named steps; resolves to the outcome the deployment row records.
async function carryOut(
  run: DeployRun,
  plan: RecoveryPlan,
): Promise<"deployed" | "rolled-back" | "failed"> {
  switch (plan.kind) {
    case "nothing":
      return "failed";
    case "reset":
      await resetToNoRelease(run, plan.db);
      return "failed";
    case "back": {
      const release = await releaseInfo(run.layout, plan.release);
      if (!release) throw new Error(`release ${plan.release} has no REVISION`);
      await returnToRelease(run, { release, db: plan.db, keepCopy: plan.keepCopy });
      return "rolled-back";
    }
    case "forward":
      try {
        const forward = { ...run, release: plan.release, progress: freshProgress() };
        await switchStep(forward);
        await startStep(forward);
        await verifyStep(forward);
        return "deployed";
      } catch {
        // The started release may have taken writes: the fallback keeps a copy of its DB.
        return carryOut(run, plan.fallback);
      }
  }
}
