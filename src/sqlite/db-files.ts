// The app's SQLite files on disk: the DB and its -wal/-shm companions. They live in a directory
// the app user can write, so root acts on them only through a pinned directory and descriptors.
import { lstat, rename, unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { lstatPath, openEntry } from "../fs/entry.js";
import { applyOwnership } from "../fs/ownership.js";
import { UnsafePathError, withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
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
// touched; a `-shm` like that is removed (SQLite rebuilds it). Never throws for a file the app
// user can spoil (a link, a directory, a lease it holds): the app must still be started, and
// `agent check` reports what was left. Returns what was refused.
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
        if (file.endsWith("-shm") && error instanceof UnsafePathError) {
          // The wal-index holds nothing that is not in the DB and WAL: with the app stopped it can
          // go, and with it whatever the name pointed at stays untouched.
          await unlink(dir.at(name)).catch(() => undefined);
          logger.warn({ app: app.name, file, reason: error.message }, "removed an unsafe -shm");
          continue;
        }
        const reason = (error as Error).message;
        refused.push(reason);
        logger.error({ app: app.name, file, reason }, "DB file ownership not fixed");
      }
    }
  });
  return refused;
}

// Remove -wal and -shm. Only ever with the app stopped and just before a restored file is
// renamed in: a stale WAL left beside a different DB file would be replayed into it.
export async function dropWalFiles(dbPath: string): Promise<void> {
  const base = path.basename(dbPath);
  await removeNames(path.dirname(dbPath), [`${base}-wal`, `${base}-shm`]);
}

// Remove the DB and its companions (a first deploy's DB, once a copy of it is kept).
export async function removeDatabaseFiles(dbPath: string): Promise<void> {
  await removeNames(
    path.dirname(dbPath),
    databaseFiles(dbPath).map((f) => path.basename(f)),
  );
}

// Rename the DB and its companions to <db>.<kind>-<stamp>(-wal|-shm) in the DB's own directory,
// with the app stopped: the app's data kept where it is when a copy cannot be made. Returns the
// DB's new path.
export async function moveDatabaseAside(dbPath: string, kind: string): Promise<string> {
  const base = path.basename(dbPath);
  const aside = `${base}.${kind}-${new Date().toISOString().replace(/[-:.]/g, "")}`;
  await withPinnedDir(path.dirname(dbPath), async (dir) => {
    for (const suffix of ["", "-wal", "-shm"]) {
      await rename(dir.at(`${base}${suffix}`), dir.at(`${aside}${suffix}`)).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        },
      );
    }
    await dir.handle.sync();
  });
  return path.join(path.dirname(dbPath), aside);
}

// Remove whatever is at these names of a directory the app user can write: a file or a link by
// unlink(2) (the name itself, never what a link points at), a directory by removeTree.
async function removeNames(dirPath: string, names: string[]): Promise<void> {
  await withPinnedDir(dirPath, async (dir) => {
    for (const name of names) {
      const found = await lstat(dir.at(name)).catch(() => undefined);
      if (!found) continue;
      if (found.isDirectory()) {
        await removeTree(dir, name);
        continue;
      }
      await unlink(dir.at(name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
  });
}
