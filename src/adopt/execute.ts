// `agent adopt`, part 2: carry out a plan with one stop of the app. Every change is recorded with
// its undo before it is made; when anything fails (the first release does not verify, a copy
// fails, a signal) the undos run newest first and the host is as it was: the checkout back in its
// place, the unit as it was, agent.yaml's own bytes, and the app started on it again.
import { lstat, mkdir, readdir, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { loadConfig, selectApp } from "../config/load.js";
import type { EventSink } from "../deploy/events.js";
import type { Interruption } from "../deploy/interruption.js";
import { flushFileSystem, fsyncDir, writeDurably } from "../fs/durable.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { holdPaths } from "../steps/hold.js";
import { syncApp } from "../sync/sync.js";
import { runAs } from "../system/accounts.js";
import { type RunOptions, run } from "../system/run.js";
import { daemonReload, showUnit, unitAction } from "../system/systemd.js";
import type { MergedConfig } from "./agent-config.js";
import { type AdoptJournal, removeJournal, writeJournal } from "./journal.js";
import { type AdoptPlan, processesUsing } from "./plan.js";

export interface AdoptResult {
  adopted: boolean;
  // What went wrong, and whether putting the host back worked.
  message?: string;
  restoreFailures: string[];
  release?: string;
}

interface Undo {
  // When this one fails, the undos after it would lose data (the layout holding the only copy of
  // what the app wrote would be removed): stop there and say where things are.
  critical?: boolean;
  what: string;
  run: () => Promise<void>;
}

export async function executeAdoption(
  plan: AdoptPlan,
  config: { file: string; merged: MergedConfig },
  say: (line: string) => void,
  watcher: EventSink,
  interruption: Interruption,
): Promise<AdoptResult> {
  const undos: Undo[] = [];
  const owner = await runAs(plan.user, plan.group);
  // The app user's processes: it can stop them (SIGSTOP) or make them block on a FIFO, which must
  // not keep its app stopped for their whole time-out.
  const asUser = {
    uid: owner.uid,
    gid: owner.gid,
    cleanEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stallLimitMs: 60_000,
  };
  // Files under /etc the adoption writes, with their bytes before (or absence), put back as found.
  const touched = [
    plan.unitDropIn.path,
    ...plan.agentDropIns.map((d) => d.path),
    holdPaths({ name: plan.name, service: plan.service }).dropIn,
  ];
  const before = await Promise.all(touched.map(snapshot));
  const configMode = ((await stat(config.file).catch(() => undefined))?.mode ?? 0o640) & 0o777;
  const journal: AdoptJournal = {
    service: plan.service,
    dir: plan.dir,
    aside: plan.aside,
    wasActive: plan.wasActive,
    files: [plan.unitDropIn, ...plan.agentDropIns].map((d, i) => ({
      path: d.path,
      before: before[i] ?? null,
    })),
    config: {
      file: config.file,
      before: config.merged.before ?? null,
      after: config.merged.text,
      mode: configMode,
    },
  };
  let configWritten = false;
  try {
    const checkInterrupted = () => {
      if (interruption.signal) throw new Error(`${interruption.signal} received`);
    };
    say(`stopping ${plan.service}`);
    if (plan.wasActive) {
      undos.push({ what: `start ${plan.service}`, run: () => unitAction("start", plan.service) });
    }
    await unitAction("stop", plan.service);
    checkInterrupted();

    // Nothing may still work in the checkout: a process the unit's stop left (KillMode=process),
    // or one that started since the plan (a cron job), would write it after it moved aside.
    const using = await processesUsing(plan.dir);
    if (using.length > 0) {
      throw new Error(
        `processes still use ${plan.dir} with ${plan.service} stopped (${using.slice(0, 5).join("; ")})`,
      );
    }

    // From here until the adoption has gone through or been undone, a cut leaves a host only the
    // journal explains (journal.ts).
    await writeJournal(plan.name, journal);
    undos.push({ what: "remove the adoption's journal", run: () => removeJournal(plan.name) });
    // The checkout, whole, aside; the agent's layout in its place.
    await rename(plan.dir, plan.aside);
    undos.push({
      what: `move ${plan.aside} back to ${plan.dir}`,
      run: () => rename(plan.aside, plan.dir),
    });
    say(`kept the checkout as ${plan.aside}`);
    await mkdir(plan.dir, { mode: 0o755 });
    await fsyncDir(path.dirname(plan.dir));
    const made = await lstat(plan.dir);
    journal.layout = { dev: made.dev, ino: made.ino };
    await writeJournal(plan.name, journal);
    undos.push({ what: `remove the new ${plan.dir}`, run: () => removeDir(plan.dir, made) });
    const shared = path.join(plan.dir, "shared");
    await mkdir(shared, { mode: 0o775 });
    await run("chown", [`${owner.uid}:${owner.gid}`, shared]);

    // The data, copied as the app user (nothing in the checkout can steer a write of root's):
    // SQLite files by the online backup API, with the app stopped so no write is missed.
    // Each DB copied whole, with the hash of its content then (.sha3sum: rows and schema, not pages).
    const copied = new Map<string, string>();
    // Undone before the checkout moves back: what the app wrote on the new layout (a release
    // that started, then failed its verify) goes back with it, so no answered write is lost.
    undos.push({
      critical: true,
      what: "copy the DB back into the checkout",
      run: () => copyDatabasesBack(plan, shared, copied, asUser),
    });
    for (const entry of plan.data) {
      checkInterrupted();
      const from = path.join(plan.aside, entry.path);
      const to = path.join(shared, entry.path);
      if (path.dirname(entry.path) !== ".") {
        await run("mkdir", ["-p", "--", path.dirname(to)], asUser);
      }
      if (entry.kind === "sqlite") {
        copied.set(entry.path, await backupAsUser(from, to, asUser));
      } else {
        await run("cp", ["-a", "--no-dereference", "--no-target-directory", "--", from, to], {
          ...asUser,
          timeoutMs: 30 * 60_000,
        });
        // A DB inside the directory: the cp of it (and of its -wal) replaced by an online backup.
        for (const db of plan.checkout.databases.filter((d) => d.startsWith(`${entry.path}/`))) {
          const target = path.join(shared, db);
          await run(
            "rm",
            ["-f", "--", target, `${target}-wal`, `${target}-shm`, `${target}-journal`],
            asUser,
          );
          copied.set(db, await backupAsUser(path.join(plan.aside, db), target, asUser));
        }
      }
      say(`copied ${entry.path} into shared/${entry.kind === "sqlite" ? " (online backup)" : ""}`);
    }

    // The unit runs from current/; the agent's units may write the app's directory.
    undos.push({ what: "put the unit drop-ins back", run: () => restoreFiles(touched, before) });
    for (const dropIn of [plan.unitDropIn, ...plan.agentDropIns]) {
      await writeDurably(dropIn.path, dropIn.text);
    }
    await daemonReload();
    say(`wrote ${[plan.unitDropIn, ...plan.agentDropIns].map((d) => d.path).join(", ")}`);

    // The copies on disk before the config makes the app the boot sync's to deploy.
    await flushFileSystem(plan.dir);
    // Planned a while ago: an edit made since would be overwritten (and put back stale on failure).
    const now = await readFile(config.file, "utf8").catch(() => undefined);
    if (now !== config.merged.before) {
      throw new Error(`${config.file} changed since the plan was made: run agent adopt again`);
    }
    undos.push({ what: `put ${config.file} back`, run: () => restoreConfig(config, configMode) });
    await writeDurably(config.file, config.merged.text, configMode);
    configWritten = true;
    say(`${config.merged.action === "add" ? "added the app to" : "wrote"} ${config.file}`);
    await removeJournal(plan.name);
    checkInterrupted();

    // The first release: the checkout's commit, deployed as every later one will be.
    const app = selectApp(await loadConfig(config.file), plan.name);
    undos.push({
      what: "lift the start hold",
      run: () => rm(holdPaths(app).marker, { force: true }),
    });
    const result = await syncApp(app, {
      ref: plan.checkout.head,
      watcher,
      interruption,
      trigger: "adopt",
    });
    if (result.outcome !== "deployed") {
      throw new Error(`the first release did not deploy: ${result.message ?? result.outcome}`);
    }
    say(await tellDaemon(plan.agentDropIns.length > 0));
    return { adopted: true, restoreFailures: [] };
  } catch (error) {
    const message = (error as Error).message;
    // The app may have run on the new layout: a cut during the undo must not lose that layout.
    if (configWritten) {
      journal.ranOnLayout = true;
      await writeJournal(plan.name, journal).catch(() => undefined);
    }
    say(`adoption failed: ${message}; putting the host back`);
    const restoreFailures: string[] = [];
    // The app is stopped (a failed first deploy leaves it so) before its files move back.
    await unitAction("stop", plan.service).catch(() => undefined);
    for (const undo of undos.reverse()) {
      try {
        await undo.run();
        if (undo.what.startsWith("put the unit")) await daemonReload();
      } catch (failure) {
        restoreFailures.push(`${undo.what}: ${(failure as Error).message}`);
        if (undo.critical) {
          restoreFailures.push(
            `stopped there: ${plan.dir} (the new layout, its shared/ holding what the app wrote) and ${plan.aside} (the checkout) are both kept`,
          );
          break;
        }
      }
    }
    return { adopted: false, message, restoreFailures };
  }
}

// The daemon, if it runs, learns of the app: a restart when its sandbox must let it write the
// app's directory (ReadWritePaths= counts only from a start), a reload (SIGHUP: the config read
// again) otherwise. A daemon that is not running is left so.
export async function tellDaemon(restart: boolean): Promise<string> {
  const { LoadState: state } = await showUnit("deploy-agent.service", ["LoadState"]).catch(() => ({
    LoadState: "",
  }));
  if (state !== "loaded") return "deploy-agent.service is not installed: no daemon to tell";
  const verb = restart ? "try-restart" : "try-reload-or-restart";
  const result = await run("systemctl", [verb, "--", "deploy-agent.service"], {
    reject: false,
    timeoutMs: 120_000,
  });
  if (result.exitCode !== 0) {
    return `could not ${verb} deploy-agent.service (${result.stderr.trim().split("\n")[0]}): restart it to have it watch the app`;
  }
  return `deploy-agent.service ${restart ? "restarted" : "reloaded"} if it was running`;
}

// Each SQLite file the adoption copied whole into shared/, copied back over the checkout's by the online
// backup API (as the app user, the app stopped). One never copied is left as it is.
async function copyDatabasesBack(
  plan: AdoptPlan,
  shared: string,
  // Only whole copies (one cut short is never copied over the original), and only those the app
  // changed since: the original is left byte for byte as it was otherwise.
  copied: Map<string, string>,
  asUser: RunOptions,
): Promise<void> {
  for (const db of plan.checkout.databases.filter((d) => copied.has(d))) {
    const copy = path.join(shared, db);
    if (!(await lstat(copy).catch(() => undefined))?.isFile()) continue;
    if ((await contentHash(copy, asUser)) === copied.get(db)) continue;
    const original = path.join(plan.aside, db);
    await run(
      "sqlite3",
      ["-batch", "-bail", "-init", "/dev/null", original, `.restore ${shellQuoted(copy)}`],
      {
        ...asUser,
        timeoutMs: 30 * 60_000,
      },
    );
  }
}

// Copy a SQLite file by the online backup API, as the app user, keeping its mode; returns the hash
// of the copy's content.
async function backupAsUser(from: string, to: string, asUser: RunOptions): Promise<string> {
  await run(
    "sqlite3",
    ["-readonly", "-batch", "-bail", "-init", "/dev/null", from, `.backup ${shellQuoted(to)}`],
    {
      ...asUser,
      timeoutMs: 30 * 60_000,
    },
  );
  await run("chmod", ["--reference", from, "--", to], asUser);
  return contentHash(to, asUser);
}

async function contentHash(file: string, asUser: RunOptions): Promise<string> {
  const result = await run(
    "sqlite3",
    ["-readonly", "-batch", "-bail", "-init", "/dev/null", file, ".sha3sum"],
    {
      ...asUser,
      timeoutMs: 30 * 60_000,
    },
  );
  return result.stdout.trim();
}

// A path as one argument of a sqlite3 dot-command: double-quoted, backslash and quote escaped.
function shellQuoted(file: string): string {
  return `"${file.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

async function snapshot(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch(() => undefined);
}

// Put files back as they were: the old bytes, or no file (and no drop-in directory left empty
// that was not there).
async function restoreFiles(files: string[], before: (string | undefined)[]): Promise<void> {
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

async function restoreConfig(
  config: { file: string; merged: MergedConfig },
  mode: number,
): Promise<void> {
  if (config.merged.before === undefined) await rm(config.file, { force: true });
  else await writeDurably(config.file, config.merged.before, mode);
}

// Remove the layout the adoption made (root's directory, the app user's files inside): through a
// pinned parent, never following a link.
async function removeDir(dir: string, made: { dev: number; ino: number }): Promise<void> {
  const found = await lstat(dir).catch(() => undefined);
  if (!found) return;
  // Only the directory the adoption made: never a checkout someone put back meanwhile.
  if (!found.isDirectory() || found.uid !== 0 || found.dev !== made.dev || found.ino !== made.ino) {
    throw new Error(`${dir} is no longer the layout this adoption made: left as it is`);
  }
  await withPinnedDir(path.dirname(dir), (parent) => removeTree(parent, path.basename(dir)));
}
