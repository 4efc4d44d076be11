// Back up an app's database into backups/ and prune to `keep`: what `agent backup` and sync do.
// The copy is made by the sqlite3 shell running as the app user (VACUUM INTO, see sqlite-cli.ts)
// into a staging directory; root then takes it over, copies it into a file of its own in
// backups/ (root's, mode 0700) and checks that copy.
import { mkdir } from "node:fs/promises";
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
import { type CopyResult, vacuumInto } from "./sqlite-cli.js";
import { openStaging } from "./staging.js";

export interface BackupOutcome extends CopyResult {
  path: string;
  pruned: string[];
  durationMs: number;
}

// A locked DB is waited for this long before the backup gives up.
const BUSY_TIMEOUT_MS = 10_000;

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
  const db = app.database as NonNullable<AppConfig["database"]>;
  const layout = appLayout(app);
  const owner = await runAs(app.user, app.group);
  const companions = await companionProblem(db.path);
  if (companions) throw new Error(companions);
  await ensureBackupsDir(layout.dir, layout.backups);
  const staging = await openStaging(layout, owner);
  try {
    const sourceBytes = (await lstatPath(db.path).catch(() => undefined))?.size ?? 0;
    const copyMs = await vacuumInto(db.path, staging.pathOf("copy.db"), {
      as: owner,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      timeoutMs: copyTimeoutMs(sourceBytes),
    });
    const verifyStarted = performance.now();
    const bytes = await withPinnedDir(layout.backups, (backups) =>
      staging.adopt("copy.db", backups, name, 0o600),
    );
    const verifyMs = Math.round(performance.now() - verifyStarted);
    return { bytes, copyMs, verifyMs, path: path.join(layout.backups, name) };
  } finally {
    await staging.remove();
  }
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
