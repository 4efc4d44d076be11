// Dependencies built once per content (DESIGN.md "Adopting an app", `hooks.install_cache`): the
// install hook builds an environment in shared/cache/<key>/, where <key> is a hash of the key
// files' contents (as the commit has them) and of the hook's command; the hook runs there, so
// the paths baked into a virtualenv stay valid, and only when no complete environment of that key
// exists. `.complete`, written by root once the hook succeeded and its files are on disk, is what
// makes one complete; one without it (a failed hook, a power cut) is removed and built again.
// Complete environments are never changed by the agent, and are removed only when no kept
// release links one.
//
// shared/ is the app user's: everything root does there goes through pinned directories, and the
// key is computed from git's objects in root's repo/, never from files the app user could swap.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readlink, unlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { flushFileSystemOf } from "../fs/durable.js";
import { type PinnedDir, pinChild, withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { exportTree } from "../git/export-tree.js";
import { git } from "../git/git.js";
import { forget, memoriesOf, recall, remember } from "../state/app-memory.js";
import type { StateDb } from "../state/state-db.js";
import type { RunAs } from "../system/accounts.js";
import type { AppLayout } from "./layout.js";

export const CACHE_DIR = "cache";
export const COMPLETE_MARKER = ".complete";

export interface CachedEnvironment {
  key: string;
  // shared/cache/<key>
  dir: string;
  // Whether it had to be built now (the hook ran).
  built: boolean;
}

// The key of the environment a commit needs: the blob ids of the key files (git hashes their
// contents) and the install command. A key file the commit lacks counts as absent.
export async function environmentKey(
  repoDir: string,
  sha: string,
  keyFiles: string[],
  command: string,
): Promise<{ key: string; present: string[] }> {
  const hash = createHash("sha256").update(`${command}\n`);
  const present: string[] = [];
  for (const file of keyFiles) {
    const result = await git(repoDir, ["rev-parse", "--verify", "--quiet", `${sha}:${file}`], {
      reject: false,
    });
    const blob = result.exitCode === 0 ? result.stdout.trim() : "-";
    if (blob !== "-") present.push(file);
    hash.update(`${file}\0${blob}\n`);
  }
  return { key: hash.digest("hex").slice(0, 24), present };
}

// The environment for this commit: reused when complete, else built by `build` (the install
// hook, run as the app user with the given directory as its working directory).
export async function ensureEnvironment(
  app: AppConfig,
  layout: AppLayout,
  sha: string,
  owner: RunAs,
  build: (cwd: string) => Promise<void>,
): Promise<CachedEnvironment> {
  const cache = app.hooks.install_cache;
  if (!cache || !app.hooks.install) throw new Error("no install_cache configured");
  const { key, present } = await environmentKey(layout.repo, sha, cache.key, app.hooks.install);
  return withPinnedDir(layout.shared, async (shared) => {
    const cacheDir = await ownedSubdir(shared, CACHE_DIR, owner);
    try {
      const dir = path.join(cacheDir.path, key);
      if (await isComplete(cacheDir, key, cache.path)) return { key, dir, built: false };
      // Half-built (a failed hook, a power cut), or without what it should hold: start afresh.
      await removeTree(cacheDir, key);
      const env = await ownedSubdir(cacheDir, key, owner);
      try {
        // The key files, as the commit has them, are what the hook builds from.
        if (present.length > 0) await exportTree(layout.repo, sha, env.path, owner, present);
        await build(env.path);
        if (!(await holds(env, cache.path))) {
          throw new Error(`the install hook succeeded but left no ${cache.path} in ${env.path}`);
        }
        await flushFileSystemOf(env);
        await markComplete(env);
      } catch (error) {
        // Nothing half-made stays: whatever failed, the next build starts from nothing.
        await env.close();
        await removeTree(cacheDir, key).catch(() => undefined);
        throw error;
      }
      await env.close();
      return { key, dir, built: true };
    } finally {
      await cacheDir.close();
    }
  });
}

// A directory of the app user's inside a pinned directory, created when missing; never a link.
async function ownedSubdir(parent: PinnedDir, name: string, owner: RunAs): Promise<PinnedDir> {
  const created = await mkdir(parent.at(name), { mode: 0o755 }).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
      return false;
    },
  );
  const dir = await pinChild(parent, name);
  if (created) await dir.handle.chown(owner.uid, owner.gid);
  return dir;
}

// Complete: the marker is root's regular file, and the environment holds `linkPath`. Looked at
// through the pinned environment directory, never through a name the app user could swap.
async function isComplete(cacheDir: PinnedDir, key: string, linkPath: string): Promise<boolean> {
  const found = await lstat(cacheDir.at(key)).catch(() => undefined);
  if (!found?.isDirectory()) return false;
  const env = await pinChild(cacheDir, key).catch(() => undefined);
  if (!env) return false;
  try {
    const marker = await lstat(env.at(COMPLETE_MARKER)).catch(() => undefined);
    return marker?.isFile() === true && marker.uid === 0 && (await holds(env, linkPath));
  } finally {
    await env.close();
  }
}

// Whether the environment has something at `linkPath` (its first component, looked at in the
// pinned directory; what is below is the app user's own business).
async function holds(env: PinnedDir, linkPath: string): Promise<boolean> {
  const first = linkPath.split("/")[0] as string;
  return (await lstat(env.at(first)).catch(() => undefined)) !== undefined;
}

// Root's marker, created exclusively and never through a link, then flushed with its directory.
async function markComplete(env: PinnedDir): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const handle = await open(env.at(COMPLETE_MARKER), flags, 0o644);
  try {
    await handle.writeFile(`${new Date().toISOString()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await env.handle.sync();
}

// The relative target a release's `path` link gets: from releases/<release>/<path> to
// shared/cache/<key>/<path>. Release names sit at one depth, so it survives the build's rename.
export function environmentLinkTarget(layout: AppLayout, linkPath: string, key: string): string {
  const parts = linkPath.replace(/\/+$/, "").split("/");
  return path.relative(
    path.join(layout.releases, "release", ...parts.slice(0, -1)),
    path.join(layout.shared, CACHE_DIR, key, ...parts),
  );
}

// Remove every environment no release still on disk uses (and any half-built one: no build runs
// while the app's lock is held by this run). Which environment a release uses is what the build
// recorded in the state DB (root's), or else what its link names. Only names the agent makes
// (24 hex digits) are ever removed: anything else the app keeps in shared/cache is its own.
export async function pruneEnvironments(
  app: AppConfig,
  layout: AppLayout,
  db: StateDb,
): Promise<string[]> {
  const cache = app.hooks.install_cache;
  if (!cache) return [];
  const releases = (await readdir(layout.releases).catch(() => [] as string[])).filter(
    (name) => !name.startsWith("."),
  );
  const used = new Set<string>();
  for (const release of releases) {
    const recorded = recall(db, app.name, memoryKey(release));
    if (recorded && KEY.test(recorded)) used.add(recorded);
    const linked = await linkedKey(layout, release, cache.path);
    if (linked) used.add(linked);
  }
  const removed = await withPinnedDir(layout.shared, async (shared) => {
    const present = await lstat(shared.at(CACHE_DIR)).catch(() => undefined);
    if (!present?.isDirectory()) return [];
    const cacheDir = await pinChild(shared, CACHE_DIR);
    try {
      const names = await readdir(`/proc/self/fd/${cacheDir.handle.fd}`);
      const doomed = names.filter((name) => KEY.test(name) && !used.has(name));
      for (const name of doomed) await discard(cacheDir, name);
      return doomed;
    } finally {
      await cacheDir.close();
    }
  });
  // Records of releases that are gone go with them.
  for (const [key] of memoriesOf(db, app.name, MEMORY_PREFIX)) {
    if (!releases.includes(key.slice(MEMORY_PREFIX.length))) forget(db, app.name, key);
  }
  return removed;
}

// Which environment a release uses, recorded by its build (root's record, in the state DB).
export function recordEnvironment(db: StateDb, app: string, release: string, key: string): void {
  remember(db, app, memoryKey(release), key);
}

const KEY = /^[0-9a-f]{24}$/;
const MEMORY_PREFIX = "install_cache.";
const memoryKey = (release: string) => `${MEMORY_PREFIX}${release}`;

// Take the marker away first (flushed), then the rest: an interrupted removal leaves an
// environment that is plainly incomplete, never a gutted one that still says "complete".
async function discard(cacheDir: PinnedDir, key: string): Promise<void> {
  const env = await pinChild(cacheDir, key).catch(() => undefined);
  if (env) {
    try {
      await unlink(env.at(COMPLETE_MARKER)).catch(() => undefined);
      await env.handle.sync();
    } finally {
      await env.close();
    }
  }
  await removeTree(cacheDir, key);
}

// The key a release's link names, when it is exactly the link a build makes
// (<up to releases>/shared/cache/<key>/<path>); the link is the app user's, so it is only read.
async function linkedKey(
  layout: AppLayout,
  release: string,
  linkPath: string,
): Promise<string | undefined> {
  const placeholder = "0".repeat(24);
  const [prefix, suffix] = environmentLinkTarget(layout, linkPath, placeholder).split(placeholder);
  const target = await readlink(path.join(layout.releases, release, linkPath)).catch(
    () => undefined,
  );
  if (!target || prefix === undefined || suffix === undefined) return undefined;
  if (!target.startsWith(prefix) || !target.endsWith(suffix)) return undefined;
  const key = target.slice(prefix.length, target.length - suffix.length);
  return KEY.test(key) ? key : undefined;
}
