// Check "backups": a newest backup exists and passes quick_check, and no more than `keep` are kept.
// A backup is root's and never written again, so a quick_check that passed is remembered by the
// file's identity (device, inode, size, modification and change times) for a day: reading a
// 268 MB backup on every scheduled check would cost half a second of disk each time, while any
// change to the file changes that identity, and a day later it is read again (for damage the
// disk did without telling).
import { lstat, readdir } from "node:fs/promises";
import { logger } from "../log.js";
import { type BackupFile, listBackups } from "../sqlite/backup-files.js";
import { inspectSqliteFile } from "../sqlite/sqlite-cli.js";
import { recall, remember } from "../state/app-memory.js";
import { openStateDb } from "../state/state-db.js";
import { formatAge, formatBytes } from "./format.js";
import type { Check, CheckOutcome } from "./types.js";

export const backupsCheck: Check = {
  name: "backups",
  async run(ctx) {
    const db = ctx.app.database;
    if (!db) return { status: "ok", summary: "not configured", details: {} };
    const dir = ctx.layout.backups;
    // listBackups reads an unreadable directory as empty; "no backups" would then be a lie.
    const unreadable = await readdir(dir).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : error),
    );
    if (unreadable) {
      return { status: "unknown", summary: `cannot read ${dir}: ${unreadable.code}`, details: {} };
    }
    const backups = await listBackups(dir, db.path);
    const newest = backups[0];
    // backups/ is root's alone, so root may open them; the shell does it in a child process, so
    // a quick_check of gigabytes does not stall the daemon.
    const identity = newest ? await identityOf(newest.path) : undefined;
    const remembered = identity ? memory(ctx.app.name) : undefined;
    if (identity && stillVerified(remembered?.value, identity, Date.now())) {
      return judgeBackups(backups, db.backups.keep, undefined);
    }
    const problem = newest
      ? await inspectSqliteFile(newest.path).then(
          (facts) => {
            const bad = facts.quickCheck.filter((line) => line !== "ok");
            return bad.length > 0 ? `quick_check failed: ${bad.slice(0, 3).join("; ")}` : undefined;
          },
          (error: Error) => error.message,
        )
      : undefined;
    if (identity && problem === undefined) remembered?.save(`${identity}@${Date.now()}`);
    return judgeBackups(backups, db.backups.keep, problem);
  },
};

const VERIFIED_KEY = "backup-verified";
export const REVERIFY_MS = 24 * 3600_000;

// What identifies a backup file's content without reading it: any write or replacement changes
// it (ctime cannot be set back by anyone).
async function identityOf(file: string): Promise<string | undefined> {
  const stats = await lstat(file, { bigint: true }).catch(() => undefined);
  if (!stats?.isFile()) return undefined;
  return [file, stats.dev, stats.ino, stats.size, stats.mtimeNs, stats.ctimeNs].join("|");
}

// Whether the remembered verdict ("<identity>@<ms>") is for this very file and recent enough.
export function stillVerified(remembered: string | undefined, identity: string, now: number) {
  if (!remembered) return false;
  const at = remembered.lastIndexOf("@");
  if (at < 0 || remembered.slice(0, at) !== identity) return false;
  const when = Number(remembered.slice(at + 1));
  return Number.isFinite(when) && when <= now && now - when < REVERIFY_MS;
}

// The app's remembered verdict and a way to replace it; undefined without a state DB (not root,
// a read-only disk): the backup is then read every time.
function memory(app: string): { value: string | undefined; save(value: string): void } | undefined {
  try {
    const db = openStateDb();
    try {
      const value = recall(db, app, VERIFIED_KEY);
      return {
        value,
        save(next) {
          try {
            const again = openStateDb();
            try {
              remember(again, app, VERIFIED_KEY, next);
            } finally {
              again.close();
            }
          } catch (error) {
            logger.debug({ app, err: error }, "state DB unavailable: backup verdict not kept");
          }
        },
      };
    } finally {
      db.close();
    }
  } catch (error) {
    logger.debug({ app, err: error }, "state DB unavailable: backup read every time");
    return undefined;
  }
}

// Judge the backups found (newest first); `newestProblem` is why the newest failed quick_check.
export function judgeBackups(
  backups: BackupFile[],
  keep: number,
  newestProblem: string | undefined,
  now: Date = new Date(),
): CheckOutcome {
  const newest = backups[0];
  const details = {
    count: backups.length,
    keep,
    newest: newest
      ? { path: newest.path, takenAt: newest.takenAt.toISOString(), bytes: newest.bytes }
      : null,
  };
  if (!newest) return { status: "warning", summary: "no backup yet", details };
  const age = formatAge(now.getTime() - newest.takenAt.getTime());
  if (newestProblem !== undefined) {
    return {
      status: "critical",
      summary: `newest backup ${newest.name} (${age} old) is damaged: ${newestProblem}`,
      details,
    };
  }
  const described = `newest ${age} old (${formatBytes(newest.bytes)}, quick_check ok)`;
  if (backups.length > keep) {
    return {
      status: "warning",
      summary: `${backups.length} backups, more than keep=${keep}; ${described}`,
      details,
    };
  }
  return { status: "ok", summary: `${backups.length} of ${keep}, ${described}`, details };
}
