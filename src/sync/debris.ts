// Sweep up what an interrupted run leaves beside the live release. Runs under the app's lock
// after recovery, when no deployment of the app is in progress, so all of it is debris.
import { lstat, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import type { Logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";
import { holdPlaced, liftHold } from "./hold.js";
import { removeBuildDebris } from "./releases.js";
import { RESTORE_TEMP_PREFIX } from "./restore-db.js";
import { removeCurrentTemps } from "./switch.js";

// Remove half-built releases, temporary `current` links, an abandoned repo init, staging
// directories of copies, temporary DB and backup files, and a hold whose deployment is over.
// Returns what was removed.
export async function sweepDebris(
  app: AppConfig,
  layout: AppLayout,
  log: Logger,
): Promise<string[]> {
  const removed = [
    ...(await removeBuildDebris(layout)).map((n) => path.join(layout.releases, n)),
    ...(await removeCurrentTemps(layout)).map((n) => path.join(layout.dir, n)),
    ...(await removeTrees(layout.dir, (n) => n.startsWith("repo.tmp-"))),
    ...(await removeTrees(layout.staging, () => true)),
    ...(await removeTrees(layout.backups, (n) => n.startsWith(".tmp-"))),
  ];
  if (app.database) {
    removed.push(
      ...(await removeFiles(path.dirname(app.database.path), (n) =>
        n.startsWith(RESTORE_TEMP_PREFIX),
      )),
    );
  }
  if (await holdPlaced(app)) {
    // The run that placed it has ended (its row is closed): nothing may stay waiting on it.
    await liftHold(app);
    removed.push("start hold");
  }
  if (removed.length > 0) log.warn({ removed }, "removed debris of an interrupted run");
  return removed;
}

// Remove matching entries of one of root's own directories, whatever they are.
async function removeTrees(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(match);
  if (names.length === 0) return [];
  await withPinnedDir(dir, async (pinned) => {
    for (const name of names) await removeTree(pinned, name);
  });
  return names.map((n) => path.join(dir, n));
}

// Remove matching files (or links) of a directory the app user can write; a directory of that
// name is not ours to remove and stays.
async function removeFiles(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(match);
  if (names.length === 0) return [];
  const removed: string[] = [];
  await withPinnedDir(dir, async (pinned) => {
    for (const name of names) {
      const found = await lstat(pinned.at(name)).catch(() => undefined);
      if (!found || found.isDirectory()) continue;
      await unlink(pinned.at(name));
      removed.push(path.join(dir, name));
    }
  });
  return removed;
}
