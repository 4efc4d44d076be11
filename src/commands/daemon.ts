// `agent daemon`: the long-running service. Loads the config, runs until SIGTERM, exits 0.
import { loadConfig } from "../config/load.js";
import { startDaemon } from "../daemon/daemon.js";
import { createNotifier } from "../daemon/notify.js";
import { describeError } from "../errors.js";
import { logger } from "../log.js";
import { openStateDb } from "../state/state-db.js";

export interface DaemonOptions {
  config?: string;
}

// Run until SIGTERM or SIGINT; SIGHUP reloads the config (a bad one is logged and ignored).
export async function daemonCommand(options: DaemonOptions): Promise<number> {
  const log = logger;
  // A bad config throws ConfigError here (exit 78): systemd's Restart=on-failure retries, and
  // the journal says which key is wrong.
  const loaded = await loadConfig(options.config);
  const db = openStateDb();
  const notifier = createNotifier();
  const daemon = await startDaemon(loaded, db, notifier, log);

  await new Promise<void>((resolve) => {
    let stopping = false;
    let reloading = Promise.resolve();
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, "already stopping: waiting for running work to finish");
        return;
      }
      stopping = true;
      log.info({ signal }, "stopping");
      void reloading.then(() => daemon.stop()).finally(resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.on("SIGHUP", () => {
      if (stopping) return;
      reloading = reloading.then(() => reload(options, daemon, log));
    });
  });
  db.close();
  return 0;
}

// SIGHUP: load the config again and swap it in; keep the running one when the new one is bad.
async function reload(
  options: DaemonOptions,
  daemon: Awaited<ReturnType<typeof startDaemon>>,
  log: typeof logger,
): Promise<void> {
  try {
    await daemon.reload(await loadConfig(options.config));
  } catch (error) {
    log.error({ error: describeError(error) }, "reload failed: keeping the running configuration");
  }
}
