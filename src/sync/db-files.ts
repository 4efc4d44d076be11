// The app's SQLite files on disk: the DB and its -wal/-shm companions. They live in a directory
// the app user can write, so root acts on them only through a pinned directory and descriptors.
import { unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { lstatPath, openEntry } from "../fs/entry.js";
import { applyOwnership } from "../fs/ownership.js";
import { UnsafePathError, withPinnedDir } from "../fs/pinned-dir.js";
import { logger } from "../log.js";
import { runAs } from "../system/accounts.js";

// The DB file and the companions SQLite keeps beside it in WAL mode.
export function databaseFiles(dbPath: string): string[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`];
}

// Whether something is at the path (a symlink counts; it is never followed).
export async function fileExists(file: string): Promise<boolean> {
  return (await lstatPath(file).catch(() => undefined)) !== undefined;
}

// Give the DB files to the app user with database.mode: a migration run as another user, or a
// restore written by root, must not leave a DB the app cannot write. Never through a symlink: a
// companion that is not a plain file (a symlink to a unit file, planted by the app user) is not
// touched; a `-shm` like that is removed (SQLite rebuilds it), anything else is reported. Never
// throws for such a file: the app must still be started. Returns what was refused.
export async function fixDatabaseOwnership(app: AppConfig): Promise<string[]> {
  const db = app.database;
  if (!db) return [];
  const owner = await runAs(app.user, app.group);
  const refused: string[] = [];
  await withPinnedDir(path.dirname(db.path), async (dir) => {
    for (const file of databaseFiles(db.path)) {
      const name = path.basename(file);
      try {
        const entry = await openEntry(dir, name, "file");
        try {
          await applyOwnership(entry, { uid: owner.uid, gid: owner.gid, mode: db.mode });
        } finally {
          await entry.handle.close();
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        if (!(error instanceof UnsafePathError)) throw error;
        if (file.endsWith("-shm")) {
          // The wal-index holds nothing that is not in the DB and WAL: with the app stopped it can
          // go, and with it whatever the name pointed at stays untouched.
          await unlink(dir.at(name)).catch(() => undefined);
          logger.warn({ app: app.name, file, reason: error.message }, "removed an unsafe -shm");
          continue;
        }
        refused.push(error.message);
        logger.error({ app: app.name, file, reason: error.message }, "DB file ownership not fixed");
      }
    }
  });
  return refused;
}

// Remove -wal and -shm. Only ever with the app stopped and just before a restored file is
// renamed in: a stale WAL left beside a different DB file would be replayed into it. unlink(2)
// removes the name itself, never what a symlink there points at.
export async function dropWalFiles(dbPath: string): Promise<void> {
  await withPinnedDir(path.dirname(dbPath), async (dir) => {
    for (const suffix of ["-wal", "-shm"]) {
      await unlink(dir.at(`${path.basename(dbPath)}${suffix}`)).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        },
      );
    }
  });
}
