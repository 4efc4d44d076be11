// Put a backup back in place of the app's DB, with the app stopped.
import { randomBytes } from "node:crypto";
import { rename } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { readSmallPath } from "../fs/bounded-read.js";
import { copyIntoNewFile } from "../fs/copy-file.js";
import { lstatPath, openEntry } from "../fs/entry.js";
import { applyOwnership, type Ownership } from "../fs/ownership.js";
import { type PinnedDir, withPinnedDir } from "../fs/pinned-dir.js";
import { appLayout } from "../release/layout.js";
import { runAs } from "../system/accounts.js";
import { copyTimeoutMs } from "./backup-app.js";
import { dropWalFiles, fileExists } from "./db-files.js";
import { inspectSqliteFile, setJournalMode, vacuumInto } from "./sqlite-cli.js";
import { openStaging } from "./staging.js";

// Prefix of the temporary file a restore builds beside the DB (when the DB lives on another file
// system than the app directory); debris if found later.
export const RESTORE_TEMP_PREFIX = ".restore-";

// Replace the DB by `backupFile` (a file in backups/, root's alone: a file elsewhere could be
// changed, or have SQLite companions planted beside it, by whoever can write there). A copy is
// made in root's staging directory with the DB's journal mode and verified; it is then given to
// the app user and renamed over the DB, the stale -wal/-shm dropped first (they
// belong to the file being replaced and would be replayed into the restored one).
export async function restoreDatabase(app: AppConfig, backupFile: string): Promise<void> {
  const db = app.database;
  if (!db) throw new Error(`${app.name} has no database configured`);
  const layout = appLayout(app);
  const source = path.resolve(backupFile);
  if (path.dirname(source) !== layout.backups) {
    throw new Error(`${backupFile} is not in ${layout.backups}: only backups there are restored`);
  }
  const wal = (await fileExists(db.path)) ? await usesWal(db.path) : true;
  const owner = await runAs(app.user, app.group);
  const staging = await openStaging(layout);
  try {
    // All of this as root, in root's own directories (backups/, the staging directory): no one
    // else can put files beside these.
    const copy = staging.pathOf("restore.db");
    const sourceBytes = (await lstatPath(source).catch(() => undefined))?.size ?? 0;
    await vacuumInto(source, copy, { timeoutMs: copyTimeoutMs(sourceBytes) });
    if (wal) await setJournalMode(copy, "wal");
    const problems = (await inspectSqliteFile(copy)).quickCheck.filter((l) => l !== "ok");
    if (problems.length > 0) {
      throw new Error(
        `quick_check of the restored copy failed: ${problems.slice(0, 3).join("; ")}`,
      );
    }
    const staged = await staging.take("restore.db");
    await withPinnedDir(path.dirname(db.path), (dbDir) =>
      placeFile(staged.dir, staged.name, dbDir, path.basename(db.path), {
        uid: owner.uid,
        gid: owner.gid,
        mode: db.mode,
      }),
    );
  } finally {
    await staging.remove();
  }
}

// Move a verified file into the DB's directory under `name`, atomically: renamed when both are on
// one file system, else copied to a temporary name there (created O_EXCL, never through a link)
// and renamed. Flushed, and the directory too, so a power cut keeps one whole DB.
async function placeFile(
  from: PinnedDir,
  fromName: string,
  to: PinnedDir,
  name: string,
  ownership: Ownership,
): Promise<void> {
  const source = await openEntry(from, fromName, "file");
  try {
    await applyOwnership(source, ownership);
    await source.handle.sync();
    const sameDevice = (await from.stat()).dev === (await to.stat()).dev;
    if (sameDevice) {
      await dropWalFiles(path.join(to.path, name));
      await rename(from.at(fromName), to.at(name));
    } else {
      // A random name: the directory is the app user's, and a name it could guess it could block.
      const temp = `${RESTORE_TEMP_PREFIX}${name}-${randomBytes(6).toString("hex")}`;
      await copyIntoNewFile(source.handle, to, temp, ownership);
      await dropWalFiles(path.join(to.path, name));
      await rename(to.at(temp), to.at(name));
    }
    await to.handle.sync();
  } finally {
    await source.handle.close();
  }
}

// Whether a DB file is in WAL mode: header bytes 18 and 19 are 2 (SQLite file format). Read
// through the pinned directory, at most 100 bytes, never through a link.
async function usesWal(file: string): Promise<boolean> {
  const header = await readSmallPath(file, 100).catch(() => undefined);
  return header !== undefined && header[18] === 2 && header[19] === 2;
}
