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
import { lstat, mkdir, open, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { flushFileSystem } from "../fs/durable.js";
import { type PinnedDir, pinChild, withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { exportTree } from "../git/export-tree.js";
import { git } from "../git/git.js";
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
      if (await isComplete(cacheDir, key)) return { key, dir, built: false };
      // Half-built (a failed hook, a power cut): start again from nothing.
      await removeTree(cacheDir, key);
      const env = await ownedSubdir(cacheDir, key, owner);
      try {
        // The key files, as the commit has them, are what the hook builds from.
        if (present.length > 0) await exportTree(layout.repo, sha, env.path, owner, present);
        try {
          await build(env.path);
        } catch (error) {
          await removeTree(cacheDir, key).catch(() => undefined);
          throw error;
        }
        await flushFileSystem(env.path);
        await markComplete(env);
      } finally {
        await env.close();
      }
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

async function isComplete(cacheDir: PinnedDir, key: string): Promise<boolean> {
  const env = await lstat(cacheDir.at(key)).catch(() => undefined);
  if (!env?.isDirectory()) return false;
  const marker = await lstat(path.join(cacheDir.at(key), COMPLETE_MARKER)).catch(() => undefined);
  return marker?.isFile() === true;
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

// Remove every environment no kept release links (and any half-built one: no build runs while
// the app's lock is held by this run). Returns the keys removed.
export async function pruneEnvironments(app: AppConfig, layout: AppLayout): Promise<string[]> {
  const cache = app.hooks.install_cache;
  if (!cache) return [];
  const releases = await readdir(layout.releases).catch(() => [] as string[]);
  const used = new Set<string>();
  for (const release of releases) {
    // The link is the app user's to change: it only decides what is kept, never what root opens.
    const target = await readlink(path.join(layout.releases, release, cache.path)).catch(
      () => undefined,
    );
    const key = target ? keyInTarget(target) : undefined;
    if (key) used.add(key);
  }
  return withPinnedDir(layout.shared, async (shared) => {
    const present = await lstat(shared.at(CACHE_DIR)).catch(() => undefined);
    if (!present?.isDirectory()) return [];
    const cacheDir = await pinChild(shared, CACHE_DIR);
    try {
      const names = await readdir(`/proc/self/fd/${cacheDir.handle.fd}`);
      const doomed = names.filter((name) => !used.has(name));
      for (const name of doomed) await removeTree(cacheDir, name);
      return doomed;
    } finally {
      await cacheDir.close();
    }
  });
}

// "../../shared/cache/<key>/venv" → <key>.
function keyInTarget(target: string): string | undefined {
  const parts = target.split("/");
  const i = parts.lastIndexOf(CACHE_DIR);
  const key = i >= 0 ? parts[i + 1] : undefined;
  return key && /^[0-9a-f]{24}$/.test(key) ? key : undefined;
}
