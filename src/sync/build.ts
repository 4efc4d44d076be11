// Step 4: build the new release beside the live one, complete before anything may point at it.
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { exportTree } from "../git/export-tree.js";
import { releaseName } from "../release/layout.js";
import { fsyncDir } from "../sqlite/online-backup.js";
import { updateDeployment } from "../state/deployments.js";
import { lookupGroupId, lookupUser } from "../system/accounts.js";
import { run } from "../system/run.js";
import type { DeployRun } from "./deploy-run.js";
import { runHook } from "./hooks.js";

// Prefix of a release being built; never a valid release name, removed as debris if found.
export const BUILDING_PREFIX = ".tmp-";

// Build releases/<stamp>-<sha12> under a temporary name: the commit's files, REVISION, the
// linked shared paths, owned by the app user, then the install hook; flushed to disk and only
// then renamed to its real name. The live release keeps serving throughout.
export async function buildRelease(run: DeployRun, note: (text: string) => void): Promise<string> {
  const { app, layout } = run;
  const name = run.release ?? releaseName(run.sha);
  const final = path.join(layout.releases, name);
  const temp = path.join(layout.releases, `${BUILDING_PREFIX}${name}`);
  run.release = name;
  updateDeployment(run.db, run.id, { toRelease: name });
  await mkdir(layout.releases, { recursive: true, mode: 0o755 });
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { mode: 0o755 });
  try {
    await exportTree(layout.repo, run.sha, temp);
    await writeFile(path.join(temp, "REVISION"), `${run.sha}\n`, { mode: 0o644 });
    await linkShared(temp, layout.shared, app.linked);
    await giveToAppUser(temp, app.user, app.group);
    if (app.hooks.install) {
      await runHook({
        app,
        hook: "install",
        command: app.hooks.install,
        cwd: temp,
        releaseDir: final,
        revision: run.sha,
        log: run.log,
      });
    }
    // Everything the hook wrote must be on disk before the name says "complete".
    await flushTree(temp);
    await rm(final, { recursive: true, force: true });
    await rename(temp, final);
    await fsyncDir(layout.releases);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  note(name);
  return name;
}

// Symlink each linked path (".env", "instance/") into shared/. The target is relative, and the
// temporary and final names sit at the same depth, so the link stays right after the rename.
async function linkShared(releaseDir: string, sharedDir: string, linked: string[]): Promise<void> {
  for (const rel of linked) {
    const link = path.join(releaseDir, rel.replace(/\/+$/, ""));
    const target = path.join(sharedDir, rel.replace(/\/+$/, ""));
    // A copy committed to the repo must not shadow the shared one.
    await rm(link, { recursive: true, force: true });
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(path.relative(path.dirname(link), target), link);
  }
}

// chown -R (links included) to the app user, so the install hook can write into its release.
async function giveToAppUser(dir: string, user: string, group: string): Promise<void> {
  const account = await lookupUser(user);
  const gid = await lookupGroupId(group);
  if (!account || gid === undefined) throw new Error(`no user ${user}:${group}`);
  await run("chown", ["-R", "-h", `${account.uid}:${gid}`, dir]);
}

// syncfs(2) on the filesystem holding dir: one call flushes every file the build wrote.
async function flushTree(dir: string): Promise<void> {
  await run("sync", ["-f", dir]);
}
