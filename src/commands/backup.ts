// `agent backup`: online backup of the app's SQLite DB, verified and pruned.
import { loadConfig, selectApp } from "../config/load.js";
import { logger } from "../log.js";
import { formatDuration } from "../output/table.js";
import { backupApp } from "../sqlite/backup-app.js";
import { backupsNeededForRecovery } from "../state/deployments.js";
import { openStateDb } from "../state/state-db.js";
import { acquireLock } from "../system/lock.js";

export interface BackupOptions {
  config?: string;
  app?: string;
  json?: boolean;
}

export async function backupCommand(options: BackupOptions): Promise<number> {
  const app = selectApp(await loadConfig(options.config), options.app);
  // A sync also backs up and may restore: one of them at a time.
  const lock = await acquireLock(app.name, "backup");
  try {
    const outcome = await backupApp(app, neededForRecovery(app.name));
    logger.info({ app: app.name, step: "backup", ...outcome }, "backup taken");
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ app: app.name, ...outcome }, null, 2)}\n`);
    } else {
      const mb = (outcome.bytes / 1048576).toFixed(1);
      process.stdout.write(
        `backup ${outcome.path} (${mb} MB, quick_check ok) in ${formatDuration(outcome.durationMs)}\n` +
          outcome.pruned.map((p) => `pruned ${p}\n`).join(""),
      );
    }
    return 0;
  } finally {
    await lock.release();
  }
}

// Backups an interrupted deployment will restore when it is recovered: retention spares them,
// however many backups are taken before the next sync.
function neededForRecovery(app: string): string[] {
  const db = openStateDb();
  try {
    return backupsNeededForRecovery(db, app);
  } finally {
    db.close();
  }
}
