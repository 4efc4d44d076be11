// One scheduled check of one app: verdict, journal entry, state-DB row, state-change event,
// and the optional restart. A sync in progress turns the run into a "deploying" entry.
import { COLOR_CHECKS } from "../check/check-subject.js";
import { type CheckReport, runChecks } from "../check/run-checks.js";
import type { AppConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import type { Notifications } from "../notify/notifications.js";
import { recordCheck } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";
import { type LockHolder, liveLockHolder } from "../system/lock.js";
import type { AppWork } from "./app-work.js";
import { recordDeploying } from "./check-history.js";
import type { DaemonState } from "./daemon-state.js";
import { restartOnCritical } from "./restart-on-critical.js";
import { detectStateChange } from "./state-change.js";

export interface CheckJobContext {
  db: StateDb;
  state: DaemonState;
  work: AppWork;
  log: Logger;
  // Feeds /metrics when the endpoint is on.
  observe?: (report: CheckReport) => void;
  // Tells people of outcomes (src/notify/); absent in tests that do not care.
  notifications?: Notifications;
}

// Run the app's scheduled check; never throws (a failed run is logged, the schedule goes on).
export async function runScheduledCheck(app: AppConfig, ctx: CheckJobContext): Promise<void> {
  const log = ctx.log.child({ app: app.name });
  try {
    const holder = ctx.work.syncBusy(app.name) ? undefined : await liveLockHolder(app.name);
    if (ctx.work.syncBusy(app.name) || holder) return reportDeploying(app, ctx, log, holder);
    await ctx.work.run(app.name, async () => {
      try {
        await checkOnce(app, ctx, log);
      } finally {
        ctx.state.setActivity(app.name, "idle");
      }
    });
  } catch (error) {
    log.error({ err: error }, "scheduled check failed");
  }
}

// Whether restarting the app's service could cure what is critical. For a blue-green app only the
// serving color's own checks qualify: a broken nginx site or a missing upstream file is not
// cured by restarting the color, which would only cut its connections.
function restartHelps(app: AppConfig, report: CheckReport): boolean {
  if (app.strategy !== "blue-green") return true;
  return report.checks.some((c) => c.status === "critical" && COLOR_CHECKS.has(c.name));
}

// The check proper, with the daemon's per-app slot held.
async function checkOnce(app: AppConfig, ctx: CheckJobContext, log: Logger): Promise<void> {
  ctx.state.setActivity(app.name, "checking");
  let report = await runChecks(app);
  // A sync that started while we were checking explains a bad verdict: the app was being
  // stopped and switched under us. Report that rather than a false alarm.
  const holder = report.status === "ok" ? undefined : await liveLockHolder(app.name);
  if (holder) return reportDeploying(app, ctx, log, holder);
  conclude(app, ctx, log, report);
  if (report.status === "critical" && app.on_critical === "restart" && restartHelps(app, report)) {
    ctx.state.setActivity(app.name, "restarting");
    const after = await restartOnCritical(app, ctx.db, log);
    if (after) {
      report = after;
      conclude(app, ctx, log, report, "restart");
    }
  }
}

// Log, store and publish one verdict, and report a change of state as its own event.
function conclude(
  app: AppConfig,
  ctx: CheckJobContext,
  log: Logger,
  report: CheckReport,
  trigger = "schedule",
): void {
  const failing = report.checks.filter((c) => c.status !== "ok");
  log.info(
    {
      trigger,
      status: report.status,
      failing: failing.map((c) => c.name),
      problems: failing.map((c) => `${c.name} ${c.status}: ${c.summary}`),
      durationMs: report.durationMs,
    },
    "check finished",
  );
  try {
    recordCheck(ctx.db, { ...report, app: app.name, trigger });
  } catch (error) {
    log.warn({ err: error }, "could not record check result in state DB");
  }
  ctx.observe?.(report);
  // Fire and forget: queueing takes a moment, delivery runs in the background.
  void ctx.notifications?.checkFinished(app, report);
  const previous = ctx.state.setReport(app.name, report);
  const change = detectStateChange(previous, report.status);
  if (change) {
    const level = change.recovered ? "info" : change.to === "warning" ? "warn" : "error";
    log[level]({ from: change.from, to: change.to, recovered: change.recovered }, "state changed");
  }
}

// The check did not judge the app because a sync holds it: say so, do not raise an alarm.
function reportDeploying(
  app: AppConfig,
  ctx: CheckJobContext,
  log: Logger,
  holder: LockHolder | undefined,
): void {
  log.info(
    {
      trigger: "schedule",
      status: "deploying",
      failing: [],
      durationMs: 0,
      holder: holder ? { command: holder.command, pid: holder.pid, since: holder.since } : "daemon",
    },
    "check finished",
  );
  try {
    recordDeploying(ctx.db, app.name, holder);
  } catch (error) {
    log.warn({ err: error }, "could not record check result in state DB");
  }
  ctx.state.setDeployingCheck(app.name);
}
