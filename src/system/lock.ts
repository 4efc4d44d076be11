// Per-app exclusive lock in /run: one sync, rollback, restore or backup of an app at a time.
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { RUN_DIR } from "../config/paths.js";
import { LockHeldError } from "../errors.js";

export interface LockHolder {
  pid: number;
  // Kernel start time of the holder (from /proc/PID/stat), so a reused PID is not mistaken for it.
  startTicks: string;
  command: string;
  since: string;
}

export interface AppLock {
  path: string;
  release(): Promise<void>;
}

export function lockPath(app: string): string {
  return path.join(RUN_DIR, `${app}.lock`);
}

// Take the app's lock or throw LockHeldError naming the holder. A lock whose holder is dead is
// taken over. The file is created complete under a temporary name and hard-linked into place,
// which fails atomically when another run got there first.
export async function acquireLock(app: string, command: string): Promise<AppLock> {
  await mkdir(RUN_DIR, { recursive: true, mode: 0o755 });
  const file = lockPath(app);
  const me: LockHolder = {
    pid: process.pid,
    startTicks: await startTicksOf(process.pid),
    command,
    since: new Date().toISOString(),
  };
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(me));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(temp, file);
        return { path: file, release: () => releaseLock(file, me) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readLockHolder(app);
      if (holder && (await isAlive(holder))) {
        throw new LockHeldError(
          `${app} is locked by ${holder.command} (pid ${holder.pid}, since ${holder.since})`,
        );
      }
      // Stale (holder died, e.g. a power cut mid-run or kill -9): take it over.
      await rm(file, { force: true });
    }
    throw new LockHeldError(`${app}: could not take the lock at ${file}`);
  } finally {
    await rm(temp, { force: true });
  }
}

// Who holds the app's lock, if anyone (a dead holder is still returned; see isLockHeld).
export async function readLockHolder(app: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(lockPath(app), "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

// The live holder of the app's lock, or undefined when it is free or stale.
export async function liveLockHolder(app: string): Promise<LockHolder | undefined> {
  const holder = await readLockHolder(app);
  return holder && (await isAlive(holder)) ? holder : undefined;
}

async function releaseLock(file: string, me: LockHolder): Promise<void> {
  // Only remove the lock if it is still ours.
  const current = await readFile(file, "utf8").catch(() => "");
  if (current === JSON.stringify(me)) await rm(file, { force: true });
}

async function isAlive(holder: LockHolder): Promise<boolean> {
  const ticks = await startTicksOf(holder.pid).catch(() => undefined);
  return ticks !== undefined && ticks === holder.startTicks;
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
async function startTicksOf(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}
