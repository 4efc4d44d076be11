// Step 7a: point `current` at a release, atomically: never missing, never half-written.
import { readdir, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";
import type { AppLayout } from "../release/layout.js";
import { fsyncDir } from "../sqlite/online-backup.js";

// Temporary link names; a leftover one (crash between symlink and rename) is debris.
export const CURRENT_TEMP_PREFIX = "current.tmp-";

// Make a new symlink under a temporary name, then rename it over `current`: rename(2) replaces
// the old link in one step. The target is relative ("releases/<name>"), so the app directory can
// be moved or bind-mounted elsewhere and the link still resolves. The directory is fsynced so
// the swap survives a power cut.
export async function switchCurrent(layout: AppLayout, release: string): Promise<void> {
  const temp = path.join(layout.dir, `${CURRENT_TEMP_PREFIX}${process.pid}`);
  const target = path.relative(layout.dir, path.join(layout.releases, release));
  await rm(temp, { force: true });
  await symlink(target, temp);
  await rename(temp, layout.current);
  await fsyncDir(layout.dir);
}

// Remove temporary links left by an interrupted switch.
export async function removeCurrentTemps(layout: AppLayout): Promise<string[]> {
  const names = await readdir(layout.dir).catch(() => [] as string[]);
  const debris = names.filter((n) => n.startsWith(CURRENT_TEMP_PREFIX));
  for (const name of debris) await rm(path.join(layout.dir, name), { force: true });
  return debris;
}
