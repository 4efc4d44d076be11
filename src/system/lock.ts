// Per-app exclusive lock in /run: one sync, rollback, restore or backup of an app at a time.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RUN_DIR } from "../config/paths.js";
import { LockHeldError } from "../errors.js";
import { tryLockDescriptor } from "./flock.js";
import {
  clearAndClose,
  closeLockFile,
  isStillAt,
  openLockFile,
  readLockFile,
  rewriteLockFile,
} from "./lock-file.js";

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

// How long a refused taker waits for the holder to record itself, to name it in the error: the
// holder writes its JSON right after its flock(2) succeeds, so this is only waited out when two
// runs start together on a loaded machine.
const HOLDER_WAIT_MS = 1000;

// Where the app's lock file lives (under RUN_DIR, a tmpfs: it goes away at reboot).
export function lockPath(app: string): string {
  return path.join(RUN_DIR, `${app}.lock`);
}

// Take the app's lock or throw LockHeldError naming the holder. Exclusion is flock(2) on the lock
// file, which the kernel drops when the holder dies (even by SIGKILL): there is no stale lock to
// take over, and a second open file, even in this process, conflicts. The file is never removed,
// only emptied, so every taker locks the same inode; the holder JSON in it is for readers.
export async function acquireLock(app: string, command: string): Promise<AppLock> {
  await mkdir(RUN_DIR, { recursive: true, mode: 0o755 });
  const file = lockPath(app);
  const fd = await lockOpenFile(app, file);
  try {
    const me: LockHolder = {
      pid: process.pid,
      startTicks: await startTicksOf(process.pid),
      command,
      since: new Date().toISOString(),
    };
    await rewriteLockFile(fd, JSON.stringify(me));
  } catch (error) {
    await clearAndClose(fd);
    throw error;
  }
  let released = false;
  const release = async () => {
    // Once only: a second close could hit an unrelated file that reused the descriptor number.
    if (released) return;
    released = true;
    await clearAndClose(fd);
  };
  return { path: file, release };
}

// Open the lock file and flock it; retried when the file was replaced between open and flock.
async function lockOpenFile(app: string, file: string): Promise<number> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const fd = await openLockFile(file);
    let locked = false;
    try {
      locked = await tryLockDescriptor(fd);
      if (locked && (await isStillAt(fd, file))) return fd;
    } catch (error) {
      await closeLockFile(fd);
      throw new Error(`cannot lock ${file}: ${(error as Error).message}`, { cause: error });
    }
    await closeLockFile(fd);
    if (!locked) throw await heldError(app);
  }
  throw new Error(`cannot lock ${file}: it keeps being replaced`);
}

// The refusal, naming the live holder; it may not have written its JSON yet, so wait a moment.
async function heldError(app: string): Promise<LockHeldError> {
  const deadline = performance.now() + HOLDER_WAIT_MS;
  for (;;) {
    const holder = await liveLockHolder(app);
    if (holder) {
      return new LockHeldError(
        `${app} is locked by ${holder.command} (pid ${holder.pid}, since ${holder.since})`,
      );
    }
    if (performance.now() >= deadline) break;
    await sleep(10);
  }
  return new LockHeldError(`${app} is locked by another run (not yet recorded in its lock file)`);
}

// Who last recorded itself in the app's lock file, if anyone; it may have died since (the kernel
// freed its lock but its JSON stays until the next taker rewrites it): see liveLockHolder.
export async function readLockHolder(app: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readLockFile(lockPath(app))) as LockHolder;
  } catch {
    return undefined;
  }
}

// The live holder of the app's lock, or undefined when it is free. A cheap look at the recorded
// holder and /proc, for status readers; it never decides who gets the lock.
export async function liveLockHolder(app: string): Promise<LockHolder | undefined> {
  const holder = await readLockHolder(app);
  return holder && (await isAlive(holder)) ? holder : undefined;
}

// Whether the recorded holder is still the same running process (not a reused PID).
async function isAlive(holder: LockHolder): Promise<boolean> {
  const ticks = await startTicksOf(holder.pid).catch(() => undefined);
  return ticks !== undefined && ticks === holder.startTicks;
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
async function startTicksOf(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}
