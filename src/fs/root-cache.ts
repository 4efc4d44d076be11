// Small files of root's that spare later runs work: the V8 code caches of the launcher and the
// validated config (src/config/remembered.ts). What is read from them steers root, so a file is
// used only when it is root's, in a directory of root's that no one else can write, and was made
// for exactly the key the reader asks for: the first line names the key and a SHA-256 of the data
// (a torn or damaged file must not crash every run until someone deletes it). Anything else is
// ignored and the work done as usual.
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { walkToDir } from "./pinned-dir.js";

// Far above any real cache (a few MB): a file that claims more is not read.
const MAX_BYTES = 64 * 1024 * 1024;

export const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

export type CacheRead = { data: Buffer } | { data?: undefined; reason: string };

// Whether `stats` may be trusted by root: root's (or the running user's), writable by no one else.
function trustedOwner(stats: { uid: number; mode: number }): string | undefined {
  const euid = process.geteuid?.() ?? 0;
  if (stats.uid !== 0 && stats.uid !== euid) return `owned by uid ${stats.uid}`;
  if ((stats.mode & 0o022) !== 0) return "writable by group or others";
  return undefined;
}

// The cache directory, created root's with mode 0700 when missing, and opened: the path through
// which its files are read and written from then on (/proc/self/fd/N, the very directory that was
// checked, whatever is renamed above it). Undefined when it cannot be made, or when it or any
// directory above it could be changed by someone else (a cache read from there would be theirs).
export function cacheDir(dir: string): string | undefined {
  if (!path.isAbsolute(dir)) return undefined;
  let fd: number | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    ({ fd } = walkToDir(dir));
    // Every directory from here up to /: "..", through the descriptor, is the real parent.
    let at = `/proc/self/fd/${fd}`;
    for (let depth = 0; depth < 64; depth++) {
      const stats = statSync(at);
      // Above the directory itself, root's sticky directories (/tmp) are fine: in them no one
      // can rename or remove an entry of root's.
      const sticky = depth > 0 && stats.uid === 0 && (stats.mode & 0o1000) !== 0;
      if (!stats.isDirectory() || (trustedOwner(stats) && !sticky)) return closing(fd);
      const parent = statSync(`${at}/..`);
      if (parent.ino === stats.ino && parent.dev === stats.dev) return `/proc/self/fd/${fd}`;
      at = `${at}/..`;
    }
    return closing(fd);
  } catch {
    return fd === undefined ? undefined : closing(fd);
  }
}

function closing(fd: number): undefined {
  closeSync(fd);
  return undefined;
}

// The data in `file` if it was written for `key` and may be trusted; otherwise why not.
export function readCacheFile(file: string, key: string): CacheRead {
  let fd: number;
  try {
    // O_NOFOLLOW: a link is not a cache; O_NONBLOCK: a FIFO put there does not hang the agent.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { reason: `cannot open: ${(error as NodeJS.ErrnoException).code ?? error}` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { reason: "not a regular file" };
    if (stats.nlink !== 1) return { reason: "a file with more than one name" };
    const untrusted = trustedOwner(stats);
    if (untrusted) return { reason: untrusted };
    if (stats.size > MAX_BYTES) return { reason: `${stats.size} bytes is too large` };
    const content = Buffer.alloc(stats.size);
    let read = 0;
    while (read < content.length) {
      const n = readSync(fd, content, read, content.length - read, read);
      if (n === 0) break;
      read += n;
    }
    const newline = content.subarray(0, read).indexOf(0x0a);
    if (newline < 0) return { reason: "no header" };
    const header = content.toString("latin1", 0, newline);
    const data = content.subarray(newline + 1, read);
    if (header !== `${key} ${sha256(data)}`) {
      return header.startsWith(`${key} `)
        ? { reason: "damaged: its data does not match its checksum" }
        : { reason: "stale: made for another key" };
    }
    return { data };
  } finally {
    closeSync(fd);
  }
}

// Write the cache for `key` atomically (a reader sees the old file or the new one), mode 0600.
export function writeCacheFile(file: string, key: string, data: Buffer): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, Buffer.concat([Buffer.from(`${key} ${sha256(data)}\n`), data]), {
      mode: 0o600,
      flag: "wx",
    });
    renameSync(temp, file);
    sweepStaleTemps(file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // not created
    }
    throw error;
  }
}

// Remove the temporary files of writes that were cut short (a power cut, a kill) beside `file`:
// `.<name>.<pid>.tmp` of a process that no longer runs. Only when a cache is written, which is
// rare, in a directory only root can write; best effort.
function sweepStaleTemps(file: string): void {
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(path.dirname(file));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const pid = Number(name.slice(prefix.length, -".tmp".length));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processRuns(pid)) continue;
    try {
      unlinkSync(path.join(path.dirname(file), name));
    } catch {
      // gone already, or not ours to remove: the next write tries again
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
