// A private directory for one copy of a database, in <app.dir>/.staging/ (root's, on the same
// file system as backups/). While the app user's copy worker writes there it is the app user's;
// before root looks at what is in it, root takes it back, so nothing the app user planted there
// (a symlink, a FIFO, a second name for another file) can steer what root does next.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, mkdir, unlink } from "node:fs/promises";
import path from "node:path";
import { copyIntoNewFile } from "../fs/copy-file.js";
import { openEntry } from "../fs/entry.js";
import { isTrusted, type PinnedDir, pinChild, pinDir, UnsafePathError } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { logger } from "../log.js";
import type { AppLayout } from "../release/layout.js";
import type { Credentials } from "./sqlite-cli.js";

export interface Staging {
  // Path of a file in the staging directory, for the worker (which opens it by name).
  pathOf(name: string): string;
  // Take the directory back and copy `name` (exactly the pages its header declares) into a new
  // file of root's `into`/`copyName` with `mode`, unverified: for a copy that is finished later
  // (precopy.ts). Returns its size.
  copyOut(name: string, into: PinnedDir, copyName: string, mode: number): Promise<number>;
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
    async copyOut(file, into, copyName, mode) {
      await reclaim();
      const entry = await openEntry(own, file, "file", constants.O_RDONLY);
      try {
        const size = await databaseSize(entry.handle);
        return await copyIntoNewFile(entry.handle, into, copyName, { uid: 0, gid: 0, mode }, size);
      } catch (error) {
        await unlink(into.at(copyName)).catch(() => undefined);
        throw error;
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
    // Best effort: the app user may still be creating files in a directory it kept a descriptor
    // on; what is left is swept as debris by a later run, and never fails this one.
    async remove() {
      try {
        // Briefly: this may run while the app is stopped for a deploy.
        await removeTree(parent, name, 30_000).catch((error: unknown) =>
          logger.warn(
            { staging: path.join(parent.path, name), err: error },
            "staging directory not removed; a later run sweeps it",
          ),
        );
      } finally {
        await own.close();
        await parent.close();
        await top.close();
      }
    },
  };
}

// The size an SQLite file's header declares: page size (bytes 16-17; 1 means 65536) times page
// count (bytes 28-31, valid when the version-valid-for number at 92 equals the change counter at
// 24, as VACUUM INTO writes it). Throws for a file that is not such a database.
export async function databaseSize(handle: FileHandle): Promise<number> {
  const header = Buffer.alloc(100);
  const { bytesRead } = await handle.read(header, 0, 100, 0);
  if (bytesRead < 100 || header.toString("latin1", 0, 16) !== "SQLite format 3\0") {
    throw new Error("the copy is not an SQLite database");
  }
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const pages = header.readUInt32BE(28);
  const valid = header.readUInt32BE(92) === header.readUInt32BE(24);
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0 || pages === 0 || !valid) {
    throw new Error("the copy's header does not say its size");
  }
  return pageSize * pages;
}
