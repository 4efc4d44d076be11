// The release directories of an app: list, describe, prune, and sweep up debris.
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type AppLayout, type LiveRelease, RELEASE_NAME } from "../release/layout.js";
import { BUILDING_PREFIX } from "./build.js";
import { chooseReleasesToPrune } from "./prune-choice.js";

// Complete releases (valid names), oldest first.
export async function listReleases(layout: AppLayout): Promise<string[]> {
  const names = await readdir(layout.releases).catch(() => [] as string[]);
  return names.filter((n) => RELEASE_NAME.test(n)).sort();
}

// A release by name with its REVISION, or undefined when it is missing or has no REVISION.
export async function releaseInfo(
  layout: AppLayout,
  name: string,
): Promise<LiveRelease | undefined> {
  const dir = path.join(layout.releases, name);
  try {
    const revision = (await readFile(path.join(dir, "REVISION"), "utf8")).trim();
    return revision ? { name, dir, revision } : undefined;
  } catch {
    return undefined;
  }
}

// Delete releases beyond releases.keep (never the live one or the one before it).
export async function pruneReleases(
  layout: AppLayout,
  keep: number,
  live: string | undefined,
): Promise<string[]> {
  const doomed = chooseReleasesToPrune(await listReleases(layout), live, keep);
  for (const name of doomed)
    await rm(path.join(layout.releases, name), { recursive: true, force: true });
  return doomed;
}

// Remove half-built releases (and their archive) left by a build that died.
export async function removeBuildDebris(layout: AppLayout): Promise<string[]> {
  const names = await readdir(layout.releases).catch(() => [] as string[]);
  const debris = names.filter((n) => n.startsWith(BUILDING_PREFIX));
  for (const name of debris)
    await rm(path.join(layout.releases, name), { recursive: true, force: true });
  return debris;
}
