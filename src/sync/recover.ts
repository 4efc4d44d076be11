// Finish what a sync that died midway left: bring the app to a verified release before anything
// else runs. Called with the app's lock held, so every `running` row belongs to a dead process.
import type { AppConfig } from "../config/schema.js";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";
import { appLayout } from "../release/layout.js";
import {
  currentBootId,
  type DeploymentRecord,
  finishDeployment,
  runningDeployments,
  stepsOf,
} from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";
import { type DeployRun, freshProgress, runStep } from "./deploy-run.js";
import { notInterruptible } from "./interruption.js";
import type { StepPrinter } from "./printer.js";
import { planRecovery, type RecoveryPlan } from "./recovery-plan.js";
import { listReleases, releaseInfo } from "./releases.js";
import { resetToNoRelease, returnToRelease } from "./return-to-release.js";
import { startService } from "./start.js";
import { switchCurrent } from "./switch.js";
import { verifyRelease } from "./verify.js";

// Recover every interrupted deployment of the app (normally at most one). Returns false when
// the app could not be brought to a verified release: nothing more should be deployed on top.
export async function recoverInterrupted(
  app: AppConfig,
  db: StateDb,
  log: Logger,
  printer: StepPrinter,
): Promise<boolean> {
  let healthy = true;
  for (const dep of runningDeployments(db, app.name)) {
    healthy = (await recoverOne(app, db, log, printer, dep)) && healthy;
  }
  return healthy;
}

async function recoverOne(
  app: AppConfig,
  db: StateDb,
  log: Logger,
  printer: StepPrinter,
  dep: DeploymentRecord,
): Promise<boolean> {
  const layout = appLayout(app);
  const how = dep.bootId && dep.bootId !== currentBootId() ? "a reboot" : `pid ${dep.pid} dying`;
  const why = `interrupted at ${dep.step ?? "start"} by ${how}`;
  const started = stepsOf(db, dep.id).some((s) => s.step === "start");
  const plan = planRecovery({ ...dep, started }, { releases: await listReleases(layout) });
  const from = dep.fromRelease ? await releaseInfo(layout, dep.fromRelease) : undefined;
  const run: DeployRun = {
    app,
    layout,
    db,
    log: log.child({ release: dep.toRelease, recovering: dep.id }),
    printer,
    // Recovery always runs to the end: it is what puts the app back in service.
    interruption: notInterruptible,
    id: dep.id,
    sha: dep.revision ?? "",
    from,
    release: dep.toRelease ?? undefined,
    progress: freshProgress(),
  };
  run.log.warn({ deployment: dep.id, step: dep.step, plan: plan.kind }, `sync ${why}: recovering`);
  printer.title(`${app.name}: sync #${dep.id} was ${why}; recovering (${plan.kind})`);
  try {
    const outcome = await carryOut(run, plan);
    finishDeployment(db, dep.id, outcome, why);
    return true;
  } catch (error) {
    finishDeployment(db, dep.id, "failed", `${why}; recovery failed: ${describeError(error)}`);
    printer.line(`${app.name}: recovery failed: ${describeError(error)}`);
    return false;
  }
}

// Execute a plan; resolves to the outcome the deployment row records.
async function carryOut(
  run: DeployRun,
  plan: RecoveryPlan,
): Promise<"deployed" | "rolled-back" | "failed"> {
  const target = { app: run.app, layout: run.layout, db: run.db, deploymentId: run.id };
  switch (plan.kind) {
    case "nothing":
      return "failed";
    case "reset":
      await runStep(run, "rollback", async (note) => note(await resetToNoRelease(target, plan.db)));
      return "failed";
    case "back": {
      const release = await releaseInfo(run.layout, plan.release);
      if (!release) throw new Error(`release ${plan.release} has no REVISION`);
      await runStep(run, "rollback", async (note) =>
        note(await returnToRelease(target, { release, db: plan.db, keepCopy: plan.keepCopy })),
      );
      return "rolled-back";
    }
    case "forward":
      try {
        await runStep(run, "start", async () => {
          await switchCurrent(run.layout, plan.release);
          await startService(run.app);
        });
        await runStep(run, "verify", async (note) => note(await verifyRelease(run.app, run.sha)));
        return "deployed";
      } catch {
        // The started release may have taken writes: the fallback keeps a copy of its DB.
        return carryOut(run, plan.fallback);
      }
  }
}
