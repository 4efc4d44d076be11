// A sync the daemon runs itself (auto-update poll or the API): status, journal, outcome memory.
import type { AppConfig } from "../config/schema.js";
import { LockHeldError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Notifications } from "../notify/notifications.js";
import type { StateDb } from "../state/state-db.js";
import type { DaemonState } from "./daemon-state.js";
import { rememberSyncResult } from "./poll-memory.js";
import { isFailedOutcome, runSync, type SyncOutcome, type SyncTrigger } from "./sync-adapter.js";

export interface SyncJobContext {
  db: StateDb;
  state: DaemonState;
  log: Logger;
  // Tells people of outcomes (src/notify/); absent in tests that do not care.
  notifications?: Notifications;
}

// Run one sync; never throws. Undefined when it did not run (another run held the lock).
export async function runSyncJob(
  app: AppConfig,
  trigger: SyncTrigger,
  ctx: SyncJobContext,
  expected?: string,
): Promise<SyncOutcome | undefined> {
  const log = ctx.log.child({ app: app.name, trigger });
  ctx.state.setActivity(app.name, "deploying", expected);
  const started = performance.now();
  try {
    const result = await runSync(app, trigger, (progress) =>
      ctx.state.setSyncProgress(app.name, progress),
    );
    const durationMs = Math.round(performance.now() - started);
    const failed = isFailedOutcome(result.outcome);
    log[failed ? "error" : "info"](
      { outcome: result.outcome, revision: result.revision, message: result.message, durationMs },
      "sync finished",
    );
    const sha = result.revision ?? expected;
    // Any failed sync marks its commit, whoever asked: the poller must not retry it.
    if (sha && result.outcome !== "unreachable") rememberSyncResult(ctx.db, app.name, sha, failed);
    ctx.notifications?.syncFinished({ app: app.name, ...result });
    return result;
  } catch (error) {
    if (error instanceof LockHeldError) {
      log.info({ reason: error.message }, "sync skipped: another run holds the app");
      return undefined;
    }
    // Same event as a sync that reported its failure, so one query finds every outcome.
    log.error({ outcome: "failed", err: error, expected }, "sync finished");
    return { outcome: "failed" };
  } finally {
    ctx.state.setActivity(app.name, "idle");
  }
}
