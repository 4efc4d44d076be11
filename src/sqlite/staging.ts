// A private directory for one copy of a database, in <app.dir>/.staging/ (root's, on the same
// file system as backups/). While the app user's copy worker writes there it is the app user's;
// before root looks at what is in it, root takes it back, so nothing the app user planted there
// (a symlink, a FIFO, a second name for another file) can steer what root does next.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import { openEntry } from "../fs/entry.js";
import { applyOwnership } from "../fs/ownership.js";
import { isTrusted, type PinnedDir, pinChild, pinDir, UnsafePathError } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import type { AppLayout } from "../release/layout.js";
import type { Credentials } from "./copy.js";

export interface Staging {
  // Path of a file in the staging directory, for the worker (which opens it by name).
  pathOf(name: string): string;
  // Take the directory back, check `name` is a plain file, make it root's with `mode`, flush it
  // and rename it to `finalName` in `into`. Returns its size.
  adopt(name: string, into: PinnedDir, finalName: string, mode: number): Promise<number>;
  // The staged file, opened by root after taking the directory back (for restore's move).
  take(name: string): Promise<{ dir: PinnedDir; name: string }>;
  // Remove the directory and everything in it.
  remove(): Promise<void>;
}

// .staging itself: root's, searchable by others (so the worker can reach its own directory by
// path, SQLite names files by path) but not listable.
const STAGING_MODE = 0o711;

// Create a fresh staging directory, owned by `owner` (the app user) or root.
export async function openStaging(layout: AppLayout, owner?: Credentials): Promise<Staging> {
  const top = await pinDir(layout.dir);
  let staging: PinnedDir | undefined;
  let mine: PinnedDir | undefined;
  const name = `${process.pid}-${randomBytes(6).toString("hex")}`;
  try {
    await mkdir(top.at(".staging"), { mode: STAGING_MODE }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      },
    );
    staging = await pinChild(top, ".staging");
    const stats = await staging.stat();
    if (!isTrusted(stats)) {
      throw new UnsafePathError(
        `${staging.path} is not root's alone: refused (agent check --fix repairs it)`,
      );
    }
    if ((stats.mode & 0o777) !== STAGING_MODE) await staging.handle.chmod(STAGING_MODE);
    await mkdir(staging.at(name), { mode: 0o700 });
    mine = await pinChild(staging, name);
    if (owner) await mine.handle.chown(owner.uid, owner.gid);
  } catch (error) {
    await mine?.close();
    await staging?.close();
    await top.close();
    throw error;
  }
  const own = mine;
  const parent = staging;
  let reclaimed = false;
  // Root's again, and closed to everyone else: from here on only root can reach its entries.
  const reclaim = async () => {
    if (reclaimed) return;
    await own.handle.chown(0, 0);
    await own.handle.chmod(0o700);
    reclaimed = true;
  };
  return {
    pathOf: (file) => path.join(parent.path, name, file),
    async adopt(file, into, finalName, mode) {
      await reclaim();
      const entry = await openEntry(own, file, "file", constants.O_RDONLY);
      try {
        await applyOwnership(entry, { uid: 0, gid: 0, mode });
        await entry.handle.sync();
        await rename(own.at(file), into.at(finalName));
        await into.handle.sync();
        return entry.stats.size;
      } finally {
        await entry.handle.close();
      }
    },
    async take(file) {
      await reclaim();
      const entry = await openEntry(own, file, "file");
      await entry.handle.close();
      return { dir: own, name: file };
    },
    async remove() {
      try {
        await removeTree(parent, name);
      } finally {
        await own.close();
        await parent.close();
        await top.close();
      }
    },
  };
}
