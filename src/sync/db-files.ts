// The app's SQLite files on disk: the DB and its -wal/-shm companions.
import { chmod, chown, rm, stat } from "node:fs/promises";
import type { AppConfig } from "../config/schema.js";
import { lookupGroupId, lookupUser } from "../system/accounts.js";

// The DB file and the companions SQLite keeps beside it in WAL mode.
export function databaseFiles(dbPath: string): string[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`];
}

export async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

// Give the DB files to the app user with database.mode: a migration run as another user, or a
// restore written by root, must not leave a DB the app cannot write.
export async function fixDatabaseOwnership(app: AppConfig): Promise<string[]> {
  const db = app.database;
  if (!db) return [];
  const user = await lookupUser(app.user);
  const gid = await lookupGroupId(app.group);
  if (!user || gid === undefined) throw new Error(`no user ${app.user}:${app.group}`);
  const fixed: string[] = [];
  for (const file of databaseFiles(db.path)) {
    if (!(await fileExists(file))) continue;
    await chown(file, user.uid, gid);
    await chmod(file, db.mode);
    fixed.push(file);
  }
  return fixed;
}

// Remove -wal and -shm. Only ever with the app stopped and just before a restored file is
// renamed in: a stale WAL left beside a different DB file would be replayed into it.
export async function dropWalFiles(dbPath: string): Promise<void> {
  await rm(`${dbPath}-wal`, { force: true });
  await rm(`${dbPath}-shm`, { force: true });
}
