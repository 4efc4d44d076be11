// Strategy `blue-green` (DESIGN.md): the new release starts beside the serving one on the idle
// color's port, is verified there, then the proxy sends new connections to it; the old color is
// drained and stopped only when its last connection ends (or drain_timeout). The DB is backed up
// online and never restored automatically: the serving color keeps writing throughout, and a
// restore would drop those writes.

import path from "node:path";
import { type BlueGreenApp, type Color, isBlueGreen } from "../config/blue-green.js";
import { resolveConfigPath } from "../config/paths.js";
import { notInterruptible } from "../deploy/interruption.js";
import { type DeployRun, skipStep, stepFailure } from "../deploy/run.js";
import { ConfigError, ExitCode, StepError } from "../errors.js";
import { servingColor } from "../proxy/serving.js";
import { otherColor, readColor } from "../release/colors.js";
import { appSchema, describeSchemaChange } from "../sqlite/schema-change.js";
import type { SchemaSummary } from "../sqlite/sqlite-cli.js";
import { finishDeployment, updateDeployment } from "../state/deployments.js";
import { backupStep } from "../steps/backup.js";
import { buildStep } from "../steps/build.js";
import {
  drainStep,
  portTakenBy,
  startColorStep,
  stopColorStep,
  switchProxyStep,
  verifyColorStep,
  verifyPublicStep,
} from "../steps/color-steps.js";
import { migrateStep } from "../steps/migrate.js";
import { deployed, failed } from "./conclude.js";
import type { Strategy } from "./strategy.js";

export const blueGreen: Strategy = {
  async deploy(run: DeployRun) {
    const app = blueGreenApp(run);
    const started = performance.now();
    const serving = await servingColor(app);
    const color: Color = serving ? otherColor(serving) : "blue";
    updateDeployment(run.db, run.id, { strategy: "blue-green", color });
    let schemaBefore: SchemaSummary | undefined;
    try {
      // Refused before anything is touched: a port someone else holds is a configuration the
      // host cannot run.
      const taken = await portTakenBy(app, color);
      if (taken) {
        throw new ConfigError(resolveConfigPath(), [
          { path: `apps.${app.name}.blue_green.ports.${color}`, message: taken },
        ]);
      }
      await buildStep(run);
      // The backup is online: the serving color keeps writing; it is what `agent restore` offers
      // if the migration turns out wrong.
      await backupStep(run);
      schemaBefore = app.hooks.migrate ? await appSchema(app) : undefined;
      await migrateStep(run);
    } catch (error) {
      if (error instanceof ConfigError) {
        finishDeployment(run.db, run.id, "failed", error.message);
        throw error;
      }
      const failure = stepFailure(run, "build", error);
      finishDeployment(run.db, run.id, "failed", failure.message);
      if (failure.step === "migrate") await reportMigration(run, app, schemaBefore);
      return failed(run, failure);
    }
    return bringIn(run, app, color, serving, started);
  },
};

// From "start" on, for a release already built (a deploy, or `agent rollback` to a kept one):
// start `color` on run.release, verify it, switch the proxy, verify through it, drain and stop
// the color that served. A failure before the switch stops the new color (the old one served
// throughout); a failure of the public verify switches the proxy back first.
export async function bringIn(
  run: DeployRun,
  app: BlueGreenApp,
  color: Color,
  serving: Color | undefined,
  startedMs: number,
  options: { alreadyRunning?: boolean } = {},
) {
  try {
    if (options.alreadyRunning) skipStep(run, "start", `${color} still runs ${run.release}`);
    else await startColorStep(run, app, color);
    await verifyColorStep(run, app, color);
    await switchProxyStep(run, app, color);
    await verifyPublicStep(run, app);
  } catch (error) {
    const switched = run.progress.switched;
    const failure = await undo(run, app, color, serving, stepFailure(run, "start", error));
    // Before the switch the serving color was never touched: a plain failure, like a failed build.
    const back = serving && switched ? (await readColor(run.layout, serving))?.revision : undefined;
    return failed(run, failure, back);
  }
  // The new color serves and is verified: from here on nothing is undone. A drain or stop that
  // fails leaves the old color running, which `agent check` reports and the next run stops.
  if (serving) {
    try {
      await drainStep(run, app, serving);
      await stopColorStep(run, app, serving);
    } catch (error) {
      run.log.error({ err: error, color: serving }, "the old color was not stopped");
    }
  }
  const keep = serving ? [(await readColor(run.layout, serving))?.name ?? ""] : [];
  return deployed(run, startedMs, keep);
}

// Put the serving color back in charge: the proxy back to it if it had switched, the new color
// stopped. Exit 1 when that worked (the old color served throughout, or again), 2 when not.
async function undo(
  run: DeployRun,
  app: BlueGreenApp,
  color: Color,
  serving: Color | undefined,
  failure: StepError,
): Promise<StepError> {
  updateDeployment(run.db, run.id, { undoing: true });
  // The undo is what keeps the app served: a Ctrl-C does not stop it halfway.
  const back: DeployRun = { ...run, interruption: notInterruptible, progress: { ...run.progress } };
  try {
    if (run.progress.switched && serving) await switchProxyStep(back, app, serving);
    if (run.progress.started) await stopColorStep(back, app, color);
  } catch (error) {
    const message = `${failure.message}; rollback failed: ${(error as Error).message}`;
    finishDeployment(run.db, run.id, "failed", message);
    return new StepError(failure.step, message, ExitCode.rollbackFailed, { cause: error });
  }
  const outcome = serving && run.progress.switched ? "rolled-back" : "failed";
  finishDeployment(run.db, run.id, outcome, failure.message);
  return failure;
}

// A failed migration is not undone here: the serving color kept writing, and a restore would
// drop those writes. Say what the migration changed and how to go back if the operator decides to.
async function reportMigration(
  run: DeployRun,
  app: BlueGreenApp,
  before: SchemaSummary | undefined,
): Promise<void> {
  const change = describeSchemaChange(before, await appSchema(app));
  const backup = run.progress.backupPath
    ? ` (agent restore ${path.basename(run.progress.backupPath)} puts back the DB as it was before the migration)`
    : "";
  const text = `${app.name}: the DB was not restored, as blue-green never does: ${change}${backup}`;
  run.log.error({ schema: change }, text);
  run.emit({ type: "said", app: app.name, text });
}

function blueGreenApp(run: DeployRun): BlueGreenApp {
  if (!isBlueGreen(run.app)) throw new Error(`${run.app.name} is not a blue-green app`);
  return run.app;
}
