// Sweep up what an interrupted run leaves beside the live release. Runs under the app's lock
// after recovery, when no deployment of the app is in progress, so all of it is debris.
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import type { Logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";
import { removeBuildDebris, removeOrphanRevisions } from "../release/releases.js";
import { RESTORE_TEMP_PREFIX } from "../sqlite/restore-db.js";
import { holdPlaced, liftHold } from "../steps/hold.js";
import { removeCurrentTemps } from "../steps/switch.js";

// Remove half-built releases, temporary `current` links, an abandoned repo init, staging
// directories of copies, temporary DB and backup files, and a hold whose deployment is over.
// Returns what was removed.
export async function sweepDebris(
  app: AppConfig,
  layout: AppLayout,
  log: Logger,
): Promise<string[]> {
  // Each sweep is best effort: the app user can keep filling a directory it kept a descriptor
  // on (a staging or release directory), and a sweep that fails now is tried by the next run;
  // it must never stop this one from putting the app in order or deploying.
  const removed: string[] = [];
  const sweep = async (what: string, fn: () => Promise<string[]>) => {
    try {
      removed.push(...(await fn()));
    } catch (error) {
      log.warn({ debris: what, err: error }, "debris not removed; the next run tries again");
    }
  };
  await sweep("half-built releases", async () =>
    (await removeBuildDebris(layout)).map((n) => path.join(layout.releases, n)),
  );
  await sweep("current links", async () =>
    (await removeCurrentTemps(layout)).map((n) => path.join(layout.dir, n)),
  );
  await sweep("repo init", () => removeTrees(layout.dir, (n) => n.startsWith("repo.tmp-")));
  await sweep("staging", () => removeTrees(layout.staging, () => true));
  await sweep("backup temps", () => removeTrees(layout.backups, (n) => n.startsWith(".tmp-")));
  await sweep("release revisions", () => removeOrphanRevisions(layout));
  const db = app.database;
  if (db) {
    await sweep("restore temps", () =>
      removeTrees(path.dirname(db.path), (n) => n.startsWith(RESTORE_TEMP_PREFIX)),
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

// Remove matching entries of a directory, whatever they are (removeTree never follows a link).
async function removeTrees(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(match);
  if (names.length === 0) return [];
  await withPinnedDir(dir, async (pinned) => {
    for (const name of names) await removeTree(pinned, name);
  });
  return names.map((n) => path.join(dir, n));
}
