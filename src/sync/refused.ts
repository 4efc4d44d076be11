// The fetched commit is not trusted (src/trust/): recorded and said, nothing touched, exit 1.
import type { SyncResult } from "../deploy/result.js";
import type { AppSession } from "../deploy/session.js";
import { ExitCode } from "../errors.js";
import { createDeployment, finishDeployment, recordStep } from "../state/deployments.js";

export function commitRefused(
  { app, db, watcher, log }: AppSession,
  at: {
    sha: string;
    message: string;
    fetchStarted: Date;
    fetchMs: number;
    trigger: string;
    fromRelease?: string;
  },
): SyncResult {
  log.error({ step: "fetch", revision: at.sha, outcome: "refused" }, at.message);
  watcher({ type: "said", app: app.name, text: at.message });
  const id = createDeployment(db, {
    app: app.name,
    trigger: at.trigger,
    fromRelease: at.fromRelease,
    revision: at.sha,
  });
  recordStep(db, id, "fetch", {
    startedAt: at.fetchStarted.toISOString(),
    durationMs: at.fetchMs,
    outcome: "failed",
    message: at.message,
  });
  finishDeployment(db, id, "refused", at.message);
  return {
    app: app.name,
    code: ExitCode.failedRolledBack,
    outcome: "refused",
    revision: at.sha,
    message: at.message,
  };
}
