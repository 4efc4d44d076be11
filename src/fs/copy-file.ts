// Copy an open file into a new file of a pinned directory: created exclusively, never through a
// link, owned and moded as asked, flushed. The copy is a new inode: whoever could write the
// source (through a descriptor it kept) cannot write the copy.
import { constants } from "node:fs";
import { copyFile, type FileHandle, open, statfs, unlink } from "node:fs/promises";
import { openEntry } from "./entry.js";
import type { Ownership } from "./ownership.js";
import type { PinnedDir } from "./pinned-dir.js";

// Copy `source` to `dir`/`name` (replacing a leftover of that name); returns the bytes copied.
// The source is named through our own descriptor (/proc/self/fd/N, the very inode we opened and
// checked), so the kernel can copy in place (copy_file_range, or a reflink where the file
// system shares blocks copy-on-write); the target must not exist (COPYFILE_EXCL).
//
// With `exactly`, exactly that many bytes are copied, by reads and writes of our own: for a source
// someone else can still write through a descriptor it kept, and could grow (a sparse terabyte)
// while the kernel copies to its end.
export async function copyIntoNewFile(
  source: FileHandle,
  dir: PinnedDir,
  name: string,
  ownership: Ownership,
  exactly?: number,
): Promise<number> {
  await unlink(dir.at(name)).catch(() => undefined);
  if (exactly !== undefined) await assertCopyable(source, dir, exactly);
  if (exactly === undefined) {
    await copyFile(
      `/proc/self/fd/${source.fd}`,
      dir.at(name),
      constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE,
    );
  } else {
    await copyBounded(source, dir, name, exactly);
  }
  // Opened again to set owner and mode: never through a link, and only a plain file with one name
  // (in a directory the app user can write, the name could have been swapped meanwhile).
  const { handle: target } = await openEntry(dir, name, "file", constants.O_RDWR);
  try {
    await target.chown(ownership.uid, ownership.gid);
    await target.chmod(ownership.mode ?? 0o600);
    await target.sync();
    return (await target.stat()).size;
  } finally {
    await target.close();
  }
}

const CHUNK = 4 * 1024 * 1024;

// What must stay free on the target's file system after a copy: 1 % of it, at least 64 MiB.
const RESERVE_FRACTION = 0.01;
const RESERVE_MIN = 64 * 1024 * 1024;
// Bytes a file may claim beyond the blocks it has (the last block, metadata rounding).
const SPARSE_SLACK = 1024 * 1024;

// Refuse to copy `bytes` of a source someone else may write: a sparse file (a claimed size with
// no blocks behind it: `truncate -s 16T` costs its owner nothing and root a full disk), or more
// than the target's file system can take and keep its reserve.
async function assertCopyable(source: FileHandle, dir: PinnedDir, bytes: number): Promise<void> {
  const stats = await source.stat();
  if (bytes > stats.blocks * 512 + SPARSE_SLACK) {
    throw new Error(
      `the file claims ${bytes} bytes but has ${stats.blocks * 512} on disk (sparse): not copied`,
    );
  }
  const fs = await statfs(`/proc/self/fd/${dir.handle.fd}`);
  const free = fs.bavail * fs.bsize;
  const reserve = Math.max(RESERVE_MIN, fs.blocks * fs.bsize * RESERVE_FRACTION);
  if (bytes > free - reserve) {
    throw new Error(
      `${bytes} bytes would leave less than ${Math.round(reserve / 1048576)} MiB free in ${dir.path}: not copied`,
    );
  }
}

// Copy the first `bytes` of `source` into a new file `name` of `dir`; fails if the source is
// shorter.
async function copyBounded(
  source: FileHandle,
  dir: PinnedDir,
  name: string,
  bytes: number,
): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const target = await open(dir.at(name), flags, 0o600);
  // Two minutes and a second for every 10 MB: a disk that slow is waited for, one that is stuck
  // is not (the app may be stopped for this copy).
  const deadline = Date.now() + 120_000 + Math.ceil(bytes / (10 * 1024 * 1024)) * 1000;
  try {
    const buffer = Buffer.alloc(Math.min(CHUNK, Math.max(bytes, 1)));
    for (let at = 0; at < bytes; ) {
      if (Date.now() > deadline) throw new Error(`copying ${bytes} bytes took too long`);
      const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (bytesRead === 0) throw new Error(`the file ended at ${at} bytes, ${bytes} expected`);
      await target.write(buffer, 0, bytesRead);
      at += bytesRead;
    }
  } finally {
    await target.close();
  }
}
