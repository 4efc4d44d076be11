// Cron schedules: one node-cron task per app from its `schedule`, never overlapping itself
// (a slow check is skipped over, not stacked), plus helpers shared with the daily prune.
import { type Logger as CronLogger, createTask, type ScheduledTask } from "node-cron";
import type { AppConfig } from "../config/schema.js";
import type { Logger } from "../log.js";

export interface CheckScheduler {
  // When the app's next check is due.
  nextRun(app: string): Date | undefined;
  // Stop firing; runs already under way carry on (the caller waits for them).
  stop(): void;
}

// Arm one task per app; onRun does the work, onNext hears the next due time after each run.
export function scheduleChecks(
  apps: AppConfig[],
  onRun: (app: AppConfig) => Promise<void>,
  onNext: (app: string, next: Date | undefined) => void,
  log: Logger,
): CheckScheduler {
  const tasks = new Map<string, ScheduledTask>();
  for (const app of apps) {
    const task = cronTask(
      app.schedule,
      async () => {
        try {
          await onRun(app);
        } finally {
          onNext(app.name, task.getNextRun() ?? undefined);
        }
      },
      `check:${app.name}`,
      log.child({ app: app.name }),
    );
    tasks.set(app.name, task);
    onNext(app.name, task.getNextRun() ?? undefined);
  }
  return {
    nextRun: (app) => tasks.get(app)?.getNextRun() ?? undefined,
    stop: () => {
      for (const task of tasks.values()) void task.destroy();
    },
  };
}

// A started node-cron task with noOverlap, its own messages routed into our pino log.
export function cronTask(
  expression: string,
  fn: () => Promise<void>,
  name: string,
  log: Logger,
): ScheduledTask {
  const task = createTask(expression, fn, { name, noOverlap: true, logger: cronLogger(log) });
  void task.start();
  return task;
}

// node-cron's logger interface over pino, so "execution blocked by overlap prevention" and
// "missed execution" land in the journal as structured warnings.
function cronLogger(log: Logger): CronLogger {
  const child = log.child({ component: "cron" });
  return {
    info: (message) => child.info(message),
    warn: (message) => child.warn(message),
    error: (message, err) =>
      message instanceof Error
        ? child.error({ err: message }, message.message)
        : child.error({ err }, message),
    debug: (message) => child.debug(String(message)),
  };
}
