// What the daemon knows about each app right now: activity, last verdict, next run. It feeds
// STATUS=, the status endpoint and state-change detection; one instance per daemon, no globals.
import type { CheckReport } from "../check/run-checks.js";
import type { CheckStatus } from "../check/types.js";
import type { CheckRecord } from "../state/check-records.js";
import type { AppStatusView } from "./status-text.js";

type Activity = AppStatusView["activity"];

export class DaemonState {
  private readonly views = new Map<string, AppStatusView>();
  // The last real verdict (never "deploying"), for detecting state changes.
  private readonly verdicts = new Map<string, CheckStatus>();

  constructor(
    apps: string[],
    private readonly onChange: () => void = () => {},
  ) {
    for (const app of apps) this.views.set(app, { app, activity: "idle" });
  }

  // Pick up where the previous daemon left off: the newest recorded check for the display,
  // the newest real verdict for change detection (so a restart neither repeats nor misses one).
  seed(app: string, latest: CheckRecord | undefined, verdict: CheckRecord | undefined): void {
    if (latest) {
      const status = latest.status as CheckStatus | "deploying";
      this.update(app, { last: lastFromResults(status, latest.results, new Date(latest.at)) });
    }
    if (verdict) this.verdicts.set(app, verdict.status);
  }

  setActivity(app: string, activity: Activity, deploying?: string): void {
    this.update(app, { activity, deploying, step: undefined, detail: undefined });
  }

  // A running sync's progress: the commit once fetched, then each step as it starts.
  setSyncProgress(app: string, progress: { sha?: string; step?: string; detail?: string }): void {
    const view = this.views.get(app);
    if (view?.activity !== "deploying") return;
    this.update(app, {
      deploying: progress.sha ?? view.deploying,
      step: progress.step ?? view.step,
      detail: progress.detail ?? view.detail,
    });
  }

  setNext(app: string, next: Date | undefined): void {
    this.update(app, { next });
  }

  // Record a finished check; returns the previous verdict so the caller can report a change.
  setReport(app: string, report: CheckReport, at = new Date()): CheckStatus | undefined {
    const previous = this.verdicts.get(app);
    this.verdicts.set(app, report.status);
    this.update(app, { last: lastFromResults(report.status, report.checks, at) });
    return previous;
  }

  // A scheduled check found a sync in progress.
  setDeployingCheck(app: string, at = new Date()): void {
    this.update(app, { last: { status: "deploying", ok: 0, total: 0, failing: [], at } });
  }

  verdict(app: string): CheckStatus | undefined {
    return this.verdicts.get(app);
  }

  view(app: string): AppStatusView | undefined {
    return this.views.get(app);
  }

  all(): AppStatusView[] {
    return [...this.views.values()];
  }

  private update(app: string, patch: Partial<AppStatusView>): void {
    const current = this.views.get(app) ?? { app, activity: "idle" };
    this.views.set(app, { ...current, ...patch });
    this.onChange();
  }
}

// The summary STATUS= shows for a result list: how many checks passed and which did not.
function lastFromResults(
  status: CheckStatus | "deploying",
  results: { name: string; status: CheckStatus }[],
  at: Date,
): NonNullable<AppStatusView["last"]> {
  const failing = results.filter((r) => r.status !== "ok").map((r) => r.name);
  return { status, ok: results.length - failing.length, total: results.length, failing, at };
}
