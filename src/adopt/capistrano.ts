// `agent adopt` of an app Capistrano deploys (releases/<YYYYmmddHHMMSS>/ with REVISION, `current`
// relative or absolute, shared/, repo/): adopted in place. Its releases stay releases (the agent
// lists, rolls back to and prunes them with its own); nothing moves and the app is not stopped.
// What changes: the app directory and releases/ become root's alone (the app user could swap
// `current` otherwise), Capistrano's repo/ (a mirror the deploy user owns, which root must not
// run git in) is kept aside for the agent's own, the agent's units may write there, and the app
// is added to agent.yaml; then the live release is verified as a deploy would verify it.
import { lstat, readdir, readFile, readlink, rename, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { loadConfig, selectApp } from "../config/load.js";
import type { Interruption } from "../deploy/interruption.js";
import { readSmallPath } from "../fs/bounded-read.js";
import { writeDurably } from "../fs/durable.js";
import { openEntry } from "../fs/entry.js";
import { pinDir } from "../fs/pinned-dir.js";
import { displayUrl } from "../git/display-url.js";
import { printable } from "../output/sanitize.js";
import { agentDirProblems } from "../release/agent-dirs.js";
import {
  type AppLayout,
  appLayout,
  compareReleases,
  isReleaseName,
  readLiveRelease,
  releaseName,
} from "../release/layout.js";
import { backupApp } from "../sqlite/backup-app.js";
import { verifyRelease } from "../steps/verify.js";
import { nameOfId } from "../system/accounts.js";
import { run } from "../system/run.js";
import { daemonReload } from "../system/systemd.js";
import type { MergedConfig } from "./agent-config.js";
import { tellDaemon } from "./execute.js";
import {
  type AdoptedUnit,
  type AdoptOptions,
  AdoptRefusal,
  agentDropInsFor,
  type DropIn,
  healthUrlOf,
  installHooks,
  remoteHasCommit,
  repoEntry,
  workerCount,
} from "./plan.js";

export interface PlannedDir {
  path: string;
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  mode: number;
}

export interface CapistranoPlan {
  name: string;
  service: string;
  dir: string;
  user: string;
  group: string;
  live: { name: string; revision: string };
  releases: string[];
  url: string;
  branch: string;
  behind: number;
  workers: number;
  workersFrom: string;
  healthUrl: string;
  linked: string[];
  database?: string;
  // Directories made root's alone: their owner and mode before, to put back on failure.
  dirs: PlannedDir[];
  // Capistrano's repo/ kept aside under this name (when it is there).
  repoAside?: string;
  agentDropIns: DropIn[];
  entry: Record<string, unknown>;
  notes: string[];
}

// The Capistrano root when the unit runs from <root>/current, a symlink beside releases/.
export async function capistranoRoot(workingDirectory: string): Promise<string | undefined> {
  if (path.basename(workingDirectory) !== "current") return undefined;
  const link = await lstat(workingDirectory).catch(() => undefined);
  const root = path.dirname(workingDirectory);
  const releases = await lstat(path.join(root, "releases")).catch(() => undefined);
  return link?.isSymbolicLink() && releases?.isDirectory() ? root : undefined;
}

export async function planCapistrano(
  options: AdoptOptions,
  adopted: AdoptedUnit,
  dir: string,
): Promise<CapistranoPlan> {
  const { service, name, unit } = adopted;
  const layout = appLayout({ dir });
  const live = await readLiveRelease(layout);
  if (!live) {
    throw new AdoptRefusal(
      `${layout.current} does not point at a release in ${layout.releases} with a REVISION`,
    );
  }
  const names = (await readdir(layout.releases)).filter(isReleaseName).sort(compareReleases);
  // Once releases/ is root's, what is in it is trusted to be what the names say.
  for (const name of names) {
    const stats = await lstat(path.join(layout.releases, name));
    if (!stats.isDirectory()) {
      throw new AdoptRefusal(
        `${path.join(layout.releases, name)} is not a directory: remove it first`,
      );
    }
  }
  const leftInBackups = await readdir(layout.backups).catch(() => [] as string[]);
  if (leftInBackups.length > 0) {
    throw new AdoptRefusal(
      `${layout.backups} is not empty: the agent keeps its own backups there; move them elsewhere first`,
    );
  }
  const branch = options.branch ?? "main";
  const behind = await remoteHasCommit(repoEntry(options, branch), live.revision);
  const { workers, workersFrom, bind } = await workerCount(unit, adopted.dir, options.workers);
  const healthUrl = await healthUrlOf(bind, options.health);
  const group = unit.group || (await nameOfId("group", (await lstat(live.dir)).gid));
  const linked = await linkedIntoShared(layout, live.dir);
  const database = await sqliteInShared(layout);
  const notes: string[] = [];
  const venv = await venvOf(live.dir);
  const requirements =
    (await lstat(path.join(live.dir, "requirements.txt")).catch(() => undefined))?.isFile() ??
    false;
  const hooks = installHooks({ venv, requirements }, notes);
  const dirs = [];
  for (const problem of await agentDirProblems(layout)) {
    const stats = await lstat(problem.path).catch(() => undefined);
    if (!stats?.isDirectory() || problem.path === layout.repo) {
      if (problem.path === layout.repo) continue;
      throw new AdoptRefusal(problem.message);
    }
    if (![layout.dir, layout.releases, layout.backups].includes(problem.path)) {
      throw new AdoptRefusal(problem.message);
    }
    dirs.push({
      path: problem.path,
      dev: stats.dev,
      ino: stats.ino,
      uid: stats.uid,
      gid: stats.gid,
      mode: stats.mode & 0o7777,
    });
  }
  const repo = await lstat(layout.repo).catch(() => undefined);
  const repoAside = repo
    ? `${layout.repo}.capistrano-${releaseName(live.revision).split("-")[0]}`
    : undefined;
  if (database)
    notes.push(`database.path ${database}: backed up before every deploy that migrates`);
  notes.push("the app keeps running: nothing it uses moves");
  const entry: Record<string, unknown> = {
    dir,
    service,
    user: unit.user,
    group,
    repo: repoEntry(options, branch),
    ...(linked.length > 0 ? { linked } : {}),
    ...(hooks ? { hooks } : {}),
    ...(database ? { database: { path: database, mode: await modeOf(database) } } : {}),
    processes: { master: 1, workers },
    health: { url: healthUrl },
  };
  return {
    name,
    service,
    dir,
    user: unit.user,
    group,
    live: { name: live.name, revision: live.revision },
    releases: names,
    url: options.repo,
    branch,
    behind,
    workers,
    workersFrom,
    healthUrl,
    linked,
    ...(database ? { database } : {}),
    dirs,
    ...(repoAside ? { repoAside } : {}),
    agentDropIns: agentDropInsFor(name, service, dir),
    entry,
    notes,
  };
}

// The release's symlinks (three levels deep at most, as Capistrano's linked_files and
// linked_dirs are) that point into shared/: the paths to keep linking.
async function linkedIntoShared(layout: AppLayout, release: string): Promise<string[]> {
  const found = await run("find", [release, "-maxdepth", "3", "-type", "l", "-printf", "%P\\0"], {
    reject: false,
    timeoutMs: 60_000,
  });
  const linked: string[] = [];
  for (const rel of found.stdout.split("\0").filter(Boolean)) {
    if (!/^[\w.@+-]+(?:\/[\w.@+-]+)*$/.test(rel) || rel.split("/").includes("..")) continue;
    const target = await readlink(path.join(release, rel)).catch(() => undefined);
    if (!target) continue;
    const resolved = path.resolve(path.dirname(path.join(release, rel)), target);
    if (resolved === path.join(layout.shared, rel)) linked.push(rel);
  }
  return linked.sort();
}

// The first SQLite file (by its header) in shared/, two levels deep at most.
async function sqliteInShared(layout: AppLayout): Promise<string | undefined> {
  const found = await run(
    "find",
    [layout.shared, "-maxdepth", "2", "-type", "f", "-links", "1", "-printf", "%P\\0"],
    { reject: false, timeoutMs: 60_000 },
  );
  for (const rel of found.stdout.split("\0").filter(Boolean).sort()) {
    if (/-(?:wal|shm|journal)$/.test(rel) || rel.split("/").includes("..")) continue;
    const header = await readSmallPath(path.join(layout.shared, rel), 16).catch(() => undefined);
    if (header?.toString("latin1") === "SQLite format 3\0") return path.join(layout.shared, rel);
  }
  return undefined;
}

async function venvOf(
  release: string,
): Promise<{ path: string; systemSitePackages: boolean } | undefined> {
  for (const name of ["venv", ".venv", "env"]) {
    const cfg = await readSmallPath(path.join(release, name, "pyvenv.cfg"), 4096).catch(
      () => undefined,
    );
    if (cfg) {
      const system = /^\s*include-system-site-packages\s*=\s*true\s*$/im.test(cfg.toString("utf8"));
      return { path: name, systemSitePackages: system };
    }
  }
  return undefined;
}

async function modeOf(file: string): Promise<string> {
  return ((await lstat(file)).mode & 0o777).toString(8).padStart(3, "0");
}

export function formatCapistranoPlan(
  plan: CapistranoPlan,
  file: string,
  action: string,
  yaml: string,
): string[] {
  const lines = [
    `agent adopt ${plan.service}: the plan (a Capistrano layout, adopted in place)`,
    `  unit:      ${plan.service}, user ${plan.user}, group ${plan.group}, 1 master + ${plan.workers} workers (${plan.workersFrom})`,
    `  releases:  ${plan.releases.join(", ")}; live ${plan.live.name} at ${plan.live.revision.slice(0, 12)}`,
    `  remote:    ${printable(displayUrl(plan.url))} has ${plan.live.revision.slice(0, 12)} on ${plan.branch}${plan.behind > 0 ? `, ${plan.behind} commit(s) behind it (the next sync deploys them)` : ""}`,
    `  health:    ${plan.healthUrl}`,
    `  linked:    ${plan.linked.length > 0 ? plan.linked.join(", ") : "nothing"} (from the live release's links into shared/)`,
  ];
  for (const dir of plan.dirs) {
    lines.push(
      `  owner:     ${dir.path} becomes root's, mode 755 (was uid ${dir.uid}, mode ${dir.mode.toString(8)})`,
    );
  }
  if (plan.repoAside)
    lines.push(
      `  repo:      ${plan.dir}/repo kept as ${plan.repoAside}; the agent fetches its own`,
    );
  for (const dropIn of plan.agentDropIns) {
    lines.push(`  drop-in:   ${dropIn.path}`);
    for (const text of dropIn.text.trimEnd().split("\n")) lines.push(`               ${text}`);
  }
  lines.push(`  config:    ${file} (${action}):`);
  for (const text of yaml.split("\n")) lines.push(`               ${text}`);
  for (const note of plan.notes) lines.push(`  note:      ${note}`);
  return lines;
}

export interface CapistranoResult {
  adopted: boolean;
  message?: string;
  restoreFailures: string[];
}

// Carry the plan out; on any failure put back what was changed, newest first.
export async function executeCapistrano(
  plan: CapistranoPlan,
  config: { file: string; merged: MergedConfig },
  say: (line: string) => void,
  interruption: Interruption,
): Promise<CapistranoResult> {
  const undos: { what: string; run: () => Promise<void> }[] = [];
  const touched = plan.agentDropIns.map((d) => d.path);
  const before = await Promise.all(touched.map((f) => readFileOrUndefined(f)));
  try {
    // The app directory first (nothing can be renamed in it once others lose write), each
    // through a descriptor of the very directory the plan saw: never a path a link could steer.
    for (const dir of plan.dirs) {
      undos.push({
        what: `give ${dir.path} back to uid ${dir.uid}`,
        run: () => setOwnerAndMode(dir, dir.uid, dir.gid, dir.mode),
      });
      await setOwnerAndMode(dir, 0, 0, dir.mode & ~0o022);
      say(`${dir.path} is root's`);
    }
    if (plan.repoAside) {
      const repo = path.join(plan.dir, "repo");
      const repoAside = plan.repoAside;
      await rename(repo, repoAside);
      undos.push({ what: `move ${repoAside} back`, run: () => rename(repoAside, repo) });
      say(`kept Capistrano's repo/ as ${repoAside}`);
    }
    undos.push({ what: "put the agent's drop-ins back", run: () => restore(touched, before) });
    for (const dropIn of plan.agentDropIns) await writeDurably(dropIn.path, dropIn.text);
    if (plan.agentDropIns.length > 0) await daemonReload();
    if (interruption.signal) throw new Error(`${interruption.signal} received`);
    // Planned a while ago: an edit made since would be overwritten (and put back stale).
    if ((await readFileOrUndefined(config.file)) !== config.merged.before) {
      throw new Error(`${config.file} changed since the plan was made: run agent adopt again`);
    }
    const mode = ((await lstat(config.file).catch(() => undefined))?.mode ?? 0o640) & 0o777;
    undos.push({
      what: `put ${config.file} back`,
      run: async () => {
        if (config.merged.before === undefined) await run("rm", ["-f", "--", config.file]);
        else await writeDurably(config.file, config.merged.before, mode);
      },
    });
    await writeDurably(config.file, config.merged.text, mode);
    say(`${config.merged.action === "add" ? "added the app to" : "wrote"} ${config.file}`);
    const app = selectApp(await loadConfig(config.file), plan.name);
    const summary = await verifyRelease(app, plan.live.revision);
    say(`verified ${plan.live.name}: ${summary}`);
    if (interruption.signal) throw new Error(`${interruption.signal} received`);
    // The first backup, so the DB has one from the start (a rollback before the next deploy).
    if (app.database) say(`backed up the DB: ${(await backupApp(app)).path}`);
    say(await tellDaemon(plan.agentDropIns.length > 0));
    return { adopted: true, restoreFailures: [] };
  } catch (error) {
    const message = (error as Error).message;
    say(`adoption failed: ${message}; putting the host back`);
    const restoreFailures: string[] = [];
    for (const undo of undos.reverse()) {
      try {
        await undo.run();
      } catch (failure) {
        restoreFailures.push(`${undo.what}: ${(failure as Error).message}`);
      }
    }
    if (plan.agentDropIns.length > 0) await daemonReload().catch(() => undefined);
    return { adopted: false, message, restoreFailures };
  }
}

// Owner and mode of a planned directory, set through a descriptor opened without following a
// link, and only when it is still the directory the plan saw.
async function setOwnerAndMode(
  dir: PlannedDir,
  uid: number,
  gid: number,
  mode: number,
): Promise<void> {
  const parent = await pinDir(path.dirname(dir.path));
  try {
    const opened = await openEntry(parent, path.basename(dir.path), "dir");
    try {
      if (opened.stats.dev !== dir.dev || opened.stats.ino !== dir.ino) {
        throw new Error(`${dir.path} was replaced since the plan was made: refused`);
      }
      // Write taken away before the owner changes, given back after.
      if (uid === 0) {
        await opened.handle.chmod(mode);
        await opened.handle.chown(uid, gid);
      } else {
        await opened.handle.chown(uid, gid);
        await opened.handle.chmod(mode);
      }
    } finally {
      await opened.handle.close();
    }
  } finally {
    await parent.close();
  }
}

async function readFileOrUndefined(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch(() => undefined);
}

async function restore(files: string[], before: (string | undefined)[]): Promise<void> {
  for (const [i, file] of files.entries()) {
    const old = before[i];
    if (old === undefined) {
      await rm(file, { force: true });
      const dir = path.dirname(file);
      if ((await readdir(dir).catch(() => ["?"])).length === 0) await rmdir(dir);
    } else {
      await writeDurably(file, old);
    }
  }
}
