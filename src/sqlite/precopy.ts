// The backup of a deploy, made mostly while the app still serves, so the app's stop window does
// not grow with the size of its DB:
//
//   1. precopy (app serving): copy the DB page for page inside a read snapshot that the sqlite3
//      shell keeps holding (held-snapshot.ts), into a file of root's in backups/, and check that
//      copy with quick_check (the bulk of the verification, done while the app serves).
//   2. the deploy stops the app; from here nothing writes the DB.
//   3. delta (app stopped): copy the DB's -wal file beside that copy. The held snapshot kept every
//      frame written since the copy in it, so SQLite's WAL recovery on the copy brings it up to
//      what the app had committed when it stopped; leaving WAL mode writes the frames in.
//   4. the result is renamed in as the backup; its own quick_check runs while the app comes back
//      up, older backups are pruned only once it passed, and every restore checks what it
//      restores before it replaces anything.
//
// Only a DB in WAL mode is copied ahead: for any other the deploy backs up after the stop, whole.
import { rename, unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { readSmallPath } from "../fs/bounded-read.js";
import { copyIntoNewFile } from "../fs/copy-file.js";
import { openEntry } from "../fs/entry.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { appLayout } from "../release/layout.js";
import {
  type BackupOutcome,
  copySnapshot,
  finishBackupFile,
  removeBackupTemp,
  type SnapshotCopy,
  verifyBackupFile,
} from "./backup-app.js";
import { backupFileName, listBackups, nextSequence, pruneBackups } from "./backup-files.js";

export interface Precopy {
  copy: SnapshotCopy;
  // How long the copy took (the app serving meanwhile).
  ms: number;
}

export interface DeltaOutcome extends BackupOutcome {
  // The -wal file copied after the stop, and the frames SQLite applied from it.
  walBytes: number;
  frames: number;
}

// Why the DB cannot be copied ahead, or undefined when it can (it is in WAL mode).
export async function precopyUnsupported(app: AppConfig): Promise<string | undefined> {
  const db = app.database;
  if (!db) return "no database configured";
  const header = await readSmallPath(db.path, 100).catch(() => undefined);
  if (!header) return "no database file yet";
  // File format: bytes 18 and 19 are 2 for a DB in WAL mode.
  if (header[18] !== 2 || header[19] !== 2) return "not in WAL mode";
  return undefined;
}

// Step 1: copy the DB while the app serves, holding the snapshot, and check the copy.
export async function precopyDatabase(app: AppConfig): Promise<Precopy> {
  const started = performance.now();
  const copy = await copySnapshot(app, { release: false });
  const backups = appLayout(app).backups;
  const problem = await verifyBackupFile(path.join(backups, copy.name)).catch(
    (error: Error) => error.message,
  );
  // The copy is in WAL mode (as the DB it was taken from): reading it left an empty -wal and a
  // -shm beside it, which must not be there when the DB's own -wal takes their place.
  await removeCompanions(backups, copy.name);
  if (problem) {
    await abandonPrecopy(app, { copy, ms: 0 });
    throw new Error(problem);
  }
  return { copy, ms: Math.round(performance.now() - started) };
}

// Step 3: bring the copy up to date from the -wal file, with the app stopped, and name it as the
// newest backup. Ends the snapshot. Throws when it cannot (the snapshot was lost: the shell timed
// out or was killed); the caller then backs up whole.
export async function finishPrecopy(app: AppConfig, precopy: Precopy): Promise<DeltaOutcome> {
  const db = app.database as NonNullable<AppConfig["database"]>;
  const layout = appLayout(app);
  const started = performance.now();
  const { copy } = precopy;
  try {
    // Asked after the -wal is copied: only while the snapshot is held is every frame since the
    // copy sure to be in it (and the -wal sure to exist: a reader keeps it from being deleted).
    const walBytes = await copyWal(db.path, layout.backups, `${copy.name}-wal`);
    if (walBytes === undefined) throw new Error("the DB has no -wal: the snapshot was lost");
    if (!(await copy.holder.stillHolding())) {
      throw new Error("the snapshot ended before the -wal was copied");
    }
    await copy.holder.release();
    const frames = await finishBackupFile(layout.backups, copy.name);
    const sequence = nextSequence(await listBackups(layout.backups, db.path));
    const name = backupFileName(db.path, sequence);
    await withPinnedDir(layout.backups, async (backups) => {
      const entry = await openEntry(backups, copy.name, "file");
      try {
        await entry.handle.sync();
      } finally {
        await entry.handle.close();
      }
      await rename(backups.at(copy.name), backups.at(name));
      await backups.handle.sync();
    });
    const file = path.join(layout.backups, name);
    return {
      path: file,
      bytes: copy.bytes,
      copyMs: precopy.ms,
      verifyMs: 0,
      // Pruned once its quick_check passed (pruneAfterCheck).
      pruned: [],
      durationMs: Math.round(performance.now() - started),
      walBytes,
      frames,
    };
  } catch (error) {
    await abandonPrecopy(app, precopy);
    throw error;
  }
}

// The quick_check of a backup finished after the stop, then pruning to `keep`: an older backup
// goes only once the new one is known sound. What is wrong with it, or undefined.
export async function checkThenPrune(
  app: AppConfig,
  file: string,
  protect: string[] = [],
): Promise<string | undefined> {
  const db = app.database as NonNullable<AppConfig["database"]>;
  const problem = await verifyBackupFile(file).catch((error: Error) => error.message);
  if (problem) return problem;
  await pruneBackups(appLayout(app).backups, db.path, db.backups.keep, [file, ...protect]);
  return undefined;
}

// End the snapshot and remove the copy: the deploy stopped before the stop, or backs up whole.
export async function abandonPrecopy(app: AppConfig, precopy: Precopy): Promise<void> {
  await precopy.copy.holder.release();
  await removeBackupTemp(appLayout(app).backups, precopy.copy.name);
}

async function removeCompanions(backups: string, name: string): Promise<void> {
  await withPinnedDir(backups, async (dir) => {
    for (const suffix of ["-wal", "-shm"]) {
      await unlink(dir.at(`${name}${suffix}`)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
  });
}

// Copy the DB's -wal file (the app user's, in a directory the app user can write: opened without
// following a link, a plain file only, exactly the size it had when opened) to `name` in backups/.
// Returns its size; undefined when there is none.
async function copyWal(dbPath: string, backups: string, name: string): Promise<number | undefined> {
  return withPinnedDir(path.dirname(dbPath), async (dir) => {
    const entry = await openEntry(dir, `${path.basename(dbPath)}-wal`, "file").catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined;
        throw error;
      },
    );
    if (!entry) return undefined;
    try {
      const size = entry.stats.size;
      return await withPinnedDir(backups, (into) =>
        copyIntoNewFile(entry.handle, into, name, { uid: 0, gid: 0, mode: 0o600 }, size),
      );
    } finally {
      await entry.handle.close();
    }
  });
}
