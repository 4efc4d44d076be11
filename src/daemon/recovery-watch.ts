// A deployment whose process is gone (a CLI sync killed with kill -9, a boot sync cut off at its
// time limit, this daemon itself killed mid-sync) leaves the app held and perhaps stopped. The
// daemon notices within seconds and recovers it, exactly as the next sync would, so nobody has
// to come and run a command.
import type { AppConfig } from "../config/schema.js";
import { ignoreEvents } from "../deploy/events.js";
import { describeError, LockHeldError } from "../errors.js";
import type { Logger } from "../log.js";
import { runningDeployments } from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";
import { holdPlaced } from "../steps/hold.js";
import { liveLockHolder } from "../system/lock.js";
import type { AppWork } from "./app-work.js";

export interface RecoveryWatchContext {
  db: StateDb;
  work: AppWork;
  log: Logger;
}

export interface RecoveryWatch {
  stop(): void;
}

// How often the state DB is asked for orphaned deployments: one indexed query per app.
export const WATCH_PERIOD_MS = 5_000;

// Look now and every period after.
export function startRecoveryWatch(
  apps: AppConfig[],
  ctx: RecoveryWatchContext,
  periodMs = WATCH_PERIOD_MS,
): RecoveryWatch {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    for (const app of apps) {
      if (stopped) return;
      await watchOne(app, ctx).catch((error: unknown) =>
        ctx.log.error({ app: app.name, err: error }, "recovery watch failed"),
      );
    }
  };
  const arm = () => {
    if (!stopped) timer = setTimeout(() => void tick().finally(arm), periodMs);
  };
  void tick().finally(arm);
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

// Recover one app if a deployment of it is marked running while nobody holds its lock (every
// run holds the lock, so the run that wrote the row is gone), or it is held with nobody at work.
async function watchOne(app: AppConfig, ctx: RecoveryWatchContext): Promise<void> {
  if (ctx.work.syncBusy(app.name)) return;
  const orphaned = runningDeployments(ctx.db, app.name);
  if (orphaned.length === 0 && !(await holdPlaced(app))) return;
  if (await liveLockHolder(app.name)) return;
  const log = ctx.log.child({ app: app.name });
  await ctx.work.run(app.name, async () => {
    const { openAppSession } = await import("../deploy/session.js");
    log.warn(
      { deployments: orphaned.map((d) => d.id) },
      "a deployment was left by a run that is gone: recovering it",
    );
    try {
      const session = await openAppSession(app, "recover (daemon)", ignoreEvents);
      await session.close();
      log.info({ healthy: session.healthy }, "recovery finished");
    } catch (error) {
      if (error instanceof LockHeldError) return;
      log.error({ error: describeError(error) }, "recovery failed");
    }
  });
}
