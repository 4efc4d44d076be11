// Check "backups": a newest backup exists and passes quick_check, and no more than `keep` are kept.
import { readdir } from "node:fs/promises";
import { type BackupFile, listBackups } from "../sqlite/backup-files.js";
import { inspectSqliteFile } from "../sqlite/sqlite-cli.js";
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
    const problem = newest
      ? await inspectSqliteFile(newest.path).then(
          (facts) => {
            const bad = facts.quickCheck.filter((line) => line !== "ok");
            return bad.length > 0 ? `quick_check failed: ${bad.slice(0, 3).join("; ")}` : undefined;
          },
          (error: Error) => error.message,
        )
      : undefined;
    return judgeBackups(backups, db.backups.keep, problem);
  },
};

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
