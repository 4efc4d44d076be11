// Copy an open file into a new file of a pinned directory: created exclusively, never through a
// link, owned and moded as asked, flushed. The copy is a new inode: whoever could write the
// source (through a descriptor it kept) cannot write the copy.
import { constants } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";
import type { Ownership } from "./ownership.js";
import type { PinnedDir } from "./pinned-dir.js";

const CHUNK = 1024 * 1024;

// Copy `source` to `dir`/`name` (replacing a leftover of that name); returns the bytes copied.
export async function copyIntoNewFile(
  source: FileHandle,
  dir: PinnedDir,
  name: string,
  ownership: Ownership,
): Promise<number> {
  await unlink(dir.at(name)).catch(() => undefined);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const target = await open(dir.at(name), flags, 0o600);
  let at = 0;
  try {
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await source.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      await target.write(buffer, 0, bytesRead);
      at += bytesRead;
    }
    await target.chown(ownership.uid, ownership.gid);
    if (ownership.mode !== undefined) await target.chmod(ownership.mode);
    await target.sync();
  } finally {
    await target.close();
  }
  return at;
}
