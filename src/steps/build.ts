// Step 4: build the new release beside the live one, complete before anything may point at it.
// The release belongs to the app user (its install hook writes into it), so root does in it only
// what the commit's contents cannot steer: the files are unpacked by the app user, and root's own
// writes (REVISION, the links into shared/) go through pinned directories, never through a link.
import { constants } from "node:fs";
import { lchown, lstat, mkdir, open, rename, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { type DeployRun, runStep } from "../deploy/run.js";
import { flushFileSystem } from "../fs/durable.js";
import { type PinnedDir, pinChild, UnsafePathError, withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { exportTree } from "../git/export-tree.js";
import {
  ensureEnvironment,
  environmentLinkTarget,
  recordEnvironment,
} from "../release/install-cache.js";
import {
  type AppLayout,
  releaseName,
  removeRevisionRecords,
  writeRevisionRecord,
} from "../release/layout.js";
import { updateDeployment } from "../state/deployments.js";
import { type RunAs, runAs } from "../system/accounts.js";
import { prepareScopes } from "../system/run.js";
import { ensureHoldDropIn } from "./hold.js";
import { runHook } from "./hooks.js";

// The named step: the release, and the start hold it may need, ready before the live release
// is touched.
export function buildStep(run: DeployRun): Promise<string> {
  return runStep(run, "build", async (note) => {
    const name = await buildRelease(run, note);
    // Blue-green never stops the serving color to switch: its colors need no hold.
    if (run.app.strategy !== "blue-green") await ensureHoldDropIn(run.app);
    return name;
  });
}

// Prefix of a release being built; never a valid release name, removed as debris if found.
export const BUILDING_PREFIX = ".tmp-";

// Build releases/<stamp>-<sha12> under a temporary name: the commit's files, REVISION, the
// linked shared paths, then the install hook; flushed to disk and only then renamed to its real
// name. The live release keeps serving throughout.
export async function buildRelease(run: DeployRun, note: (text: string) => void): Promise<string> {
  const { app, layout } = run;
  const name = run.release ?? releaseName(run.sha);
  const temp = `${BUILDING_PREFIX}${name}`;
  run.release = name;
  let cached = "";
  // The install and migrate hooks run in scopes; their flags are found while git exports.
  if (app.hooks.install || app.hooks.migrate) prepareScopes();
  updateDeployment(run.db, run.id, { toRelease: name });
  const owner = await runAs(app.user, app.group);
  await mkdir(layout.releases, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  await withPinnedDir(layout.releases, async (releases) => {
    await removeTree(releases, temp);
    await mkdir(releases.at(temp), { mode: 0o755 });
    const dir = await pinChild(releases, temp);
    try {
      await dir.handle.chown(owner.uid, owner.gid);
      await exportTree(layout.repo, run.sha, dir.path, owner);
      await writeRevision(dir, run.sha);
      await writeRevisionRecord(layout, name, run.sha);
      for (const rel of app.linked) await linkShared(dir, rel, layout, owner);
      const cache = app.hooks.install_cache;
      if (cache) {
        // The environment of these key files, built once (the hook runs in it) and linked.
        const env = await ensureEnvironment(app, layout, run.sha, owner, (cwd) =>
          runHook({
            app,
            hook: "install",
            command: app.hooks.install as string,
            cwd,
            releaseDir: path.join(releases.path, name),
            revision: run.sha,
            log: run.log,
          }),
        );
        await placeLink(dir, cache.path, environmentLinkTarget(layout, cache.path, env.key), owner);
        recordEnvironment(run.db, app.name, name, env.key);
        cached = `; ${cache.path} ${env.built ? "built" : "reused"} (${env.key.slice(0, 12)})`;
      } else if (app.hooks.install) {
        await runHook({
          app,
          hook: "install",
          command: app.hooks.install,
          cwd: dir.path,
          releaseDir: path.join(releases.path, name),
          revision: run.sha,
          log: run.log,
        });
      }
      // Everything the hook wrote must be on disk before the name says "complete".
      await flushFileSystem(dir.path);
      await removeTree(releases, name);
      await rename(releases.at(temp), releases.at(name));
      await releases.handle.sync();
    } catch (error) {
      await removeTree(releases, temp).catch(() => undefined);
      await removeRevisionRecords(layout, [name]).catch(() => undefined);
      throw error;
    } finally {
      await dir.close();
    }
  });
  note(`${name}${cached}`);
  return name;
}

// REVISION, written by root into the app user's directory: created exclusively and never through
// a link, so a REVISION the commit carries (a symlink to a file of root's, say) is removed, not
// written through.
async function writeRevision(dir: PinnedDir, sha: string): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(dir.at("REVISION"), flags, 0o644);
      try {
        await handle.writeFile(`${sha}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      await removeEntry(dir, "REVISION");
    }
  }
  throw new Error(`${path.join(dir.path, "REVISION")} keeps reappearing: refused`);
}

// Symlink a linked path (".env", "instance/config") into shared/. Missing parent directories are
// created (the app user's); a parent the commit made a symlink is refused, since the link would
// land wherever it points; whatever the commit has at the path itself is removed, so a copy in
// the repository never shadows the shared one. The target is relative, and the temporary and
// final release names sit at the same depth, so the link stays right after the rename.
async function linkShared(
  root: PinnedDir,
  rel: string,
  layout: AppLayout,
  owner: RunAs,
): Promise<void> {
  const parts = rel.replace(/\/+$/, "").split("/");
  const leaf = parts.pop() as string;
  // Relative from where the link sits (releases/<release>/<parts>) to shared/<parts>/<leaf>.
  const target = path.relative(
    path.join(layout.releases, "release", ...parts),
    path.join(layout.shared, ...parts, leaf),
  );
  await placeLink(root, rel, target, owner);
}

// Put a symlink to `target` at `rel` in the release: missing parents are created (the app
// user's), a parent the commit made a symlink is refused, whatever the commit has at the path
// itself is removed.
async function placeLink(
  root: PinnedDir,
  rel: string,
  target: string,
  owner: RunAs,
): Promise<void> {
  const parts = rel.replace(/\/+$/, "").split("/");
  const leaf = parts.pop() as string;
  let dir = root;
  const opened: PinnedDir[] = [];
  try {
    for (const part of parts) {
      await mkdir(dir.at(part), { mode: 0o755 }).then(
        () => lchown(dir.at(part), owner.uid, owner.gid),
        (error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error;
        },
      );
      try {
        dir = await pinChild(dir, part);
      } catch (error) {
        if (!(error instanceof UnsafePathError)) throw error;
        throw new Error(
          `linked path ${rel}: ${error.message} in the commit, where a directory is needed`,
        );
      }
      opened.push(dir);
    }
    await removeEntry(dir, leaf);
    await symlink(target, dir.at(leaf));
    await lchown(dir.at(leaf), owner.uid, owner.gid);
  } finally {
    for (const d of opened.reverse()) await d.close();
  }
}

// Remove whatever is at `name` in `dir`: a file or link by unlink(2), a directory by removeTree.
async function removeEntry(dir: PinnedDir, name: string): Promise<void> {
  const found = await lstat(dir.at(name)).catch(() => undefined);
  if (!found) return;
  if (found.isDirectory()) await removeTree(dir, name);
  else await unlink(dir.at(name));
}
