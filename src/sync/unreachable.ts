// Step 2 failed: the remote could not be fetched within fetch_timeout.

import type { SyncResult } from "../deploy/result.js";
import type { AppSession } from "../deploy/session.js";
import { describeError, ExitCode } from "../errors.js";
import { createDeployment, finishDeployment, recordStep } from "../state/deployments.js";

// The remote could not be fetched: warn, leave everything as it is; exit 0 at boot, else 1.
export function remoteUnreachable(
  { app, db, watcher, log }: AppSession,
  at: { error: unknown; fetchStarted: Date; trigger: string; boot: boolean },
): SyncResult {
  const ms = Date.now() - at.fetchStarted.getTime();
  const message = `fetch failed for ${app.name}: ${describeError(at.error)}; the live release keeps running`;
  log.warn({ step: "fetch", durationMs: ms, outcome: "failed", boot: at.boot }, message);
  const note = describeError(at.error);
  watcher({
    type: "step-end",
    app: app.name,
    step: "fetch",
    durationMs: ms,
    outcome: "failed",
    note,
  });
  watcher({ type: "said", app: app.name, text: `${app.name}: ${message}` });
  // A poller meeting a dead remote every minute would bury the history: only other runs are kept.
  if (at.trigger !== "poll") {
    const id = createDeployment(db, { app: app.name, trigger: at.trigger, revision: "" });
    recordStep(db, id, "fetch", {
      startedAt: at.fetchStarted.toISOString(),
      durationMs: ms,
      outcome: "failed",
      message,
    });
    finishDeployment(db, id, "failed", message);
  }
  return {
    app: app.name,
    code: at.boot ? ExitCode.ok : ExitCode.failedRolledBack,
    outcome: "unreachable",
    message,
  };
}
