// The one place the daemon calls into src/sync/: syncApp with a watcher that, instead of
// printing, tells the daemon which commit and step are under way (for STATUS=).
import type { AppConfig } from "../config/schema.js";
import type { EventSink } from "../deploy/events.js";

// Who asked for the sync, as recorded in the deployments table.
export type SyncTrigger = "poll" | "api";

export interface SyncOutcome {
  // deployed, noop, rolled-back, failed, unreachable (src/sync/sync.ts SyncOutcome).
  outcome: string;
  // The commit the sync deployed or tried to deploy, when it got that far.
  revision?: string;
  message?: string;
  promotion?: { branch: string; outcome: string; message: string | null; repeated?: boolean };
}

// What a running sync reports: the commit (once fetched), the current step, and how far a long
// step is ("draining blue: 3 connections, 2m15s of 2m").
export interface SyncProgressReport {
  sha?: string;
  step?: string;
  detail?: string;
}
export type SyncProgress = (progress: SyncProgressReport) => void;

// Run one sync of the app; throws LockHeldError when another run holds the app's lock. The
// sync module is imported on first use: a daemon that never syncs never loads it.
export async function runSync(
  app: AppConfig,
  trigger: SyncTrigger,
  onProgress: SyncProgress = () => {},
): Promise<SyncOutcome> {
  const { syncApp } = await import("../sync/sync.js");
  const result = await syncApp(app, { trigger, watcher: progressWatcher(onProgress) });
  return {
    outcome: result.outcome,
    revision: result.revision,
    message: result.message,
    promotion: result.promotion,
  };
}

// Whether an outcome means the commit is bad (or not trusted) and must not be retried until the branch moves.
// "unreachable" is the remote's fault, not the commit's: the next poll tries again.
export function isFailedOutcome(outcome: string): boolean {
  return outcome === "failed" || outcome === "rolled-back" || outcome === "refused";
}

// The run's events as progress reports: the commit from the run's start, the step from each
// step's start, the detail from its progress (cleared when the next step begins).
export function progressWatcher(onProgress: SyncProgress): EventSink {
  return (event) => {
    if (event.type === "run" && event.sha) onProgress({ sha: event.sha });
    else if (event.type === "step-begin") onProgress({ step: event.step, detail: "" });
    else if (event.type === "step-progress") onProgress({ detail: event.text });
  };
}
