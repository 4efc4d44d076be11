// The daemon's life: arm schedules, pollers and the endpoint for a config, tell systemd, and
// take it all down again (SIGTERM) or swap it for a new config (SIGHUP).
import type { ScheduledTask } from "node-cron";
import { agentVersion } from "../agent-version.js";
import type { CheckReport } from "../check/run-checks.js";
import type { LoadedConfig } from "../config/load.js";
import type { Logger } from "../log.js";
import { Notifications } from "../notify/notifications.js";
import { type CheckRecord, listChecks } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";
import { AppWork } from "./app-work.js";
import { lastVerdict } from "./check-history.js";
import { DaemonState } from "./daemon-state.js";
import { type Endpoint, startEndpoint } from "./endpoint.js";
import { exposedGc, IdleCollector } from "./idle-collect.js";
import type { Notifier } from "./notify.js";
import type { Poller } from "./poller.js";
import { pruneHistory } from "./prune-history.js";
import { type RecoveryWatch, startRecoveryWatch } from "./recovery-watch.js";
import { runScheduledCheck } from "./scheduled-check.js";
import { type CheckScheduler, cronTask, scheduleChecks } from "./scheduler.js";
import { formatStatusText } from "./status-text.js";

// Old history goes once a day, at a quiet hour (local time).
const PRUNE_SCHEDULE = "30 3 * * *";
// How often the notification queue is looked at for what is due (the backoff decides when a
// failed notification is due again: 5 s at first, 5 min at most).
const DELIVERY_MS = 5_000;

export interface Daemon {
  // Replace schedules, pollers and endpoint with those of a new config; work in flight goes on.
  reload(loaded: LoadedConfig): Promise<void>;
  // Stop scheduling, wait for running checks and syncs, close the endpoint.
  stop(): Promise<void>;
}

// Everything armed for one config.
interface Armed {
  scheduler: CheckScheduler;
  pollers: Poller[];
  recovery: RecoveryWatch;
  prune: ScheduledTask;
  endpoint?: Endpoint;
  notifications: Notifications;
  delivery?: NodeJS.Timeout;
}

// Arm everything and send READY=1; resolves once the daemon is fully up.
export async function startDaemon(
  loaded: LoadedConfig,
  db: StateDb,
  notifier: Notifier,
  log: Logger,
): Promise<Daemon> {
  const collector = new IdleCollector(exposedGc());
  const work = new AppWork(() => collector.workEnded());
  const version = agentVersion();
  let armed = await arm(loaded, { db, work, notifier, log, version });
  collector.collect();
  notifier.ready();
  const watchdogMs = notifier.startWatchdog();
  log.info(
    { apps: loaded.apps.map((a) => a.name), version, watchdogMs, config: loaded.file },
    "daemon started",
  );
  return {
    async reload(next) {
      await disarm(armed);
      armed = await arm(next, { db, work, notifier, log, version });
      log.info({ apps: next.apps.map((a) => a.name), config: next.file }, "configuration reloaded");
    },
    async stop() {
      notifier.stopping();
      notifier.status("stopping: waiting for running checks and syncs");
      await disarm(armed, () => work.drain());
      collector.stop();
      notifier.stopWatchdog();
      log.info("daemon stopped");
    },
  };
}

interface ArmContext {
  db: StateDb;
  work: AppWork;
  notifier: Notifier;
  log: Logger;
  version: string;
}

// Build state, schedules, pollers and endpoint for one config.
async function arm(loaded: LoadedConfig, ctx: ArmContext): Promise<Armed> {
  const { db, work, notifier, log } = ctx;
  prune(db, loaded, log);
  const state = new DaemonState(
    loaded.apps.map((a) => a.name),
    () => notifier.status(formatStatusText(state.all())),
  );
  const verdicts = new Map<string, CheckRecord>();
  for (const app of loaded.apps) {
    const verdict = lastVerdict(db, app.name);
    if (verdict) verdicts.set(app.name, verdict);
    state.seed(app.name, listChecks(db, app.name, 1)[0], verdict);
  }
  const notifications = new Notifications(loaded.notify, log.child({ component: "notify" }), db);
  const endpoint = await startEndpoint({ ...ctx, loaded, state, verdicts, notifications });
  const observe = (report: CheckReport) => endpoint?.observe(report);
  const scheduler = scheduleChecks(
    loaded.apps,
    (app) => work.track(runScheduledCheck(app, { db, state, work, log, observe, notifications })),
    (app, next) => state.setNext(app, next),
    log,
  );
  const pollers: Poller[] = [];
  const polled = loaded.apps.filter((app) => app.poll !== undefined);
  if (polled.length > 0) {
    // Loaded only when some app auto-updates: most hosts never pay for it.
    const { startPoller } = await import("./poller.js");
    for (const app of polled) {
      pollers.push(startPoller(app, app.poll as number, { db, state, work, log, notifications }));
    }
  }
  const pruneTask = cronTask(PRUNE_SCHEDULE, async () => prune(db, loaded, log), "prune", log);
  const recovery = startRecoveryWatch(loaded.apps, { db, work, log });
  // What earlier runs (a CLI sync, the daemon before a restart) left queued goes out now, and
  // then whatever falls due.
  let delivery: NodeJS.Timeout | undefined;
  if (notifications.enabled) {
    void notifications.deliver();
    delivery = setInterval(() => void notifications.deliver(), DELIVERY_MS);
  }
  return { scheduler, pollers, recovery, prune: pruneTask, endpoint, notifications, delivery };
}

// Take down what arm() built. `drain` runs after scheduling stops and before the endpoint
// closes, so a CI caller can still read status while the last sync finishes.
async function disarm(armed: Armed, drain?: () => Promise<void>): Promise<void> {
  clearInterval(armed.delivery);
  armed.scheduler.stop();
  for (const poller of armed.pollers) poller.stop();
  armed.recovery.stop();
  await armed.prune.destroy();
  await drain?.();
  await armed.notifications.close();
  await armed.endpoint?.server.close();
}

// Apply history.retention; a failure is logged, never fatal (the history only grows).
function prune(db: StateDb, loaded: LoadedConfig, log: Logger): void {
  try {
    const removed = pruneHistory(db, loaded.config.history.retention);
    if (removed.checks + removed.deployments > 0) {
      log.info({ ...removed, retentionMs: loaded.config.history.retention }, "history pruned");
    }
  } catch (error) {
    log.warn({ err: error }, "could not prune history");
  }
}
