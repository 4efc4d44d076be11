// Files and directories inside a pinned directory, opened without following a symlink and
// without blocking, checked for their kind, then acted on through the descriptor only: what root
// may do to a name the app user can replace at any moment.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type Stats,
} from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import path from "node:path";
import { assertName, type PinnedDir, pinDir, UnsafePathError, walkToDir } from "./pinned-dir.js";

export type EntryKind = "file" | "dir";

// O_NONBLOCK: a FIFO planted where a file was expected must not hang root (open returns at once,
// and the kind check then refuses it). O_NOCTTY: a terminal device never becomes ours.
const OPEN_FLAGS = constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface OpenedEntry {
  handle: FileHandle;
  stats: Stats;
  // The path as configured, for messages.
  path: string;
}

// Open `name` in `dir` as the expected kind. A symlink, a FIFO, a device, a socket or a regular
// file with more than one name (a hard link could be another user's file) is refused with
// UnsafePathError; a missing entry rejects with ENOENT as usual.
export async function openEntry(
  dir: PinnedDir,
  name: string,
  kind: EntryKind,
  flags: number = constants.O_RDONLY,
): Promise<OpenedEntry> {
  const where = path.join(dir.path, name);
  let handle: FileHandle;
  try {
    handle = await open(
      dir.at(name),
      flags | OPEN_FLAGS | (kind === "dir" ? constants.O_DIRECTORY : 0),
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new UnsafePathError(`${where} is a symlink: refused`);
    if (code === "ENOTDIR") throw new UnsafePathError(`${where} is not a directory`);
    if (code === "ENXIO") throw new UnsafePathError(`${where} is a socket or device: refused`);
    throw relabel(error, where);
  }
  try {
    const stats = await handle.stat();
    assertKind(stats, kind, where);
    return { handle, stats, path: where };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

// The same for an absolute path: its directory pinned, then the entry opened in it.
export async function openPath(
  file: string,
  kind: EntryKind,
  flags: number = constants.O_RDONLY,
): Promise<OpenedEntry & { close(): Promise<void> }> {
  const dir = await pinDir(path.dirname(file));
  try {
    const entry = await openEntry(dir, path.basename(file), kind, flags);
    return {
      ...entry,
      close: async () => {
        await entry.handle.close();
        await dir.close();
      },
    };
  } catch (error) {
    await dir.close();
    throw error;
  }
}

// lstat of a path whose directory is pinned: what is there, never what it points at; undefined
// when nothing is. Synchronous inside (see walkToDir): metadata calls of microseconds.
export async function lstatPath(file: string): Promise<Stats | undefined> {
  assertName(path.basename(file));
  let dir: { fd: number; path: string };
  try {
    dir = walkToDir(path.dirname(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return lstatSync(`/proc/self/fd/${dir.fd}/${path.basename(file)}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw relabel(error, file);
  } finally {
    closeSync(dir.fd);
  }
}

// Up to `max` bytes of the regular file at `file` (its directory walked as above), opened without
// following a link or blocking, refused unless a plain file with one name.
export function readSmallPathSync(file: string, max: number): Buffer {
  assertName(path.basename(file));
  const dir = walkToDir(path.dirname(file));
  try {
    const at = `/proc/self/fd/${dir.fd}/${path.basename(file)}`;
    let fd: number;
    try {
      fd = openSync(at, constants.O_RDONLY | OPEN_FLAGS);
    } catch (error) {
      throw openError(error, file);
    }
    try {
      assertKind(fstatSync(fd), "file", file);
      const buffer = Buffer.alloc(max);
      let filled = 0;
      while (filled < max) {
        const read = readSync(fd, buffer, filled, max - filled, null);
        if (read === 0) break;
        filled += read;
      }
      return buffer.subarray(0, filled);
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(dir.fd);
  }
}

// The kind and type of an entry of a walked directory, by lstat (never following); undefined
// when missing.
export function lstatInDir(dirFd: number, name: string): Stats | undefined {
  assertName(name);
  try {
    return lstatSync(`/proc/self/fd/${dirFd}/${name}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

// The kind of a stat in words, for messages: "a symlink", "a FIFO".
export function describeKind(stats: Stats): string {
  if (stats.isSymbolicLink()) return "a symlink";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isDirectory()) return "a directory";
  return "a file";
}

// Refuse anything but the expected kind (and a file with several names).
function assertKind(stats: Stats, kind: EntryKind, where: string): void {
  const ok = kind === "dir" ? stats.isDirectory() : stats.isFile();
  if (!ok) {
    throw new UnsafePathError(
      `${where} is ${describeKind(stats)}, expected ${kind === "dir" ? "a directory" : "a regular file"}`,
    );
  }
  if (kind === "file" && stats.nlink > 1) {
    throw new UnsafePathError(
      `${where} has ${stats.nlink} hard links: refused (another name may be a file that must not change)`,
    );
  }
}

// An open that failed, in the words of what was found there.
function openError(error: unknown, where: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ELOOP") return new UnsafePathError(`${where} is a symlink: refused`);
  if (code === "ENOTDIR") return new UnsafePathError(`${where} is not a directory`);
  if (code === "ENXIO") return new UnsafePathError(`${where} is a socket or device: refused`);
  return relabel(error, where);
}

function relabel(error: unknown, real: string): Error {
  const e = error as NodeJS.ErrnoException;
  if (!e?.code) return e as Error;
  const wrapped = new Error(`${real}: ${e.code}`, { cause: error }) as NodeJS.ErrnoException;
  wrapped.code = e.code;
  return wrapped;
}
