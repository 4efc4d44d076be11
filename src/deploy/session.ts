// What every command that changes an app does first: take its lock, open the state DB, finish a
// deployment that died midway, sweep up debris. Shared by sync, rollback and restore.
import type { AppConfig } from "../config/schema.js";
import { ExitCode, ExitError } from "../errors.js";
import { type Logger, logger } from "../log.js";
import { sweepDebris } from "../recovery/debris.js";
import { recoverInterrupted } from "../recovery/recover.js";
import { assertAgentDirsTrusted } from "../release/agent-dirs.js";
import { type AppLayout, appLayout } from "../release/layout.js";
import { openStateDb, type StateDb } from "../state/state-db.js";
import { ensureHoldDropIn } from "../steps/hold.js";
import { killLeftoverHooks } from "../steps/hooks.js";
import { acquireLock } from "../system/lock.js";
import type { EventSink } from "./events.js";
import { type Interruption, notInterruptible } from "./interruption.js";

export interface AppSession {
  app: AppConfig;
  layout: AppLayout;
  db: StateDb;
  log: Logger;
  // Whoever watches the run: a terminal, the daemon's STATUS=, nobody.
  watcher: EventSink;
  // A signal that asks the run to wind down (a CLI run's Ctrl-C); never set for the daemon's.
  interruption: Interruption;
  // False when an interrupted deployment could not be brought to a verified release: nothing
  // should be deployed on top of that.
  healthy: boolean;
  // Throw (exit 1, nothing changed) when the app directory or one of the agent's directories in
  // it is not root's alone: a layout the app user can write is one where it could steer root, so
  // nothing is deployed into it.
  assertTrustedLayout(): Promise<void>;
  close(): Promise<void>;
}

// Lock the app (LockHeldError, exit 75, naming the holder, when another run has it), then
// recover and sweep. The caller must close() the session in a finally.
export async function openAppSession(
  app: AppConfig,
  command: string,
  watcher: EventSink,
  interruption: Interruption = notInterruptible,
): Promise<AppSession> {
  const lock = await acquireLock(app.name, command);
  const log = logger.child({ app: app.name });
  let db: StateDb | undefined;
  try {
    db = openStateDb();
    const layout = appLayout(app);
    // Holding the lock, any hook of this app still running belongs to a run that died: it must
    // not go on changing the DB while that run is recovered.
    await killLeftoverHooks(app.name);
    const healthy = await recoverInterrupted(app, db, log, watcher);
    if (healthy) await sweepDebris(app, layout, log);
    // Install the start hold now, whatever this run goes on to do: the boot sync and CLI runs
    // may write /etc, the sandboxed daemon may not, and its first deploy then finds it there.
    if (app.strategy !== "blue-green")
      await ensureHoldDropIn(app).catch((error: unknown) =>
        log.warn({ err: error }, "start hold not installed; a deploy will try again"),
      );
    const opened = db;
    const close = async () => {
      opened.close();
      await lock.release();
    };
    const assertTrustedLayout = () =>
      assertAgentDirsTrusted(layout).catch((error: Error) => {
        throw new ExitError(`${app.name}: ${error.message}`, ExitCode.failedRolledBack, {
          cause: error,
        });
      });
    return { app, layout, db, log, watcher, interruption, healthy, assertTrustedLayout, close };
  } catch (error) {
    db?.close();
    await lock.release();
    throw error;
  }
}
