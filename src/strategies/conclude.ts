// How every strategy ends a deployment: recorded, old releases pruned, one sentence said.

import type { SyncResult } from "../deploy/result.js";
import type { DeployRun } from "../deploy/run.js";
import { shortSha } from "../deploy/step-names.js";
import { ExitCode, type StepError } from "../errors.js";
import { formatDuration } from "../output/table.js";
import { pruneEnvironments } from "../release/install-cache.js";
import { pruneReleases } from "../release/releases.js";
import { finishDeployment } from "../state/deployments.js";

// The commit is in service and verified. `keep` names releases a strategy still runs (the other
// color), which pruning must leave.
export async function deployed(
  run: DeployRun,
  startedMs: number,
  keep: string[] = [],
): Promise<SyncResult> {
  const { app } = run;
  finishDeployment(run.db, run.id, "deployed");
  // The deploy is done: a release that cannot be removed now (the app user still filling it) is
  // pruned by a later run, and does not turn this deploy into a failure.
  await pruneReleases(run.layout, app.releases.keep, run.release, keep).then(
    (pruned) => pruned.length > 0 && run.log.info({ pruned }, "old releases pruned"),
    (error: unknown) =>
      run.log.warn({ err: error }, "old releases not pruned; a later run tries again"),
  );
  // Then the dependency environments no kept release links any more (hooks.install_cache).
  await pruneEnvironments(app, run.layout, run.db).then(
    (pruned) => pruned.length > 0 && run.log.info({ pruned }, "unused environments pruned"),
    (error: unknown) =>
      run.log.warn({ err: error }, "environments not pruned; a later run tries again"),
  );
  const text = `${app.name}: deployed ${shortSha(run.sha)} in ${formatDuration(performance.now() - startedMs)}`;
  run.emit({ type: "said", app: app.name, text });
  return { app: app.name, code: ExitCode.ok, outcome: "deployed", revision: run.sha };
}

// The deploy failed and `failure` says how its undo went (exit 1: the old release serves and is
// verified, or was never touched; 2: even that failed).
export function failed(run: DeployRun, failure: StepError, backOn?: string): SyncResult {
  const { app } = run;
  const rolledBack = failure.exitCode === ExitCode.failedRolledBack && backOn !== undefined;
  const back = rolledBack ? `; back on ${shortSha(backOn)}` : "";
  run.emit({ type: "said", app: app.name, text: `${app.name}: ${failure.message}${back}` });
  return {
    app: app.name,
    code: failure.exitCode,
    outcome: rolledBack ? "rolled-back" : "failed",
    revision: run.sha,
    message: failure.message,
  };
}
