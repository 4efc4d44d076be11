// Repoint a symlink atomically: readers see the old target or the new one, never no link.
import { rename, symlink, unlink } from "node:fs/promises";
import type { PinnedDir } from "./pinned-dir.js";

// Point the link `name` of a pinned directory at `target`: a new link made under `temp`, then
// renamed over `name` (rename(2) replaces the old link in one step), the directory flushed so the
// swap survives a power cut. A `temp` left by an interrupted swap is replaced.
export async function swapSymlink(
  dir: PinnedDir,
  name: string,
  target: string,
  temp: string,
): Promise<void> {
  await unlink(dir.at(temp)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await symlink(target, dir.at(temp));
  await rename(dir.at(temp), dir.at(name));
  await dir.handle.sync();
}
