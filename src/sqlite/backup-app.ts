// Back up an app's database into backups/ and prune to `keep`: what `agent backup` and sync do.
import { chown, mkdir } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { StepError } from "../errors.js";
import { appLayout } from "../release/layout.js";
import { backupFileName, pruneBackups } from "./backup-files.js";
import { type CopyResult, snapshotDatabase } from "./online-backup.js";

export interface BackupOutcome extends CopyResult {
  path: string;
  pruned: string[];
}

// Take a verified online backup of the app's DB. Works while the app writes (WAL mode); the
// newest verified backup is the one just made, so pruning can never delete it.
export async function backupApp(app: AppConfig): Promise<BackupOutcome> {
  const db = app.database;
  if (!db) throw new StepError("backup", `${app.name} has no database configured`, 1);
  const dir = appLayout(app).backups;
  // Backups hold every row of the app: readable by root only.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chown(dir, 0, 0);
  const target = path.join(dir, backupFileName(db.path));
  let copy: CopyResult;
  try {
    copy = await snapshotDatabase(db.path, target);
  } catch (error) {
    throw new StepError("backup", `backup of ${db.path} failed: ${(error as Error).message}`, 1, {
      cause: error,
    });
  }
  const pruned = await pruneBackups(dir, db.path, db.backups.keep);
  return { ...copy, path: target, pruned };
}
