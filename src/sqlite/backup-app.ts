// Back up an app's database into backups/ and prune to `keep`: what `agent backup` and sync do.
// The copy is made by the sqlite3 shell running as the app user (`.backup` inside a read
// snapshot, see held-snapshot.ts) into a staging directory; root then takes it over, copies it
// into a file of its own in backups/ (root's, mode 0700), makes it a self-contained
// rollback-journal file and checks it. A deploy makes the same copy before it stops the app and
// only brings it up to date after the stop (precopy.ts).
import { randomBytes } from "node:crypto";
import { mkdir, rename, unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { StepError } from "../errors.js";
import { lstatPath, openEntry } from "../fs/entry.js";
import { applyOwnership } from "../fs/ownership.js";
import { isTrusted, type PinnedDir, UnsafePathError, withPinnedDir } from "../fs/pinned-dir.js";
import { appLayout } from "../release/layout.js";
import { runAs } from "../system/accounts.js";
import { backupFileName, listBackups, nextSequence, pruneBackups } from "./backup-files.js";
import { companionProblem } from "./companions.js";
import { type HeldSnapshot, holdSnapshot } from "./held-snapshot.js";
import { applyWalFile, type CopyResult, inspectSqliteFile } from "./sqlite-cli.js";
import { openStaging } from "./staging.js";

export interface BackupOutcome extends CopyResult {
  path: string;
  pruned: string[];
  durationMs: number;
}

// Two minutes plus a second for every 10 MB: a slow disk is waited for, a copy that is stuck
// (during a deploy the app is stopped for it) is not waited for an hour.
// An hour at most, whatever size the file claims (a sparse file can claim terabytes); a copy that
// stops making progress is ended much sooner by the runner's watchdog.
export function copyTimeoutMs(sourceBytes: number): number {
  return Math.min(60 * 60_000, 2 * 60_000 + Math.ceil(sourceBytes / (10 * 1024 * 1024)) * 1000);
}

// Take a verified online backup of the app's DB. Works while the app writes (WAL mode); the
// newest verified backup is the one just made, so pruning can never delete it, and neither does
// it delete a backup in `protect` (one an interrupted deployment still needs).
export async function backupApp(app: AppConfig, protect: string[] = []): Promise<BackupOutcome> {
  const db = app.database;
  if (!db) throw new StepError("backup", `${app.name} has no database configured`, 1);
  const layout = appLayout(app);
  const started = performance.now();
  let outcome: CopyResult & { path: string };
  try {
    const sequence = nextSequence(await listBackups(layout.backups, db.path));
    outcome = await copyIntoBackups(app, backupFileName(db.path, sequence));
  } catch (error) {
    throw new StepError("backup", `backup of ${db.path} failed: ${(error as Error).message}`, 1, {
      cause: error,
    });
  }
  const pruned = await pruneBackups(layout.backups, db.path, db.backups.keep, [
    outcome.path,
    ...protect,
  ]);
  return { ...outcome, pruned, durationMs: Math.round(performance.now() - started) };
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
  const stamp = new Date().toISOString().replace(/[-:.]/g, "");
  return (await copyIntoBackups(app, `${path.basename(db.path)}.${kind}-${stamp}`)).path;
}

// Copy the app's DB, as the app user, to backups/<name>: verified, root's, mode 0600, flushed.
async function copyIntoBackups(
  app: AppConfig,
  name: string,
): Promise<CopyResult & { path: string }> {
  const layout = appLayout(app);
  const started = performance.now();
  const temp = await copySnapshot(app, { release: true });
  try {
    const copyMs = Math.round(performance.now() - started);
    const verifyStarted = performance.now();
    await finishBackupFile(layout.backups, temp.name);
    const verified = await verifyBackupFile(path.join(layout.backups, temp.name));
    if (verified) throw new Error(verified);
    await withPinnedDir(layout.backups, async (backups) => {
      await rename(backups.at(temp.name), backups.at(name));
      await backups.handle.sync();
    });
    const verifyMs = Math.round(performance.now() - verifyStarted);
    return { bytes: temp.bytes, copyMs, verifyMs, path: path.join(layout.backups, name) };
  } catch (error) {
    await removeBackupTemp(layout.backups, temp.name);
    throw error;
  }
}

export interface SnapshotCopy {
  // The copy's name in backups/ (a temporary name: see BACKUP_TEMP_PREFIX), root's, unverified.
  name: string;
  bytes: number;
  // The snapshot it was made from, still held unless `release` was asked for.
  holder: HeldSnapshot;
}

// Prefix of the temporary files a backup is built in, in backups/; debris if found later.
export const BACKUP_TEMP_PREFIX = ".tmp-";

// Copy the DB, page for page, as it is in one read snapshot (held by the sqlite3 shell as the app
// user), into a new file of root's in backups/ under a temporary name. With `release`, the
// snapshot ends once the shell's copy is made; otherwise the caller ends it (holder.release()).
export async function copySnapshot(
  app: AppConfig,
  options: { release: boolean },
): Promise<SnapshotCopy> {
  const db = app.database as NonNullable<AppConfig["database"]>;
  const layout = appLayout(app);
  const owner = await runAs(app.user, app.group);
  const companions = await companionProblem(db.path);
  if (companions) throw new Error(companions);
  await ensureBackupsDir(layout.dir, layout.backups);
  const staging = await openStaging(layout, owner);
  const name = `${BACKUP_TEMP_PREFIX}${path.basename(db.path)}-${process.pid}-${randomBytes(4).toString("hex")}`;
  let holder: HeldSnapshot | undefined;
  try {
    const sourceBytes = (await lstatPath(db.path).catch(() => undefined))?.size ?? 0;
    // The shell lives as long as the copy may take, plus the stop window of a deploy.
    holder = holdSnapshot(db.path, staging.pathOf("copy.db"), owner, {
      copyTimeoutMs: copyTimeoutMs(sourceBytes),
      holdMs: options.release ? 10_000 : HOLD_AFTER_COPY_MS,
      releaseAtOnce: options.release,
    });
    await holder.copied;
    if (options.release) await holder.release();
    const bytes = await withPinnedDir(layout.backups, (backups) =>
      staging.copyOut("copy.db", backups, name, 0o600),
    );
    return { name, bytes, holder };
  } catch (error) {
    await holder?.release();
    throw error;
  } finally {
    await staging.remove();
  }
}

// How long a snapshot may be held after its copy is made: a deploy stops the app in between.
const HOLD_AFTER_COPY_MS = 10 * 60_000;

// Make the file `name` of backups/ (root's) a self-contained rollback-journal file, bringing it
// up to date with a `<name>-wal` beside it when there is one. Returns the frames applied.
export async function finishBackupFile(backups: string, name: string): Promise<number> {
  return applyWalFile(path.join(backups, name));
}

// quick_check of a backup file: undefined when sound, else what is wrong.
export async function verifyBackupFile(file: string): Promise<string | undefined> {
  const facts = await inspectSqliteFile(file, { timeoutMs: 10 * 60_000 });
  const bad = facts.quickCheck.filter((line) => line !== "ok");
  return bad.length > 0
    ? `quick_check of the copy failed: ${bad.slice(0, 3).join("; ")}`
    : undefined;
}

// Remove a temporary backup file and its companions (best effort: a later run sweeps debris).
export async function removeBackupTemp(backups: string, name: string): Promise<void> {
  await withPinnedDir(backups, async (dir) => {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      await unlink(dir.at(`${name}${suffix}`)).catch(() => undefined);
    }
  }).catch(() => undefined);
}

// backups/ exists, is a real directory, and is root's with mode 0700: it holds every row.
export async function ensureBackupsDir(appDir: string, backups: string): Promise<void> {
  await withPinnedDir(appDir, async (top: PinnedDir) => {
    const name = path.basename(backups);
    await mkdir(top.at(name), { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
    const entry = await openEntry(top, name, "dir");
    try {
      if (!isTrusted(entry.stats)) {
        throw new UnsafePathError(
          `${backups} is not root's alone: refused (agent check --fix repairs it)`,
        );
      }
      await applyOwnership(entry, { uid: 0, gid: 0, mode: 0o700 });
    } finally {
      await entry.handle.close();
    }
  });
}
