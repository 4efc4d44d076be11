// One sync of one app, in the order of DESIGN.md "Sync, step by step": lock, fetch, compare,
// build, stop, backup, switch, migrate, start, verify; a failure in 4–8 rolls back (9).
import type { AppConfig } from "../config/schema.js";
import { ExitCode } from "../errors.js";
import { formatDuration } from "../output/table.js";
import { readLiveRelease } from "../release/layout.js";
import { finishDeployment } from "../state/deployments.js";
import { openAppSession } from "./app-session.js";
import { backupDatabase } from "./backup.js";
import { buildRelease } from "./build.js";
import { type DeployRun, runStep, skipStep, stepFailure } from "./deploy-run.js";
import { type FetchedTarget, fetchTarget } from "./fetch.js";
import { ensureHoldDropIn } from "./hold.js";
import type { Interruption } from "./interruption.js";
import { migrateDatabase } from "./migrate.js";
import { openRun } from "./open-run.js";
import { type StepPrinter, silentPrinter } from "./printer.js";
import { pruneReleases } from "./releases.js";
import { rollBack } from "./rollback.js";
import { startStep, stopStep, switchStep, verifyStep } from "./service-steps.js";
import { shortSha } from "./step-names.js";
import { rememberResult, type SyncResult } from "./sync-result.js";
import { remoteUnreachable } from "./unreachable.js";

export type { SyncOutcome, SyncResult } from "./sync-result.js";

export interface SyncOptions {
  // Deploy this commit, tag or branch instead of the configured branch head.
  ref?: string;
  // Boot mode: an unreachable remote is a warning (exit 0), never a failed boot.
  boot?: boolean;
  // Recorded in the state DB: cli, boot, poll, api.
  trigger?: string;
  printer?: StepPrinter;
  // A CLI run's signals (Ctrl-C, hang-up): wind down cleanly. The daemon's syncs have none.
  interruption?: Interruption;
}

// Sync one app. Throws LockHeldError (exit 75) when another run holds the app.
export async function syncApp(app: AppConfig, options: SyncOptions = {}): Promise<SyncResult> {
  const printer = options.printer ?? silentPrinter;
  const trigger = options.trigger ?? (options.boot ? "boot" : "cli");
  // 1. One sync, rollback, restore or backup of an app at a time. A sync that died midway
  // (power cut, kill -9) is resolved first, and its debris swept up.
  const session = await openAppSession(
    app,
    options.boot ? "sync --boot" : "sync",
    printer,
    options.interruption,
  );
  const { layout, db, log } = session;
  try {
    if (!session.healthy) {
      return rememberResult(db, {
        app: app.name,
        code: ExitCode.rollbackFailed,
        outcome: "failed",
      });
    }
    await session.assertTrustedLayout();
    // 2. Fetch. An unreachable or hanging remote leaves the live release running.
    const live = await readLiveRelease(layout);
    const fetchStarted = new Date();
    let target: FetchedTarget;
    try {
      target = await fetchTarget(app, layout, options.ref, log, live?.revision);
    } catch (error) {
      const at = { error, fetchStarted, trigger, boot: !!options.boot };
      return rememberResult(db, remoteUnreachable(session, at));
    }
    const fetchMs = Date.now() - fetchStarted.getTime();
    // 3. Already live: a no-op sync costs this one fetch and nothing else.
    if (live?.revision === target.sha) {
      printer.line(
        `${app.name}: ${shortSha(target.sha)} (${target.ref}) is live; fetch ${formatDuration(fetchMs)}`,
      );
      return rememberResult(db, {
        app: app.name,
        code: ExitCode.ok,
        outcome: "noop",
        revision: target.sha,
      });
    }
    const at = { target, live, trigger, fetchStarted, fetchMs };
    return rememberResult(db, await deploy(openRun(session, at)));
  } finally {
    await session.close();
  }
}

// Steps 4–9 for one commit; every step is recorded before it starts.
async function deploy(run: DeployRun): Promise<SyncResult> {
  const { app, layout, progress } = run;
  const started = performance.now();
  try {
    // 4. Build the release beside the live one, which keeps serving.
    await runStep(run, "build", async (note) => {
      await buildRelease(run, note);
      // The start hold must be installable before the live release is touched.
      await ensureHoldDropIn(app);
    });
    // 5. Stop the service and wait for its cgroup to empty: nothing writes the DB any more.
    await stopStep(run);
    // 6. Back up the DB, now complete: every committed row is in it.
    if (app.database) await runStep(run, "backup", (note) => backupDatabase(run, note));
    else skipStep(run, "backup", "no database configured");
    // 7. Swap `current`, migrate, start.
    await switchStep(run);
    if (app.hooks.migrate) await runStep(run, "migrate", () => migrateDatabase(run));
    else skipStep(run, "migrate", "no migrate hook");
    await startStep(run);
    // 8. Verify: unit active, master + workers, every health answer on the new REVISION.
    await verifyStep(run);
  } catch (error) {
    // 9. Put the old release back (DB included if a migration ran) and say how that went.
    const failure = await rollBack(run, stepFailure(run, "build", error));
    const rolledBack = progress.stopped && failure.exitCode === ExitCode.failedRolledBack;
    const back = rolledBack && run.from ? `; back on ${shortSha(run.from.revision)}` : "";
    run.printer.line(`${app.name}: ${failure.message}${back}`);
    const outcome = rolledBack ? "rolled-back" : "failed";
    return {
      app: app.name,
      code: failure.exitCode,
      outcome,
      revision: run.sha,
      message: failure.message,
    };
  }
  finishDeployment(run.db, run.id, "deployed");
  // The deploy is done: a release that cannot be removed now (the app user still filling it) is
  // pruned by a later run, and does not turn this deploy into a failure.
  await pruneReleases(layout, app.releases.keep, run.release).then(
    (pruned) => pruned.length > 0 && run.log.info({ pruned }, "old releases pruned"),
    (error: unknown) =>
      run.log.warn({ err: error }, "old releases not pruned; a later run tries again"),
  );
  run.printer.line(
    `${app.name}: deployed ${shortSha(run.sha)} in ${formatDuration(performance.now() - started)}`,
  );
  return { app: app.name, code: ExitCode.ok, outcome: "deployed", revision: run.sha };
}
