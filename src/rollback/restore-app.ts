// `agent restore`: put a DB backup back, with the app stopped, then start and verify.
import { lstat } from "node:fs/promises";
import path from "node:path";
import { colorUnit, isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import type { EventSink } from "../deploy/events.js";
import type { Interruption } from "../deploy/interruption.js";
import { rememberResult, type SyncResult } from "../deploy/result.js";
import { type AppSession, openAppSession } from "../deploy/session.js";
import { ExitCode, StepError, UsageError } from "../errors.js";
import { servingColor } from "../proxy/serving.js";
import { otherColor } from "../release/colors.js";
import { readLiveRelease } from "../release/layout.js";
import { listBackups } from "../sqlite/backup-files.js";
import { colorRunning } from "../steps/color-steps.js";
import { stopUnit } from "../steps/stop.js";
import { colorView } from "../strategies/color-view.js";
import { putBack } from "./put-back.js";

// Restore `backup` (a file name in backups/, a path, or by default the newest backup); the DB
// as it was is kept aside first. Exit codes as sync.
export async function restoreApp(
  app: AppConfig,
  options: { backup?: string; watcher: EventSink; interruption?: Interruption },
): Promise<SyncResult> {
  const db = app.database;
  if (!db) throw new UsageError(`${app.name} has no database configured`);
  const session = await openAppSession(app, "restore", options.watcher, options.interruption);
  try {
    if (!session.healthy) {
      return { app: app.name, code: ExitCode.rollbackFailed, outcome: "failed" };
    }
    await session.assertTrustedLayout();
    const live = await readLiveRelease(session.layout);
    if (!live)
      throw new StepError("rollback", `${app.name} has no live release to start after the restore`);
    const file = await chooseBackup(session.layout.backups, db.path, options.backup);
    return rememberResult(
      session.db,
      await putBack(await restoreTarget(session), {
        trigger: "restore",
        title: `${app.name}: restoring ${path.basename(db.path)} from ${path.basename(file)}`,
        live,
        target: live,
        restore: { file },
        keepAs: "replaced",
      }),
    );
  } finally {
    await session.close();
  }
}

// What a restore stops and starts. A blue-green app is restored with both colors stopped (both
// write the DB): the one that does not serve is stopped first, and the serving one is then
// stopped, restored under and started again like a restart app's service.
async function restoreTarget(session: AppSession): Promise<AppSession> {
  const { app } = session;
  if (!isBlueGreen(app)) return session;
  const serving = await servingColor(app);
  if (!serving) throw new StepError("rollback", `${app.name}: no color serves yet`);
  const other = otherColor(serving);
  if (await colorRunning(app, other)) await stopUnit(colorUnit(app.service, other));
  return { ...session, app: colorView(app, serving) };
}

// The backup to restore: as named (a file in backups/, by name or path), else the newest one.
// Only backups/ (root's alone) is restored from: a file anywhere else could be changed, or have
// SQLite companions planted beside it, by whoever can write there.
async function chooseBackup(dir: string, dbPath: string, wanted?: string): Promise<string> {
  if (!wanted) {
    const newest = (await listBackups(dir, dbPath))[0];
    if (!newest) throw new UsageError(`no backups of ${dbPath} in ${dir}`);
    return newest.path;
  }
  const file = wanted.includes("/") ? path.resolve(wanted) : path.join(dir, wanted);
  if (path.dirname(file) !== dir) {
    throw new UsageError(
      `${file} is not in ${dir}: copy it there first (only root can write there)`,
    );
  }
  const info = await lstat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`no backup file ${file}`);
  return file;
}
