// What the status page shows, read from the state DB and the host: every app's live release,
// strategy and color, its last check, its recent deployments with their steps, and the check
// durations of the last 24 hours.
import type { AppConfig } from "../config/schema.js";
import { appLayout, readLiveRelease } from "../release/layout.js";
import { listChecks } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";
import { readStrategyStatus, type StrategyStatus } from "../views/colors-status.js";
import { recentDeployments } from "../views/deployment-view.js";

export interface PageApp {
  name: string;
  strategy: string;
  serving: string | null;
  live: { release: string; revision: string } | null;
  activity: string;
  lastCheck: {
    at: string;
    trigger: string;
    status: string;
    durationMs: number;
    checks: { name: string; status: string; summary: string }[];
  } | null;
  deployments: {
    id: number;
    startedAt: string;
    trigger: string;
    revision: string | null;
    outcome: string;
    durationMs: number | null;
    error: string | null;
    steps: { step: string; durationMs: number; outcome: string }[];
  }[];
  // Oldest first.
  checkDurations: { at: string; durationMs: number; status: string }[];
}

export interface PageData {
  host: string;
  version: string;
  generatedAt: string;
  apps: PageApp[];
}

// Deployments drawn; older ones are in `agent history`.
const DEPLOYMENTS = 10;
// Points of the 24 h chart at most: a check every 10 s would be 8,640; the newest are kept.
const MAX_POINTS = 1_500;
const DAY_MS = 86_400_000;

export async function readPageApp(
  db: StateDb,
  app: AppConfig,
  activity: string,
  now = Date.now(),
): Promise<PageApp> {
  const [live, strategy] = await Promise.all([
    readLiveRelease(appLayout(app)).catch(() => undefined),
    readStrategyStatus(app, db).catch((): StrategyStatus => ({ strategy: "restart" })),
  ]);
  const last = listChecks(db, app.name, 1)[0];
  const since = new Date(now - DAY_MS).toISOString();
  const durations = listChecks(db, app.name, MAX_POINTS, since)
    .reverse()
    .map((c) => ({ at: c.at, durationMs: c.durationMs, status: c.status }));
  return {
    name: app.name,
    strategy: strategy.strategy,
    serving: strategy.strategy === "blue-green" ? strategy.color : null,
    live: live ? { release: live.name, revision: live.revision } : null,
    activity,
    lastCheck: last
      ? {
          at: last.at,
          trigger: last.trigger,
          status: last.status,
          durationMs: last.durationMs,
          checks: last.results.map(({ name, status, summary }) => ({ name, status, summary })),
        }
      : null,
    deployments: recentDeployments(db, app.name, DEPLOYMENTS).map((d) => ({
      id: d.id,
      startedAt: d.startedAt,
      trigger: d.trigger,
      revision: d.revision,
      outcome: d.outcome,
      durationMs: d.durationMs,
      error: d.error,
      steps: d.steps.map((s) => ({
        step: s.step,
        durationMs: s.durationMs ?? 0,
        outcome: s.outcome,
      })),
    })),
    checkDurations: durations,
  };
}
