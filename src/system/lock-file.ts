// The lock file itself: opened without following links, the holder written through the descriptor.
import { close, constants, fstat, ftruncate, open, type Stats, write } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import { promisify } from "node:util";

const { O_CREAT, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR } = constants;
const openFd = promisify(open);
const fstatFd = promisify(fstat);
const truncateFd = promisify(ftruncate);
const writeFd = promisify(write);
const closeFd = promisify(close);

// Never through a symlink (ELOOP), never blocking on a FIFO or adopting a terminal planted there.
const SAFE = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

// Open (creating, mode 0644) the lock file read-write as a plain integer descriptor: a FileHandle
// would be closed when garbage-collected, silently dropping the lock. Anything at the path that
// is not a regular file with one link is refused, never followed or written through.
export async function openLockFile(file: string): Promise<number> {
  let fd: number;
  try {
    fd = await openFd(file, O_RDWR | O_CREAT | SAFE, 0o644);
  } catch (error) {
    // A symlink fails with ELOOP, a directory with EISDIR, a socket with ENXIO: say which it is.
    const stats = await lstat(file).catch(() => undefined);
    if (stats && !stats.isFile()) throw refusal(file, stats, error);
    throw new Error(`cannot open lock ${file}: ${(error as Error).message}`, { cause: error });
  }
  const stats = await fstatFd(fd).catch(async (error: unknown) => {
    await closeFd(fd);
    throw error;
  });
  if (!stats.isFile() || stats.nlink !== 1) {
    await closeFd(fd);
    throw refusal(file, stats);
  }
  return fd;
}

// Whether the path still names the file we hold open: someone may have removed or replaced it
// between our open and our flock, and a lock on an unlinked file excludes nobody.
export async function isStillAt(fd: number, file: string): Promise<boolean> {
  const [held, atPath] = await Promise.all([fstatFd(fd), lstat(file).catch(() => undefined)]);
  return atPath !== undefined && atPath.ino === held.ino && atPath.dev === held.dev;
}

// Replace the file's content through the descriptor (truncate, then one write at offset 0).
export async function rewriteLockFile(fd: number, text: string): Promise<void> {
  await truncateFd(fd, 0);
  await writeFd(fd, text, 0, "utf8");
}

// Clear the content and close: closing our last descriptor is what frees the flock.
export async function clearAndClose(fd: number): Promise<void> {
  try {
    await truncateFd(fd, 0);
  } finally {
    await closeFd(fd);
  }
}

// Close a descriptor on a failure path.
export async function closeLockFile(fd: number): Promise<void> {
  await closeFd(fd);
}

// The lock file's text, read without following a symlink or waiting on a FIFO; "" if absent.
export async function readLockFile(file: string): Promise<string> {
  return readFile(file, { encoding: "utf8", flag: O_RDONLY | SAFE }).catch(() => "");
}

// Refuse a path that is not a plain lock file, saying what it is instead.
function refusal(file: string, stats: Stats, cause?: unknown): Error {
  return new Error(`refusing to use ${file} as a lock: it is ${describeKind(stats)}`, { cause });
}

// What kind of file this is, in words for the refusal.
function describeKind(stats: Stats): string {
  if (stats.isSymbolicLink()) return "a symbolic link (not followed)";
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isFile()) return `a regular file with ${stats.nlink} hard links`;
  return "not a regular file";
}
