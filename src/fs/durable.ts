// Writes that survive a power cut: file data and the directory entry both flushed.
import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { run } from "../system/run.js";
import { describeKind } from "./entry.js";
import { type PinnedDir, UnsafePathError } from "./pinned-dir.js";

// fsync a directory so a rename or unlink in it survives a power cut.
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Write a small file atomically and durably: temp, fsync, rename, fsync the directory. Only for
// directories that are root's alone (the agent's state, /etc): the names here are predictable.
export async function writeDurably(file: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await open(temp, "w", mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await fsyncDir(path.dirname(file));
}

// syncfs(2) on the filesystem holding dir: one call flushes every file a build wrote, however
// many, where an fsync of each would cost a round trip per file.
export async function flushFileSystem(dir: string): Promise<void> {
  await run("sync", ["-f", dir]);
}

// The same for a pinned directory the app user could swap by name: `sync` gets the directory
// itself as an inherited descriptor, never a path that could lead elsewhere.
export async function flushFileSystemOf(dir: PinnedDir): Promise<void> {
  await run("sync", ["-f", "/proc/self/fd/3"], { fds: [dir.handle.fd] });
}

// Replace the file `name` of a pinned directory of root's with `text`, atomically and durably: a
// new temporary file beside it (O_EXCL|O_NOFOLLOW: never an existing file, never through a link),
// its mode set whatever the umask, flushed, renamed over `name`, the directory flushed. Refused
// when `name` exists as anything but a regular file: the rename would replace a directory's or a
// link's place in the proxy's configuration. The temporary name is fixed (".NAME.tmp"): callers
// hold the lock that serialises writers of `name`, so what an interrupted write left is replaced
// by the next one rather than piling up.
export async function replaceFileIn(
  dir: PinnedDir,
  name: string,
  text: string,
  mode = 0o644,
): Promise<void> {
  const existing = await lstatOrUndefined(dir.at(name));
  if (existing && !existing.isFile()) {
    throw new UnsafePathError(
      `${path.join(dir.path, name)} is ${describeKind(existing)}: refused, expected a regular file`,
    );
  }
  const temp = `.${name}.tmp`;
  await removeIfPresent(dir.at(temp));
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const handle = await open(dir.at(temp), flags, mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(dir.at(temp), dir.at(name));
  await dir.handle.sync();
}

// Remove the file `name` of a pinned directory, durably; true when there was one to remove.
export async function removeFileIn(dir: PinnedDir, name: string): Promise<boolean> {
  const removed = await removeIfPresent(dir.at(name));
  if (removed) await dir.handle.sync();
  return removed;
}

async function lstatOrUndefined(at: string): Promise<Stats | undefined> {
  try {
    return await lstat(at);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function removeIfPresent(at: string): Promise<boolean> {
  try {
    await unlink(at);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
