// `agent rollback` of a blue-green app: the color that does not serve takes the target release
// back into service by the deploy's own steps. With that color still running the target (a deploy
// that just finished, its old color draining) it is one proxy switch after a verify; otherwise
// the color starts on the target first. The DB is never restored here: both colors write it, and
// `agent restore` stays the operator's call.
import type { BlueGreenApp } from "../config/blue-green.js";
import type { SyncResult } from "../deploy/result.js";
import { type DeployRun, freshProgress, skipStep } from "../deploy/run.js";
import { runSinks } from "../deploy/run-sinks.js";
import type { AppSession } from "../deploy/session.js";
import { shortSha } from "../deploy/step-names.js";
import { StepError } from "../errors.js";
import { servingColor } from "../proxy/serving.js";
import { otherColor, readColor } from "../release/colors.js";
import type { LiveRelease } from "../release/layout.js";
import { createDeployment, updateDeployment } from "../state/deployments.js";
import { colorRunning } from "../steps/color-steps.js";
import { bringIn } from "../strategies/blue-green.js";

export async function rollbackColors(
  session: AppSession,
  app: BlueGreenApp,
  live: LiveRelease,
  target: LiveRelease,
): Promise<SyncResult> {
  const started = performance.now();
  const { db, layout } = session;
  const serving = await servingColor(app);
  if (!serving) throw new StepError("rollback", `${app.name}: no color serves yet`);
  const color = otherColor(serving);
  const id = createDeployment(db, {
    app: app.name,
    trigger: "rollback",
    fromRelease: live.name,
    revision: target.revision,
  });
  updateDeployment(db, id, { toRelease: target.name, strategy: "blue-green", color });
  const log = session.log.child({ release: target.name });
  const emit = runSinks(db, id, log, session.watcher);
  const run: DeployRun = {
    app,
    layout,
    db,
    log,
    emit,
    interruption: session.interruption,
    id,
    sha: target.revision,
    from: live,
    release: target.name,
    progress: freshProgress(),
  };
  const text = `${app.name}: rolling back to ${shortSha(target.revision)} (${target.name}) on ${color}, from ${shortSha(live.revision)} on ${serving}`;
  emit({ type: "run", app: app.name, kind: "rollback", sha: target.revision, text });
  skipStep(
    run,
    "rollback",
    "DB kept: blue-green never restores it (agent restore does, if need be)",
  );
  const runs = await readColor(layout, color);
  const alreadyRunning = runs?.name === target.name && (await colorRunning(app, color));
  return bringIn(run, app, color, serving, started, { alreadyRunning });
}
