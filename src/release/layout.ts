// Where things live inside an app directory (DESIGN.md "Layout of a managed app").
import { readFile, readlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";

export interface AppLayout {
  dir: string;
  repo: string;
  releases: string;
  current: string;
  shared: string;
  backups: string;
}

export function appLayout(app: Pick<AppConfig, "dir">): AppLayout {
  return {
    dir: app.dir,
    repo: path.join(app.dir, "repo"),
    releases: path.join(app.dir, "releases"),
    current: path.join(app.dir, "current"),
    shared: path.join(app.dir, "shared"),
    backups: path.join(app.dir, "backups"),
  };
}

// Release directory names are `<UTC stamp>-<sha12>`, e.g. 20261123T101500Z-3f2a1c9b0d1e.
export const RELEASE_NAME = /^(\d{8}T\d{6}Z)-([0-9a-f]{12})$/;

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

// The release `current` points at, with its REVISION; undefined when there is none.
export async function readLiveRelease(layout: AppLayout): Promise<LiveRelease | undefined> {
  let target: string;
  try {
    target = await readlink(layout.current);
  } catch {
    return undefined;
  }
  const dir = path.resolve(path.dirname(layout.current), target);
  try {
    const revision = (await readFile(path.join(dir, "REVISION"), "utf8")).trim();
    return { name: path.basename(dir), dir, revision };
  } catch {
    return undefined;
  }
}
