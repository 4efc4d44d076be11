// on_critical: restart — restart the app's service once, then re-check until it recovers or
// its verify timeout passes. Bounded by the restart budget, so it can never loop.
import { setTimeout as sleep } from "node:timers/promises";
import { type CheckReport, runChecks } from "../check/run-checks.js";
import { colorUnit, isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import { describeError, LockHeldError } from "../errors.js";
import type { Logger } from "../log.js";
import { servingColor } from "../proxy/serving.js";
import type { StateDb } from "../state/state-db.js";
import { acquireLock } from "../system/lock.js";
import { unitAction } from "../system/systemd.js";
import { takeRestart } from "./restart-budget.js";

// Pause between re-checks while the restarted service comes up.
const RECHECK_INTERVAL_MS = 2000;

// Restart and re-check; undefined when no restart happened (budget spent, app busy, failure).
export async function restartOnCritical(
  app: AppConfig,
  db: StateDb,
  log: Logger,
): Promise<CheckReport | undefined> {
  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    // Under the app's lock: a restart must not land in the middle of a sync's stop/switch/start.
    lock = await acquireLock(app.name, "daemon on_critical restart");
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    log.info({ reason: error.message }, "restart skipped: app is busy");
    return undefined;
  }
  try {
    if (!takeRestart(db, app.name)) {
      log.warn({ service: app.service }, "restart skipped: budget spent (2 per hour)");
      return undefined;
    }
    const service = await unitToRestart(app);
    if (!service) {
      log.warn("restart skipped: no color serves yet");
      return undefined;
    }
    log.warn({ service }, "restarting after critical");
    try {
      await unitAction("restart", service, app.verify.timeout);
    } catch (error) {
      log.error({ service, error: describeError(error) }, "restart failed");
    }
    return await recheck(app);
  } finally {
    await lock.release();
  }
}

// Re-check until the app is no longer critical or its verify timeout is used up; the service
// needs a moment after `systemctl restart` returns before its workers answer.
async function recheck(app: AppConfig): Promise<CheckReport> {
  const deadline = Date.now() + app.verify.timeout;
  for (;;) {
    await sleep(RECHECK_INTERVAL_MS);
    const report = await runChecks(app);
    if (report.status !== "critical" || Date.now() >= deadline) return report;
  }
}

// The unit that serves: the app's service, or for a blue-green app the serving color's instance
// (the template itself cannot be restarted).
async function unitToRestart(app: AppConfig): Promise<string | undefined> {
  if (!isBlueGreen(app)) return app.service;
  const serving = await servingColor(app).catch(() => undefined);
  return serving ? colorUnit(app.service, serving) : undefined;
}
