// The two colors of a blue-green app on disk (DESIGN.md "Strategy `blue-green`"), beside
// `current`:
//
//   colors/blue -> ../releases/<name>   the release blue runs  (WorkingDirectory=<dir>/colors/%i)
//   colors/blue.env                     PORT=8001\n            (EnvironmentFile=<dir>/colors/%i.env)
//
// colors/ is one of the agent's directories: root's, 0755, so the app user can run from it but
// never repoint a color. Writers hold the app's lock, which is why the temporary names are fixed
// (".blue.tmp", ".blue.env.tmp"): a leftover of an interrupted write is replaced by the next.
import path from "node:path";
import type { Color } from "../config/blue-green.js";
import { replaceFileIn } from "../fs/durable.js";
import { pinOrMakeChild } from "../fs/make-dir.js";
import { isTrusted, type PinnedDir, pinDir, UnsafePathError } from "../fs/pinned-dir.js";
import { swapSymlink } from "../fs/swap-symlink.js";
import { type AppLayout, isReleaseName, type LiveRelease, readReleaseLink } from "./layout.js";

export function otherColor(color: Color): Color {
  return color === "blue" ? "green" : "blue";
}

// colors/<color>: the link to the color's release.
export function colorLink(layout: AppLayout, color: Color): string {
  return path.join(layout.colors, color);
}

// colors/<color>.env: the color's environment file.
export function colorEnvFile(layout: AppLayout, color: Color): string {
  return path.join(layout.colors, `${color}.env`);
}

// Point a color at a release, atomically (the unit started next runs it). The link is relative,
// "../releases/<name>", so the app directory can be moved or bind-mounted and it still resolves.
export async function pointColor(layout: AppLayout, color: Color, release: string): Promise<void> {
  if (!isReleaseName(release)) {
    throw new UnsafePathError(`${JSON.stringify(release)} is not a release name`);
  }
  const target = path.relative(layout.colors, path.join(layout.releases, release));
  await withColorsDir(layout, (dir) => swapSymlink(dir, color, target, `.${color}.tmp`));
}

// Write colors/<color>.env: `PORT=<port>`, the port the color's instance binds on 127.0.0.1.
export async function writeColorEnv(layout: AppLayout, color: Color, port: number): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port ${port} is not a TCP port from 1 to 65535`);
  }
  await withColorsDir(layout, (dir) => replaceFileIn(dir, `${color}.env`, `PORT=${port}\n`, 0o644));
}

// The release a color points at, with its commit read as safely as the live release's;
// undefined when the color has none (never deployed, or its link does not name a release).
export async function readColor(layout: AppLayout, color: Color): Promise<LiveRelease | undefined> {
  return readReleaseLink(layout, colorLink(layout, color));
}

// Run fn in colors/, made root's 0755 when missing; refused when someone else could write it.
async function withColorsDir<T>(layout: AppLayout, fn: (dir: PinnedDir) => Promise<T>): Promise<T> {
  const top = await pinDir(layout.dir);
  let dir: PinnedDir;
  try {
    dir = await pinOrMakeChild(top, path.basename(layout.colors), 0o755);
  } finally {
    await top.close();
  }
  try {
    const stats = await dir.stat();
    if (!isTrusted(stats)) {
      throw new UnsafePathError(
        `${layout.colors} is owned by uid ${stats.uid} with mode ${(stats.mode & 0o7777).toString(8)}: only root may write it (\`agent check --fix\` makes it root's)`,
      );
    }
    return await fn(dir);
  } finally {
    await dir.close();
  }
}
