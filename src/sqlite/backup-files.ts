// Naming, listing and pruning of the backups kept in <app.dir>/backups/.
import { lstat, readdir, rm } from "node:fs/promises";
import path from "node:path";

// <db file name>.<UTC stamp with ms>.<sequence>.bak, e.g. shop.db.20261123T101500123Z.42.bak.
// The sequence orders them: a clock that is wrong (a machine booting before NTP, a clock set
// back) must not make a new backup look oldest and get it pruned. Names without a sequence (from
// before it existed) count as sequence 0 and order among themselves by their stamp.
const BACKUP_NAME = /^(.+)\.(\d{8}T\d{9}Z)(?:\.(\d{1,12}))?\.bak$/;

export interface BackupFile {
  name: string;
  path: string;
  takenAt: Date;
  sequence: number;
  bytes: number;
}

// The file name a backup of `dbPath` gets as number `sequence`, taken at `at`.
export function backupFileName(dbPath: string, sequence: number, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:.]/g, "");
  return `${path.basename(dbPath)}.${stamp}.${sequence}.bak`;
}

// Backups of one database in a directory, newest first. Kept-aside copies (`.failed-…`) and
// temporary files are not backups and never counted; neither is anything but a regular file.
export async function listBackups(dir: string, dbPath: string): Promise<BackupFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const base = path.basename(dbPath);
  const files: BackupFile[] = [];
  for (const name of names) {
    const match = BACKUP_NAME.exec(name);
    if (!match || match[1] !== base) continue;
    const file = path.join(dir, name);
    const info = await lstat(file).catch(() => undefined);
    if (!info?.isFile()) continue;
    files.push({
      name,
      path: file,
      takenAt: parseStamp(match[2] as string),
      sequence: Number(match[3] ?? 0),
      bytes: info.size,
    });
  }
  // Plain code-unit order, not localeCompare: the names are ASCII, and collation would map ICU's
  // collation tables into the daemon on every scheduled check.
  return files.sort(
    (a, b) => b.sequence - a.sequence || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0),
  );
}

// The sequence number the next backup gets.
export function nextSequence(backups: BackupFile[]): number {
  return backups.reduce((max, b) => Math.max(max, b.sequence), 0) + 1;
}

function parseStamp(stamp: string): Date {
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.${stamp.slice(15, 18)}Z`;
  return new Date(iso);
}

// Delete all but the newest `keep` backups, sparing any named in `protect` (the backup an
// interrupted deployment will restore); returns what was deleted.
export async function pruneBackups(
  dir: string,
  dbPath: string,
  keep: number,
  protect: string[] = [],
): Promise<string[]> {
  const backups = await listBackups(dir, dbPath);
  const doomed = backups.slice(Math.max(keep, 1)).filter((b) => !protect.includes(b.path));
  for (const backup of doomed) await rm(backup.path, { force: true });
  return doomed.map((b) => b.path);
}
