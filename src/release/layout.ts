// Where things live inside an app directory (DESIGN.md "Layout of a managed app"), and how the
// live release is read from it without trusting what the app user can write.
import { closeSync, constants, readlinkSync } from "node:fs";
import { mkdir, open, unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { readSmallPathSync } from "../fs/entry.js";
import { walkToDir, withPinnedDir } from "../fs/pinned-dir.js";

export interface AppLayout {
  dir: string;
  repo: string;
  releases: string;
  current: string;
  shared: string;
  backups: string;
  // Where copies of the DB are made before they are moved into backups/ or into place: root's,
  // on the same filesystem as backups/ (see src/sqlite/staging.ts).
  staging: string;
  // The agent's record of each release's commit (see readRevisionRecord).
  revisions: string;
  // Strategy blue-green: the release and port of each color (see src/release/colors.ts).
  colors: string;
}

export function appLayout(app: Pick<AppConfig, "dir">): AppLayout {
  return {
    dir: app.dir,
    repo: path.join(app.dir, "repo"),
    releases: path.join(app.dir, "releases"),
    current: path.join(app.dir, "current"),
    shared: path.join(app.dir, "shared"),
    backups: path.join(app.dir, "backups"),
    staging: path.join(app.dir, ".staging"),
    revisions: path.join(app.dir, ".revisions"),
    colors: path.join(app.dir, "colors"),
  };
}

// Release directory names: the agent's `<UTC stamp>-<sha12>` (20261123T101500Z-3f2a1c9b0d1e),
// and Capistrano's `<YYYYmmddHHMMSS>` (20240101123456), which an app deployed by Capistrano
// brings along. Both start with the UTC time the release was made; only the agent's carry a commit.
const AGENT_RELEASE = /^(\d{8})T(\d{6})Z-([0-9a-f]{12})$/;
const CAPISTRANO_RELEASE = /^\d{14}$/;

export function isReleaseName(name: string): boolean {
  return AGENT_RELEASE.test(name) || CAPISTRANO_RELEASE.test(name);
}

// The sha12 an agent's release name carries; undefined for a Capistrano name (or a non-release).
export function releaseCommitPrefix(name: string): string | undefined {
  return AGENT_RELEASE.exec(name)?.[3];
}

// A release's UTC stamp as 14 digits, YYYYmmddHHMMSS.
function releaseStamp(name: string): string {
  const agent = AGENT_RELEASE.exec(name);
  return agent ? `${agent[1]}${agent[2]}` : name;
}

// Deploy order: by UTC stamp, then by name (two releases in one second). Plain string order is
// wrong across the two forms: 'T' sorts after every digit, so 20261123T090000Z-… would come
// after 20261123100000.
export function compareReleases(a: string, b: string): number {
  const [x, y] = [releaseStamp(a), releaseStamp(b)];
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// The release names among `names`, oldest first.
export function releasesInOrder(names: Iterable<string>): string[] {
  return [...names].filter(isReleaseName).sort(compareReleases);
}

// A REVISION is a full commit id and nothing else; anything longer is not read at all.
const REVISION = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const REVISION_MAX_BYTES = 200;

// Build a release name for a commit at a moment; sorts in deploy order.
export function releaseName(sha: string, at: Date = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  return `${stamp}-${sha.slice(0, 12)}`;
}

export interface LiveRelease {
  name: string;
  dir: string;
  revision: string;
}

// Why a release's REVISION cannot be used.
export class RevisionError extends Error {
  override name = "RevisionError";
}

// The agent's own record of a release's commit is .revisions/<release name>, written by root
// when it built the release, in a directory of root's, so the app user can neither delete nor
// change it (the release's own REVISION is the app user's: it could make the agent believe the
// branch head is live, or that no release is).

// The commit of a release: the agent's record, or, for a release built before records existed
// (or by hand, or by Capistrano, which leaves no record), its REVISION file: then the commit is
// only the app user's word.
export async function readRevision(layout: AppLayout, name: string): Promise<string> {
  return (await readRevisionRecord(layout, name)) ?? readRevisionFile(layout, name);
}

// The agent's record of a release's commit; undefined when there is none.
export async function readRevisionRecord(
  layout: AppLayout,
  name: string,
): Promise<string | undefined> {
  if (!isReleaseName(name)) throw new RevisionError(`${name} is not a release name`);
  try {
    const text = readSmallPathSync(path.join(layout.revisions, name), REVISION_MAX_BYTES)
      .toString("utf8")
      .trim();
    return REVISION.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

// Write the record of a release, flushed (the directory is made on first use, root's).
export async function writeRevisionRecord(
  layout: AppLayout,
  name: string,
  sha: string,
): Promise<void> {
  await mkdir(layout.revisions, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  await withPinnedDir(layout.revisions, async (records) => {
    await unlink(records.at(name)).catch(() => undefined);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(records.at(name), flags, 0o644);
    try {
      await handle.writeFile(`${sha}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await records.handle.sync();
  });
}

// Remove the records of these releases (pruned, or never completed).
export async function removeRevisionRecords(layout: AppLayout, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await withPinnedDir(layout.revisions, async (records) => {
    for (const name of names) await unlink(records.at(name)).catch(() => undefined);
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

// The commit id in releases/<name>/REVISION. The release belongs to the app user, who may have
// made REVISION a symlink (to the token, to /etc/shadow), a FIFO, or a huge file: it is opened
// without following links or blocking, a few hundred bytes at most are read, and only a hex
// commit id is accepted.
export async function readRevisionFile(layout: AppLayout, name: string): Promise<string> {
  if (!isReleaseName(name)) throw new RevisionError(`${name} is not a release name`);
  const file = path.join(layout.releases, name, "REVISION");
  const text = readSmallPathSync(file, REVISION_MAX_BYTES).toString("utf8").trim();
  if (!REVISION.test(text)) throw new RevisionError(`${file} does not hold a commit id`);
  return text;
}

// The release a link of the agent's (`current`, colors/<color>) names, if it names one:
// releases/<release name>, relative or absolute.
async function releaseLinkTarget(layout: AppLayout, link: string): Promise<string | undefined> {
  // Read through the pinned directory holding the link: the link is root's, the path above it
  // need not be.
  let target: string;
  try {
    const dir = walkToDir(path.dirname(link));
    try {
      target = readlinkSync(`/proc/self/fd/${dir.fd}/${path.basename(link)}`);
    } finally {
      closeSync(dir.fd);
    }
  } catch {
    return undefined;
  }
  const place = placeOfTarget(layout, path.dirname(link), target);
  return place.kind === "release" ? place.name : undefined;
}

// Where a link's target leads, from the text alone (the link is not followed).
export type TargetPlace =
  | { kind: "release"; name: string }
  // Not directly inside releases/: elsewhere, releases/ itself, or deeper inside a release.
  | { kind: "outside" | "deeper" }
  // Directly inside releases/, but not named as a release.
  | { kind: "not-a-name"; name: string }
  // A `..` after a directory name (see below).
  | { kind: "climbs" };

// What the target of a link in `from` names. path.resolve makes `//`, `/./` and a trailing slash
// harmless, but it also takes `..` by the text, while the kernel takes it from wherever a symlink
// led: releases/X/sub/../../Y leads out of releases/ when the app user made sub a link. So `..`
// is taken only at the start of a relative target (colors/blue -> ../releases/X).
export function placeOfTarget(layout: AppLayout, from: string, target: string): TargetPlace {
  const parts = target.split("/").filter((p) => p !== "" && p !== ".");
  const leading = path.isAbsolute(target) ? 0 : parts.findIndex((p) => p !== "..");
  if (leading >= 0 && parts.slice(leading).includes("..")) return { kind: "climbs" };
  const releases = path.resolve(layout.releases);
  const dir = path.resolve(from, target);
  if (path.dirname(dir) !== releases) {
    return { kind: dir.startsWith(`${releases}/`) ? "deeper" : "outside" };
  }
  const name = path.basename(dir);
  return isReleaseName(name) ? { kind: "release", name } : { kind: "not-a-name", name };
}

// The release `current` points at, with its REVISION; undefined when there is none (or it is not
// a release with a readable commit id).
export async function readLiveRelease(layout: AppLayout): Promise<LiveRelease | undefined> {
  return readReleaseLink(layout, layout.current);
}

// The release a link of the agent's points at, with its commit read as for the live release;
// undefined when there is none.
export async function readReleaseLink(
  layout: AppLayout,
  link: string,
): Promise<LiveRelease | undefined> {
  const name = await releaseLinkTarget(layout, link);
  if (!name) return undefined;
  try {
    const revision = await readRevision(layout, name);
    return { name, dir: path.join(layout.releases, name), revision };
  } catch {
    return undefined;
  }
}
