// A directory opened by a path walked without following any symlink an untrusted user could
// have planted, then used through its descriptor: what the agent, as root, does inside
// directories the app user can write (shared/, a release, the DB's directory).
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  type Stats,
} from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import path from "node:path";

// A path that would make root act on something other than what the configuration names.
export class UnsafePathError extends Error {
  override name = "UnsafePathError";
}

export interface PinnedDir {
  // Where the directory is, with root's own symlinks (e.g. /srv -> /data/srv) resolved.
  path: string;
  handle: FileHandle;
  // A path to `name` inside exactly this directory, whatever is renamed or swapped above it:
  // the kernel resolves /proc/self/fd/N to the open directory itself, as openat(2) would.
  at(name: string): string;
  stat(): Promise<Stats>;
  close(): Promise<void>;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
// Symlinks followed on one walk before giving up (the kernel's own limit is 40).
const MAX_LINKS = 40;

// Whether a directory is root's alone: owned by root and writable by no one else. Only there is a
// symlink root's choice (/srv -> /data/srv, /var/run -> /run) and safe to follow.
export function isTrusted(stats: Stats): boolean {
  return stats.uid === 0 && (stats.mode & 0o022) === 0;
}

// Open the directory at an absolute path. Symlinks are followed only where they sit in a trusted
// directory and belong to root; one anywhere else (say shared/db -> /etc, planted by the app user)
// refuses the path with UnsafePathError naming it.
export async function pinDir(dirPath: string): Promise<PinnedDir> {
  const { fd, path: where } = walkToDir(dirPath);
  try {
    // The FileHandle is a second open of the same directory, through our own descriptor: the
    // very inode the walk reached. (No O_NOFOLLOW: /proc/self/fd/N is a magic link to the open
    // file, not a path.)
    const handle = await open(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_DIRECTORY);
    return pinned(handle, where);
  } finally {
    closeSync(fd);
  }
}

// The walk behind pinDir, on a plain descriptor the caller must close (closeSync). It uses
// synchronous calls, each a few microseconds of metadata: a check pins a dozen paths, and a round
// trip through libuv's four-thread pool for every component made that its slowest part.
export function walkToDir(dirPath: string): { fd: number; path: string } {
  if (!path.isAbsolute(dirPath)) throw new UnsafePathError(`${dirPath}: not an absolute path`);
  let fd = openSync("/", DIR_FLAGS);
  let where = "/";
  const pending = components(dirPath);
  let links = 0;
  try {
    while (pending.length > 0) {
      const name = pending.shift() as string;
      const at = `/proc/self/fd/${fd}/${name}`;
      let next: number;
      try {
        next = openSync(at, DIR_FLAGS);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ELOOP" && code !== "ENOTDIR") throw withPath(error, path.join(where, name));
        const entry = lstatSync(at);
        if (!entry.isSymbolicLink()) {
          throw new UnsafePathError(`${path.join(where, name)} is not a directory`);
        }
        if (!isTrusted(fstatSync(fd)) || entry.uid !== 0) {
          throw new UnsafePathError(
            `${path.join(where, name)} is a symlink in a directory that others can write: refused`,
          );
        }
        if (++links > MAX_LINKS) throw new UnsafePathError(`${dirPath}: too many symlinks`);
        const target = readlinkSync(at);
        pending.unshift(...components(target));
        if (path.isAbsolute(target)) {
          closeSync(fd);
          fd = openSync("/", DIR_FLAGS);
          where = "/";
        }
        continue;
      }
      closeSync(fd);
      fd = next;
      where = name === ".." ? path.dirname(where) : path.join(where, name);
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return { fd, path: where };
}

// Open a directory entry of a pinned directory as a directory of its own, never through a
// symlink (ELOOP/ENOTDIR become UnsafePathError naming the path).
export async function pinChild(parent: PinnedDir, name: string): Promise<PinnedDir> {
  assertName(name);
  try {
    return pinned(await open(parent.at(name), DIR_FLAGS), path.join(parent.path, name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") {
      throw new UnsafePathError(`${path.join(parent.path, name)} is not a directory`);
    }
    throw withPath(error, path.join(parent.path, name));
  }
}

// Run fn with the directory pinned, and close it afterwards.
export async function withPinnedDir<T>(
  dirPath: string,
  fn: (dir: PinnedDir) => Promise<T>,
): Promise<T> {
  const dir = await pinDir(dirPath);
  try {
    return await fn(dir);
  } finally {
    await dir.close();
  }
}

// A single path component: what at() accepts, so nothing can climb out of the pinned directory.
export function assertName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new UnsafePathError(`${JSON.stringify(name)} is not a file name`);
  }
}

function pinned(handle: FileHandle, where: string): PinnedDir {
  return {
    path: where,
    handle,
    at: (name) => {
      assertName(name);
      return `/proc/self/fd/${handle.fd}/${name}`;
    },
    stat: () => handle.stat(),
    close: () => handle.close(),
  };
}

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

// An fs error whose message names the /proc/self/fd path names the real one instead.
function withPath(error: unknown, real: string): Error {
  const e = error as NodeJS.ErrnoException;
  const wrapped = new Error(`${real}: ${e.code ?? e.message}`, {
    cause: error,
  }) as NodeJS.ErrnoException;
  wrapped.code = e.code;
  return wrapped;
}
