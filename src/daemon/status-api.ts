// What the status endpoint answers, built from the daemon's state, the state DB and the host.

import { hostname } from "node:os";
import type { AppConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import type { Notifications } from "../notify/notifications.js";
import { appLayout, readLiveRelease } from "../release/layout.js";
import { listChecks } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";
import { liveLockHolder } from "../system/lock.js";
import { readStrategyStatus } from "../views/colors-status.js";
import type { AppWork } from "./app-work.js";
import { lastVerdict } from "./check-history.js";
import type { DaemonState } from "./daemon-state.js";
import type { Metrics } from "./metrics.js";
import { readPageApp } from "./page-data.js";
import { readPollMemory } from "./poll-memory.js";
import type { StatusApi } from "./routes.js";
import { runSyncJob } from "./sync-job.js";

export interface StatusApiContext {
  version: string;
  token: string;
  apps: AppConfig[];
  db: StateDb;
  state: DaemonState;
  work: AppWork;
  metrics: Metrics;
  log: Logger;
  // Tells people of outcomes (src/notify/); absent in tests that do not care.
  notifications?: Notifications;
}

// A last verdict of ok or warning is healthy (200); critical, unknown, no verdict yet, or a
// sync in progress right now is not (503), so a load balancer takes the host out meanwhile.
export const HEALTHY = new Set(["ok", "warning"]);

export function createStatusApi(ctx: StatusApiContext): StatusApi {
  const byName = new Map(ctx.apps.map((app) => [app.name, app]));
  const appOf = (name: string) => byName.get(name) as AppConfig;
  return {
    version: ctx.version,
    token: ctx.token,
    hasApp: (name) => byName.has(name),
    appHealth: async (name) => {
      if (await syncRunning(ctx, name)) {
        return { healthy: false, body: { app: name, status: "deploying" } };
      }
      const last = lastVerdict(ctx.db, name);
      if (!last) return { healthy: false, body: { app: name, status: "none" } };
      return {
        healthy: HEALTHY.has(last.status),
        body: { app: name, status: last.status, at: last.at },
      };
    },
    status: async () => ({
      version: ctx.version,
      apps: await Promise.all(ctx.apps.map((app) => describeApp(ctx, app))),
    }),
    appStatus: (name) => describeApp(ctx, appOf(name)),
    startSync: async (name) => {
      if (ctx.work.syncBusy(name)) return { started: false, holder: "deploy-agent daemon" };
      const holder = await liveLockHolder(name);
      if (holder) return { started: false, holder: `${holder.command} (pid ${holder.pid})` };
      const started = ctx.work.startSync(name, async () => {
        await runSyncJob(appOf(name), "api", ctx);
      });
      if (started === "stopping") return { started: false, stopping: true };
      return started === "started"
        ? { started: true }
        : { started: false, holder: "deploy-agent daemon" };
    },
    metrics: () => ctx.metrics.render(),
    pageData: async () => ({
      host: hostname(),
      version: ctx.version,
      generatedAt: new Date().toISOString(),
      apps: await Promise.all(
        ctx.apps.map((app) =>
          readPageApp(ctx.db, app, ctx.state.view(app.name)?.activity ?? "idle"),
        ),
      ),
    }),
  };
}

// Whether a sync of the app runs now, the daemon's own or any other process's.
async function syncRunning(ctx: StatusApiContext, app: string): Promise<boolean> {
  return ctx.work.syncBusy(app) || (await liveLockHolder(app)) !== undefined;
}

// Everything the token-protected status shows for one app: for a blue-green app also which color
// serves, each color's release, state and connections, and the drain in progress.
async function describeApp(ctx: StatusApiContext, app: AppConfig) {
  const view = ctx.state.view(app.name);
  const [live, holder, strategy] = await Promise.all([
    readLiveRelease(appLayout(app)),
    liveLockHolder(app.name),
    readStrategyStatus(app, ctx.db),
  ]);
  const last = listChecks(ctx.db, app.name, 1)[0];
  const poll = readPollMemory(ctx.db, app.name);
  return {
    app: app.name,
    ...strategy,
    activity: view?.activity ?? "idle",
    live: live ? { release: live.name, revision: live.revision } : null,
    lock: holder ? { command: holder.command, pid: holder.pid, since: holder.since } : null,
    lastCheck: last
      ? { at: last.at, trigger: last.trigger, status: last.status, checks: last.results }
      : null,
    nextCheck: view?.next?.toISOString() ?? null,
    schedule: app.schedule,
    poll: app.poll
      ? { periodMs: app.poll, lastHandled: poll.handled || null, failed: poll.failed || null }
      : null,
  };
}
