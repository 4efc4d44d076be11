// `agent sync [APP|--all] [--boot] [--ref REF]`: deploy the branch head, verify, roll back on failure.
import { loadConfig, selectApp } from "../config/load.js";
import { catchingSignals, sayOnStderr } from "../deploy/interruption.js";
import { terminalSink } from "../deploy/terminal.js";
import { worstExitCode } from "../deploy/worst-exit.js";
import { describeError, ExitCode, ExitError, UsageError } from "../errors.js";
import { assertSafeRef } from "../git/ref-name.js";
import { logger } from "../log.js";
import { NOTIFY_FLUSH_MS, Notifications } from "../notify/notifications.js";
import { printable } from "../output/sanitize.js";
import { syncApp } from "../sync/sync.js";

export interface SyncOptions {
  config?: string;
  app?: string;
  all: boolean;
  boot: boolean;
  ref?: string;
}

// Sync the named app, the only one, or every app (--all, one after the other); the exit code
// is the worst of them (0 deployed or current, 1 rolled back, 2 rollback failed, 75 locked).
export async function syncCommand(options: SyncOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  if (options.all && options.app) throw new UsageError("name one app or use --all, not both");
  if (options.all && options.ref)
    throw new UsageError("--ref names a commit of one app: name the app");
  // --ref reaches git as a name to resolve and fetch: never as an option ("--upload-pack=...").
  if (options.ref !== undefined) assertSafeRef(options.ref);
  const apps = options.all ? loaded.apps : [selectApp(loaded, options.app)];
  const watcher = terminalSink();
  const notifier = new Notifications(loaded.notify, logger);
  const codes: number[] = [];
  await catchingSignals(async (interruption) => {
    for (const app of apps) {
      // Interrupted: the app being synced was put back in order; the others are left alone.
      if (interruption.signal) break;
      try {
        const result = await syncApp(app, {
          ref: options.ref,
          boot: options.boot,
          watcher,
          interruption,
        });
        codes.push(result.code);
        notifier.syncFinished(result);
      } catch (error) {
        // One app's lock or bug must not keep the others from syncing (at boot above all).
        if (!options.all) throw error;
        const code = error instanceof ExitError ? error.exitCode : ExitCode.software;
        logger.error({ app: app.name, err: error }, "sync failed");
        process.stderr.write(`agent sync: ${app.name}: ${printable(describeError(error))}\n`);
        codes.push(code);
      }
    }
  }, sayOnStderr("sync"));
  // The deploy is over; what it has to tell goes out now, or stays queued for the daemon.
  await notifier.flush(NOTIFY_FLUSH_MS);
  await notifier.close();
  return worstExitCode(codes);
}
