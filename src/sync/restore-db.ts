// Put a backup back in place of the app's DB (the app stopped), and keep copies aside.
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import type { AppConfig } from "../config/schema.js";
import { appLayout } from "../release/layout.js";
import { fsyncDir, snapshotDatabase } from "../sqlite/online-backup.js";
import { dropWalFiles, fileExists, fixDatabaseOwnership } from "./db-files.js";

// Prefix of the temporary file a restore builds beside the DB; debris if found later.
export const RESTORE_TEMP_PREFIX = ".restore-";

// Replace the DB by `backupFile`: copy it with the backup API into a temp file beside the DB
// (same filesystem, so the final rename is atomic), verified and fsynced; give it the DB's
// journal mode; drop the stale -wal/-shm, which belong to the file being replaced and would be
// replayed into the restored one; rename it in; fsync the directory; fix owner and mode.
export async function restoreDatabase(app: AppConfig, backupFile: string): Promise<void> {
  const db = app.database;
  if (!db) throw new Error(`${app.name} has no database configured`);
  const dir = path.dirname(db.path);
  const temp = path.join(dir, `${RESTORE_TEMP_PREFIX}${path.basename(db.path)}-${process.pid}`);
  const wal = (await fileExists(db.path)) ? await usesWal(db.path) : true;
  await rm(temp, { force: true });
  try {
    await snapshotDatabase(backupFile, temp);
    if (wal) await setWalMode(temp);
    await dropWalFiles(db.path);
    await rename(temp, db.path);
    await fsyncDir(dir);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fixDatabaseOwnership(app);
}

// Keep the DB as it is now under backups/<db>.<kind>-<stamp>, outside the retention count, so
// no write is destroyed: "failed" (the DB a failed release left), "rollback" (before a rollback
// puts an older DB back), "replaced" (before a restore). Returns the copy's path.
export async function keepDatabaseCopy(
  app: AppConfig,
  kind: "failed" | "rollback" | "replaced",
): Promise<string> {
  const db = app.database;
  if (!db) throw new Error(`${app.name} has no database configured`);
  const dir = appLayout(app).backups;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:.]/g, "");
  const copy = path.join(dir, `${path.basename(db.path)}.${kind}-${stamp}`);
  await snapshotDatabase(db.path, copy);
  return copy;
}

// Whether a DB file is in WAL mode: header bytes 18 and 19 are 2 (SQLite file format).
async function usesWal(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const header = Buffer.alloc(20);
    await handle.read(header, 0, 20, 0);
    return header[18] === 2 && header[19] === 2;
  } finally {
    await handle.close();
  }
}

// Switch a (closed, private) DB file to WAL mode and flush it.
async function setWalMode(file: string): Promise<void> {
  const conn = new Database(file, { fileMustExist: true });
  try {
    conn.pragma("journal_mode = WAL");
  } finally {
    conn.close();
  }
  const handle = await open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
