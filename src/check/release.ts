// Check "release": `current` is a symlink to a complete release with a REVISION.
import { lstat, readlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { lstatPath } from "../fs/entry.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { printable } from "../output/sanitize.js";
import {
  type AppLayout,
  placeOfTarget,
  readRevisionFile,
  readRevisionRecord,
  releaseCommitPrefix,
  type TargetPlace,
} from "../release/layout.js";
import type { Check, CheckOutcome } from "./types.js";

export const releaseCheck: Check = {
  name: "release",
  run: (ctx) => inspectRelease(ctx.app, ctx.layout),
};

// Follow `current` and confirm it names a whole release: releases/<stamp>-<sha12> (or
// Capistrano's releases/<YYYYmmddHHMMSS>), with a REVISION and every linked shared path in
// place. Everything in a release is the app user's, so it is read without following links and
// within bounds (see readRevision).
export async function inspectRelease(app: AppConfig, layout: AppLayout): Promise<CheckOutcome> {
  const critical = (summary: string, details: Record<string, unknown> = {}): CheckOutcome => ({
    status: "critical",
    summary,
    details,
  });
  const link = await lstatPath(layout.current).catch(() => undefined);
  if (!link) return critical(`${layout.current} is missing: no release is live`);
  if (!link.isSymbolicLink()) return critical(`${layout.current} is not a symlink`);
  const target = await withPinnedDir(layout.dir, (dir) => readlink(dir.at("current")));
  const place = placeOfTarget(layout, path.dirname(layout.current), target);
  if (place.kind !== "release") {
    const details = { target, release: "name" in place ? place.name : null };
    return critical(`current points at ${notARelease(layout, target, place)}`, details);
  }
  const { name } = place;
  const dir = path.join(layout.releases, name);
  const details: Record<string, unknown> = { target, release: name };
  const found = await lstat(dir).catch(() => undefined);
  if (!found?.isDirectory()) {
    return critical(`current points at ${name}, which does not exist`, details);
  }
  let revision: string;
  try {
    // The release's own REVISION, which the app serves its version from, must be there and say
    // what the agent recorded when it built the release.
    revision = await readRevisionFile(layout, name);
  } catch (error) {
    details.revision = null;
    const why =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "has no REVISION"
        : `has no usable REVISION (${(error as Error).message})`;
    return critical(`release ${name} ${why}: it is incomplete`, details);
  }
  details.revision = revision;
  const recorded = await readRevisionRecord(layout, name).catch(() => undefined);
  if (recorded && recorded !== revision) {
    details.recorded = recorded;
    return critical(
      `release ${name} has REVISION ${revision.slice(0, 12)}, but ${recorded.slice(0, 12)} was deployed there`,
      details,
    );
  }
  const broken = [];
  for (const linked of app.linked) {
    if (!(await linkInPlace(layout, name, linked.replace(/\/+$/, "")))) broken.push(linked);
  }
  if (broken.length > 0) {
    details.brokenLinks = broken;
    return critical(`release ${name} lacks linked ${broken.join(", ")}`, details);
  }
  // Only the agent's names carry the commit; a Capistrano name has nothing to disagree with.
  const sha12 = releaseCommitPrefix(name);
  if (sha12 !== undefined && !revision.startsWith(sha12)) {
    return {
      status: "warning",
      summary: `release ${name} has REVISION ${revision.slice(0, 12)}, not its own commit`,
      details,
    };
  }
  return { status: "ok", summary: name, details };
}

// Why a target is not a release, after "current points at".
function notARelease(
  layout: AppLayout,
  target: string,
  place: Exclude<TargetPlace, { kind: "release" }>,
): string {
  const shown = printable(target, 200);
  switch (place.kind) {
    case "outside":
      return `${shown}, which is not inside ${layout.releases}`;
    case "deeper":
      return `${shown}, which is not directly inside ${layout.releases}`;
    case "climbs":
      return `${shown}, whose ".." after a directory name goes wherever a symlink there leads: not taken as a release`;
    case "not-a-name":
      return `releases/${printable(place.name, 200)}, which is not a release name (<UTC stamp>-<sha12>, or Capistrano's YYYYmmddHHMMSS)`;
  }
}

// Whether releases/<release>/<rel> is the link into shared/ the build made, and shared/<rel>
// exists: read with lstat and readlink, never by following the link.
async function linkInPlace(layout: AppLayout, release: string, rel: string): Promise<boolean> {
  const at = path.join(layout.releases, release, rel);
  try {
    const target = await withPinnedDir(path.dirname(at), (dir) =>
      readlink(dir.at(path.basename(at))),
    );
    // Relative (as the build makes it) or absolute (as a person might), it must name shared/<rel>.
    if (path.resolve(path.dirname(at), target) !== path.join(layout.shared, rel)) return false;
    return (await lstatPath(path.join(layout.shared, rel))) !== undefined;
  } catch {
    return false;
  }
}
