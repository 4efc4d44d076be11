// Sweep up what an interrupted run leaves beside the live release. Runs under the app's lock
// after recovery, when no deployment of the app is in progress, so all of it is debris.
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";
import { holdPlaced, liftHold } from "./hold.js";
import { removeBuildDebris } from "./releases.js";
import { RESTORE_TEMP_PREFIX } from "./restore-db.js";
import { removeCurrentTemps } from "./switch.js";

// Remove half-built releases, temporary `current` links, an abandoned repo init, temporary
// DB and backup files, and a hold whose deployment is over. Returns what was removed.
export async function sweepDebris(
  app: AppConfig,
  layout: AppLayout,
  log: Logger,
): Promise<string[]> {
  const removed = [
    ...(await removeBuildDebris(layout)).map((n) => path.join(layout.releases, n)),
    ...(await removeCurrentTemps(layout)).map((n) => path.join(layout.dir, n)),
    ...(await removeMatching(layout.dir, (n) => n.startsWith("repo.tmp-"))),
    ...(await removeMatching(layout.backups, (n) => n.startsWith(".tmp-"))),
  ];
  if (app.database) {
    const dir = path.dirname(app.database.path);
    removed.push(...(await removeMatching(dir, (n) => n.startsWith(RESTORE_TEMP_PREFIX))));
  }
  if (await holdPlaced(app)) {
    // The run that placed it has ended (its row is closed): nothing may stay waiting on it.
    await liftHold(app);
    removed.push("start hold");
  }
  if (removed.length > 0) log.warn({ removed }, "removed debris of an interrupted run");
  return removed;
}

async function removeMatching(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const doomed = names.filter(match).map((n) => path.join(dir, n));
  for (const file of doomed) await rm(file, { recursive: true, force: true });
  return doomed;
}
