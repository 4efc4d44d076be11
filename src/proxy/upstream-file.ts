// The upstream file the agent owns for a blue-green app (DESIGN.md "Strategy `blue-green`"). The
// operator's nginx site has `include <upstream_file>;` inside its `upstream` block; this file names
// the one color that new connections reach. Its whole content, always two lines:
//
//   # written by deploy-agent for shop: serving blue
//   server 127.0.0.1:8001;
//
// Written as root inside nginx's configuration directory, so never through a link, never into a
// directory another user can write, and never half-written: nginx may read it at any moment.
import path from "node:path";
import type { Color } from "../config/blue-green.js";
import { NGINX_DIR } from "../config/blue-green-host.js";
import { readSmallBytes } from "../fs/bounded-read.js";
import { removeFileIn, replaceFileIn } from "../fs/durable.js";
import { pinOrMakeChild } from "../fs/make-dir.js";
import { isInside } from "../fs/path-inside.js";
import { isTrusted, type PinnedDir, pinChild, pinDir, UnsafePathError } from "../fs/pinned-dir.js";
import { printable } from "../output/sanitize.js";

export interface UpstreamTarget {
  app: string;
  color: Color;
  port: number;
}

// The file is two short lines; anything much longer is not one the agent wrote.
const UPSTREAM_MAX_BYTES = 4096;

const SERVER_LINE = /^server 127\.0\.0\.1:(\d{1,5});$/;

// An upstream file that does not hold what the agent writes.
export class UpstreamFormatError extends Error {
  override name = "UpstreamFormatError";
}

// The file's content for a target. The app name and port are checked again here: they end up in
// nginx's configuration, where a newline or a ";" would be a directive of its own.
export function formatUpstream(target: UpstreamTarget): string {
  if (!/^[A-Za-z0-9_-]+$/.test(target.app)) {
    throw new UpstreamFormatError(`app name ${JSON.stringify(target.app)} is not a plain word`);
  }
  if (!validPort(target.port)) {
    throw new UpstreamFormatError(`port ${target.port} is not a TCP port from 1 to 65535`);
  }
  return `# written by deploy-agent for ${target.app}: serving ${target.color}\nserver 127.0.0.1:${target.port};\n`;
}

// The port an upstream file sends traffic to. Blank lines and `#` comments are skipped; exactly
// one `server 127.0.0.1:PORT;` line must remain, as the agent writes it.
export function parseUpstream(text: string, file: string): { port: number } {
  let port: number | undefined;
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = SERVER_LINE.exec(line);
    const found = Number(match?.[1]);
    if (!match || !validPort(found)) {
      throw new UpstreamFormatError(
        `${file} line ${i + 1}: expected "server 127.0.0.1:PORT;", found "${printable(line, 80)}"`,
      );
    }
    if (port !== undefined) {
      throw new UpstreamFormatError(
        `${file} line ${i + 1}: a second server line; the agent writes exactly one`,
      );
    }
    port = found;
  }
  if (port === undefined) throw new UpstreamFormatError(`${file} names no server`);
  return { port };
}

// The port the upstream file sends traffic to; undefined when there is no file yet.
export async function readUpstream(
  file: string,
  root = NGINX_DIR,
): Promise<{ port: number } | undefined> {
  const dir = await openParent(file, root, false);
  if (!dir) return undefined;
  try {
    const text = await readPrevious(dir, path.basename(file));
    return text === undefined ? undefined : parseUpstream(text, file);
  } finally {
    await dir.close();
  }
}

// Point the upstream file at a target, creating its directory (root's, 0755) when missing.
// Returns what the file held before (undefined when there was none), for restoreUpstream.
export async function writeUpstream(
  file: string,
  target: UpstreamTarget,
  root = NGINX_DIR,
): Promise<string | undefined> {
  const text = formatUpstream(target);
  // With create, every missing directory is made: never undefined.
  const dir = (await openParent(file, root, true)) as PinnedDir;
  try {
    const name = path.basename(file);
    const previous = await readPrevious(dir, name);
    // Only a file of the agent's own format is replaced: a config pointing upstream_file at an
    // operator's file (a typo) must not overwrite it.
    if (previous !== undefined) parseUpstream(previous, file);
    await replaceFileIn(dir, name, text, 0o644);
    return previous;
  } finally {
    await dir.close();
  }
}

// Put back what writeUpstream returned: the earlier text, or no file when there was none.
export async function restoreUpstream(
  file: string,
  previous: string | undefined,
  root = NGINX_DIR,
): Promise<void> {
  if (previous !== undefined && Buffer.byteLength(previous) > UPSTREAM_MAX_BYTES) {
    throw new UpstreamFormatError(`not restoring ${file}: more than ${UPSTREAM_MAX_BYTES} bytes`);
  }
  const dir = await openParent(file, root, previous !== undefined);
  if (!dir) return;
  try {
    const name = path.basename(file);
    if (previous === undefined) await removeFileIn(dir, name);
    else await replaceFileIn(dir, name, previous, 0o644);
  } finally {
    await dir.close();
  }
}

// The file's current text, read without following a link, at most UPSTREAM_MAX_BYTES; undefined
// when there is no file.
async function readPrevious(dir: PinnedDir, name: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readSmallBytes(dir, name, UPSTREAM_MAX_BYTES + 1);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (bytes.length > UPSTREAM_MAX_BYTES) {
    throw new UpstreamFormatError(
      `${path.join(dir.path, name)} holds more than ${UPSTREAM_MAX_BYTES} bytes: not an upstream file of the agent's`,
    );
  }
  return bytes.toString("utf8");
}

// The directory of `file`, walked down from `root` one directory at a time: each one a real
// directory (never a link) that only root can write, made (0755) when missing if `create`.
// Undefined when a directory is missing and not to be made.
async function openParent(
  file: string,
  root: string,
  create: boolean,
): Promise<PinnedDir | undefined> {
  const normal = path.normalize(file);
  if (!isInside(root, normal)) {
    throw new UnsafePathError(`${file} is not inside ${root}/: refused`);
  }
  const names = path.relative(root, path.dirname(normal)).split(path.sep).filter(Boolean);
  let dir = await pinDir(root);
  try {
    await assertRootsAlone(dir);
    for (const name of names) {
      const child = await openChild(dir, name, create);
      await dir.close();
      if (!child) return undefined;
      dir = child;
      await assertRootsAlone(dir);
    }
    return dir;
  } catch (error) {
    await dir.close();
    throw error;
  }
}

// A subdirectory; when missing, made (root's, 0755: nginx's workers read through it) if `create`.
async function openChild(
  parent: PinnedDir,
  name: string,
  create: boolean,
): Promise<PinnedDir | undefined> {
  if (create) return pinOrMakeChild(parent, name, 0o755);
  try {
    return await pinChild(parent, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

// Refuse a directory that someone other than root could write: they could swap the file nginx
// reads between our write and nginx's reload.
async function assertRootsAlone(dir: PinnedDir): Promise<void> {
  const stats = await dir.stat();
  if (!isTrusted(stats)) {
    const mode = (stats.mode & 0o7777).toString(8).padStart(3, "0");
    throw new UnsafePathError(
      `${dir.path} is owned by uid ${stats.uid} with mode ${mode}: only root may write where the upstream file lives`,
    );
  }
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
