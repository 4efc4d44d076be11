// Read a small file the app user controls: never through a symlink, never blocking on a FIFO,
// never more than a few hundred bytes however big it claims (or turns out) to be.
import path from "node:path";
import { openEntry } from "./entry.js";
import { type PinnedDir, withPinnedDir } from "./pinned-dir.js";

// Up to `max` bytes of the regular file `name` in `dir`.
export async function readSmallBytes(dir: PinnedDir, name: string, max: number): Promise<Buffer> {
  const { handle } = await openEntry(dir, name, "file");
  try {
    const buffer = Buffer.alloc(max);
    let filled = 0;
    // Sizes of growing files mean nothing: read until EOF or the cap.
    while (filled < max) {
      const { bytesRead } = await handle.read(buffer, filled, max - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

// The same, as UTF-8 text.
export async function readSmallFile(dir: PinnedDir, name: string, max: number): Promise<string> {
  return (await readSmallBytes(dir, name, max)).toString("utf8");
}

// The same for an absolute path (its directory pinned).
export async function readSmallPath(file: string, max: number): Promise<Buffer> {
  return withPinnedDir(path.dirname(file), (dir) => readSmallBytes(dir, path.basename(file), max));
}
