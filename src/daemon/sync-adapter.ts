// The one place the daemon calls into src/sync/: syncApp with a printer that, instead of
// printing, tells the daemon which commit and step are under way (for STATUS=).
import type { AppConfig } from "../config/schema.js";
import type { StepPrinter } from "../sync/printer.js";

// Who asked for the sync, as recorded in the deployments table.
export type SyncTrigger = "poll" | "api";

export interface SyncOutcome {
  // deployed, noop, rolled-back, failed, unreachable (src/sync/sync.ts SyncOutcome).
  outcome: string;
  // The commit the sync deployed or tried to deploy, when it got that far.
  revision?: string;
  message?: string;
}

// What a running sync reports: the commit (short sha, once fetched) and the current step.
export type SyncProgress = (progress: { sha?: string; step?: string }) => void;

// Run one sync of the app; throws LockHeldError when another run holds the app's lock. The
// sync module is imported on first use: a daemon that never syncs never loads it.
export async function runSync(
  app: AppConfig,
  trigger: SyncTrigger,
  onProgress: SyncProgress = () => {},
): Promise<SyncOutcome> {
  const { syncApp } = await import("../sync/sync.js");
  const result = await syncApp(app, { trigger, printer: progressPrinter(onProgress) });
  return { outcome: result.outcome, revision: result.revision, message: result.message };
}

// Whether an outcome means the commit is bad and must not be retried until the branch moves.
// "unreachable" is the remote's fault, not the commit's: the next poll tries again.
export function isFailedOutcome(outcome: string): boolean {
  return outcome === "failed" || outcome === "rolled-back";
}

// A StepPrinter that turns the sync's title ("shop: deploying 3f2a1c9 (main) over …") and step
// starts into progress reports.
export function progressPrinter(onProgress: SyncProgress): StepPrinter {
  return {
    title: (text) => {
      const sha = /\bdeploying ([0-9a-f]{7,64})\b/.exec(text)?.[1];
      if (sha) onProgress({ sha });
    },
    begin: (step) => onProgress({ step }),
    end: () => {},
    line: () => {},
  };
}
