// Step 7a: point `current` at a release, atomically: never missing, never half-written.
import { readdir, rename, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { withPinnedDir } from "../fs/pinned-dir.js";
import type { AppLayout } from "../release/layout.js";

// Temporary link names; a leftover one (crash between symlink and rename) is debris.
export const CURRENT_TEMP_PREFIX = "current.tmp-";

// Make a new symlink under a temporary name, then rename it over `current`: rename(2) replaces
// the old link in one step. The target is relative ("releases/<name>"), so the app directory can
// be moved or bind-mounted elsewhere and the link still resolves. The directory is fsynced so
// the swap survives a power cut.
export async function switchCurrent(layout: AppLayout, release: string): Promise<void> {
  const temp = `${CURRENT_TEMP_PREFIX}${process.pid}`;
  const target = path.relative(layout.dir, path.join(layout.releases, release));
  await withPinnedDir(layout.dir, async (dir) => {
    await unlink(dir.at(temp)).catch(() => undefined);
    await symlink(target, dir.at(temp));
    await rename(dir.at(temp), dir.at(path.basename(layout.current)));
    await dir.handle.sync();
  });
}

// Remove temporary links left by an interrupted switch.
export async function removeCurrentTemps(layout: AppLayout): Promise<string[]> {
  const names = await readdir(layout.dir).catch(() => [] as string[]);
  const debris = names.filter((n) => n.startsWith(CURRENT_TEMP_PREFIX));
  if (debris.length === 0) return [];
  await withPinnedDir(layout.dir, async (dir) => {
    for (const name of debris) await unlink(dir.at(name)).catch(() => undefined);
  });
  return debris;
}
