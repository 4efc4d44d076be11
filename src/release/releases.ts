// The release directories of an app: list, describe, prune, and sweep up debris.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { BUILDING_PREFIX } from "../steps/build.js";
import {
  type AppLayout,
  type LiveRelease,
  readRevision,
  releasesInOrder,
  removeRevisionRecords,
} from "./layout.js";
import { chooseReleasesToPrune } from "./prune-choice.js";

// Complete releases (valid names, the agent's or Capistrano's), oldest first.
export async function listReleases(layout: AppLayout): Promise<string[]> {
  return releasesInOrder(await readdir(layout.releases).catch(() => [] as string[]));
}

// A release by name with its REVISION, or undefined when it is missing or has no usable REVISION.
export async function releaseInfo(
  layout: AppLayout,
  name: string,
): Promise<LiveRelease | undefined> {
  try {
    const revision = await readRevision(layout, name);
    return { name, dir: path.join(layout.releases, name), revision };
  } catch {
    return undefined;
  }
}

// Delete releases beyond releases.keep (never the live one or the one before it). A release is
// the app user's and may be changing while it goes: removeTree never follows a link out of it.
export async function pruneReleases(
  layout: AppLayout,
  keep: number,
  live: string | undefined,
  // Releases still in use besides the live one (the other color of a blue-green app).
  inUse: string[] = [],
): Promise<string[]> {
  const doomed = chooseReleasesToPrune(await listReleases(layout), live, keep).filter(
    (name) => !inUse.includes(name),
  );
  await removeReleases(layout, doomed);
  return doomed;
}

// Remove half-built releases left by a build that died.
export async function removeBuildDebris(layout: AppLayout): Promise<string[]> {
  const names = await readdir(layout.releases).catch(() => [] as string[]);
  const debris = names.filter((n) => n.startsWith(BUILDING_PREFIX));
  await removeReleases(layout, debris);
  return debris;
}

// Remove the records of releases that are gone (a prune interrupted midway).
export async function removeOrphanRevisions(layout: AppLayout): Promise<string[]> {
  const records = await readdir(layout.revisions).catch(() => [] as string[]);
  const present = new Set(await readdir(layout.releases).catch(() => [] as string[]));
  const orphans = records.filter((n) => !present.has(n));
  await removeRevisionRecords(layout, orphans);
  return orphans.map((n) => path.join(layout.revisions, n));
}

// Each release goes with its revision record.
async function removeReleases(layout: AppLayout, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await withPinnedDir(layout.releases, async (releases) => {
    for (const name of names) await removeTree(releases, name);
  });
  await removeRevisionRecords(layout, names);
}
