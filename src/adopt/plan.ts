// `agent adopt`, part 1: read how the app runs today (its unit, its checkout, its remote, its
// health answer) and decide everything the adoption will do, changing nothing. A refusal names
// the reason; the plan is what `--dry-run` prints and what execute.ts carries out.
import { lstat, mkdtemp, readdir, readFile, readlink, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { askOnce } from "../check/version-probe.js";
import { STATE_DIR } from "../config/paths.js";
import type { AppConfig, HealthConfig } from "../config/schema.js";
import { readSmallPath } from "../fs/bounded-read.js";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { ensureBareRepo } from "../git/bare-repo.js";
import { displayUrl } from "../git/display-url.js";
import { fetchWithDeadline } from "../git/fetch.js";
import { branchNameProblem } from "../git/ref-name.js";
import { checkedRemoteAccess } from "../git/remote-access.js";
import { countCommitsBetween, hasCommit, isAncestor, resolveCommit } from "../git/revisions.js";
import { printable } from "../output/sanitize.js";
import { releaseName } from "../release/layout.js";
import { lookupUser, nameOfId } from "../system/accounts.js";
import { run } from "../system/run.js";
import { type CapistranoPlan, capistranoRoot, planCapistrano } from "./capistrano.js";
import { type CheckoutFacts, type DataEntry, readCheckout } from "./checkout.js";
import {
  baseUrlFromBind,
  environmentLine,
  execStartLine,
  gunicornSettings,
  parseExecStartJson,
  parseUnitShow,
  readGunicornArgv,
  readGunicornConfig,
  rewritePathPrefix,
  SHOW_PROPERTIES,
  type UnitFacts,
  unitObjectPath,
} from "./unit-reading.js";

export interface AdoptOptions {
  service: string;
  repo: string;
  // A private remote's access, as repo.ssh_key / known_hosts / token_file (written to the entry).
  sshKey?: string;
  knownHosts?: string;
  tokenFile?: string;
  branch?: string;
  health?: string;
  workers?: number;
  configFile: string;
}

export interface DropIn {
  path: string;
  text: string;
}

export interface AdoptPlan {
  name: string;
  service: string;
  // The app directory: today the checkout, after the adoption the agent's layout.
  dir: string;
  // Where the checkout is kept, whole, once the layout takes its place.
  aside: string;
  user: string;
  group: string;
  checkout: CheckoutFacts;
  url: string;
  branch: string;
  // Commits the branch has beyond the checkout's (the next sync deploys them).
  behind: number;
  workers: number;
  workersFrom: string;
  healthUrl: string;
  database?: { from: string; to: string; mode: number };
  data: DataEntry[];
  linked: string[];
  unitDropIn: DropIn;
  agentDropIns: DropIn[];
  entry: Record<string, unknown>;
  notes: string[];
  // Whether the unit was running: only then is it started again when the adoption fails.
  wasActive: boolean;
}

// An adoption that cannot go ahead; nothing was changed.
export class AdoptRefusal extends Error {
  override name = "AdoptRefusal";
}

export const UNIT_DROP_IN = "deploy-agent-adopt.conf";
const AGENT_UNITS = ["deploy-agent.service", "deploy-agent-sync.service"];

export interface AdoptedUnit {
  service: string;
  name: string;
  unit: UnitFacts;
  dir: string;
  // Per EnvironmentFiles entry: whether systemd ignores it missing ("-" in the unit).
  optionalFiles: boolean[];
  // The unit's files (fragment and drop-ins).
  files: string[];
}

// The unit, read and checked: it exists, runs as a user of its own from a directory.
export async function readAdoptedUnit(options: AdoptOptions): Promise<AdoptedUnit> {
  const service = options.service.endsWith(".service")
    ? options.service
    : `${options.service}.service`;
  const name = service.slice(0, -".service".length);
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(name)) {
    throw new AdoptRefusal(
      `${service}: the app would be named "${name}", which is not a valid app name`,
    );
  }
  // The whole `systemctl show` text: a property may come on several lines (EnvironmentFiles=).
  const shown = await run("systemctl", [
    "show",
    "--no-pager",
    ...[...SHOW_PROPERTIES, "DropInPaths"].map((p) => `--property=${p}`),
    "--",
    service,
  ]);
  const unit = parseUnitShow(shown.stdout);
  if (unit.loadState !== "loaded") throw new AdoptRefusal(`no unit ${service} on this host`);
  // `systemctl show` joins argv with spaces; D-Bus gives it exactly, with the program's path.
  const exact = await run(
    "busctl",
    [
      "--json=short",
      "get-property",
      "org.freedesktop.systemd1",
      unitObjectPath(service),
      "org.freedesktop.systemd1.Service",
      "ExecStart",
    ],
    { reject: false, timeoutMs: 10_000 },
  );
  if (exact.exitCode !== 0) {
    throw new AdoptRefusal(
      `cannot read ${service}'s command exactly from systemd (busctl: ${exact.stderr.trim().split("\n")[0]})`,
    );
  }
  unit.execCommands = parseExecStartJson(exact.stdout);
  unit.execStart = unit.execCommands.map((c) => c.argv);
  // The files the unit is made of (root's, under /etc or /lib): read for settings that name the
  // checkout and that the drop-in would not move.
  const files = [
    unit.fragmentPath,
    ...(/^DropInPaths=(.*)$/m.exec(shown.stdout)?.[1] ?? "").split(" ").filter(Boolean),
  ].filter(Boolean);
  const dir = unit.workingDirectory;
  if (!dir || !path.isAbsolute(dir) || dir === "/") {
    throw new AdoptRefusal(`${service} sets no WorkingDirectory: where its checkout is is unknown`);
  }
  // The directory is written into unit settings and agent.yaml: plain path characters only (no
  // "%" specifier, no blank that would split ReadWritePaths=, no quote).
  if (!/^(?:\/[A-Za-z0-9._@+-]+)+$/.test(dir)) {
    throw new AdoptRefusal(
      `${dir}: only letters, digits and . _ @ + - are handled in the directory's path`,
    );
  }
  if (!unit.user || unit.user === "root" || unit.user === "0") {
    throw new AdoptRefusal(
      `${service} runs as root: set User= (the account the app runs as) before adopting it`,
    );
  }
  const optionalFiles = [
    ...shown.stdout.matchAll(/^EnvironmentFiles=.* \(ignore_errors=(yes|no)\)$/gm),
  ].map((m) => m[1] === "yes");
  return { service, name, unit, dir, optionalFiles, files };
}

export async function planAdoption(
  options: AdoptOptions,
): Promise<{ kind: "checkout"; plan: AdoptPlan } | { kind: "capistrano"; plan: CapistranoPlan }> {
  const adopted = await readAdoptedUnit(options);
  const root = await capistranoRoot(adopted.dir);
  if (root) return { kind: "capistrano", plan: await planCapistrano(options, adopted, root) };
  return { kind: "checkout", plan: await planCheckout(options, adopted) };
}

async function planCheckout(options: AdoptOptions, adopted: AdoptedUnit): Promise<AdoptPlan> {
  const { service, name, unit, dir } = adopted;
  // The drop-in moves four settings under current/; any other naming the checkout would break.
  const stray = await settingsNaming(adopted.files, dir);
  if (stray.length > 0) {
    throw new AdoptRefusal(
      `${service} names ${dir} in ${stray.join(", ")}, which adopting would not move: change them to ${dir}/current first, or remove them`,
    );
  }
  // Whoever may rename entries in a parent could put a directory (or a link) of its own where root
  // is about to make the layout.
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    const stats = await lstat(parent);
    const sticky = (stats.mode & 0o1000) !== 0;
    if (stats.uid !== 0 || ((stats.mode & 0o022) !== 0 && !sticky)) {
      throw new AdoptRefusal(
        `${parent} is not root's alone (owner uid ${stats.uid}, mode ${(stats.mode & 0o7777).toString(8)}): the app directory's parents must be, before root lays the app out there`,
      );
    }
    if (parent === "/") break;
  }
  const account = await lookupUser(unit.user);
  if (!account) throw new AdoptRefusal(`${service} runs as ${unit.user}, who is not on this host`);
  const checkout = await readCheckout(dir, account).catch((error: Error) => {
    throw new AdoptRefusal(error.message);
  });
  if (checkout.dirty.length > 0) {
    const listed = checkout.dirty.slice(0, 20).join(", ");
    const more = checkout.dirty.length > 20 ? ` and ${checkout.dirty.length - 20} more` : "";
    throw new AdoptRefusal(
      `${dir} has changes to tracked files (${listed}${more}): commit and push them, or discard them, first`,
    );
  }
  const group = unit.group || (await nameOfId("group", checkout.owner.gid));
  const { workers, workersFrom, bind } = await workerCount(unit, dir, options.workers);
  const strangers = await otherProcessesIn(dir, service);
  if (strangers.length > 0) {
    throw new AdoptRefusal(
      `processes other than ${service} run in ${dir} (${strangers.slice(0, 5).join("; ")}): they would keep writing the checkout after it moved aside; stop them first`,
    );
  }
  const branch = options.branch ?? checkout.branch ?? "main";
  const branchProblem = branchNameProblem(branch);
  if (branchProblem) throw new AdoptRefusal(`--branch ${branch}: ${branchProblem}`);
  const behind = await remoteHasCommit(repoEntry(options, branch), checkout.head);
  const healthUrl = await healthUrlOf(bind, options.health);

  const aside = `${dir}.pre-adopt-${releaseName(checkout.head).split("-")[0]}`;
  const shared = path.join(dir, "shared");
  const notes: string[] = [];
  let database: AdoptPlan["database"];
  const [first, ...others] = checkout.databases;
  if (first) {
    const from = path.join(dir, first);
    const stats = await lstat(from);
    database = { from, to: path.join(shared, first), mode: stats.mode & 0o777 };
    if (others.length > 0) {
      notes.push(
        `${checkout.databases.length} SQLite files: ${first} is database.path (backed up on each deploy); ${others.join(", ")} copied the same way and linked`,
      );
    }
  }
  const linked = checkout.data.map((d) => d.path);
  const hooks = installHooks(checkout, notes);
  const entry: Record<string, unknown> = {
    dir,
    service,
    user: unit.user,
    group,
    repo: repoEntry(options, branch),
    ...(linked.length > 0 ? { linked } : {}),
    ...(hooks ? { hooks } : {}),
    ...(database
      ? { database: { path: database.to, mode: database.mode.toString(8).padStart(3, "0") } }
      : {}),
    processes: { master: 1, workers },
    health: { url: healthUrl },
  };
  const unitDropIn: DropIn = {
    path: path.join("/etc/systemd/system", `${service}.d`, UNIT_DROP_IN),
    text: unitDropInText(unit, dir, adopted.optionalFiles),
  };
  const agentDropIns = agentDropInsFor(name, service, dir);
  if (unit.activeState !== "active") {
    notes.push(
      `${service} is ${unit.activeState || "not active"} now; it is started on the new layout`,
    );
  }
  return {
    name,
    service,
    dir,
    aside,
    user: unit.user,
    group,
    checkout,
    url: options.repo,
    branch,
    behind,
    workers,
    workersFrom,
    healthUrl,
    ...(database ? { database } : {}),
    data: checkout.data,
    linked,
    unitDropIn,
    agentDropIns,
    entry,
    notes,
    wasActive: unit.activeState === "active",
  };
}

// Processes whose working directory is in `dir` and that are not the app's: a worker, a cron job,
// a shell. "pid comm (cgroup)" each.
async function otherProcessesIn(dir: string, service: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    if (!cwd || (cwd !== dir && !cwd.startsWith(`${dir}/`))) continue;
    const cgroup = unitCgroup(await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => ""));
    if (cgroup.endsWith(`/${service}`) || cgroup.includes(`/${service}/`)) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim();
    found.push(`pid ${pid} ${printable(comm, 40)} (${printable(cgroup, 80)})`);
  }
  return found;
}

// Every process whose working directory, or an open file, is in `dir` (after the app's stop there
// should be none): "pid comm".
export async function processesUsing(dir: string): Promise<string[]> {
  const inside = (target: string | undefined) =>
    target !== undefined && (target === dir || target.startsWith(`${dir}/`));
  const found: string[] = [];
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let uses = inside(await readlink(`/proc/${pid}/cwd`).catch(() => undefined));
    if (!uses) {
      for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
        if (inside(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined))) {
          uses = true;
          break;
        }
      }
    }
    if (!uses) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim();
    found.push(`pid ${pid} ${printable(comm, 40)}`);
  }
  return found;
}

// The systemd cgroup path from /proc/PID/cgroup: the unified line ("0::/system.slice/x.service"),
// or on a hybrid host the name=systemd one.
function unitCgroup(text: string): string {
  const lines = text.split("\n");
  const unified = lines.find((l) => l.startsWith("0::"));
  const named = lines.find((l) => l.includes(":name=systemd:"));
  const line = unified && unified !== "0::/" ? unified : (named ?? unified ?? "");
  return line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
}

// The agent's own units may write only under /srv (their sandbox): an app elsewhere gets a
// ReadWritePaths= drop-in for each.
export function agentDropInsFor(name: string, service: string, dir: string): DropIn[] {
  if (dir.startsWith("/srv/")) return [];
  return AGENT_UNITS.map((agentUnit) => ({
    path: path.join("/etc/systemd/system", `${agentUnit}.d`, `adopt-${name}.conf`),
    text: [
      `# Written by \`agent adopt ${service}\`: the agent's units may write the app's directory`,
      "# (outside /srv, which their sandbox leaves writable).",
      "[Service]",
      `ReadWritePaths=-${dir}`,
      "",
    ].join("\n"),
  }));
}

// gunicorn's worker count, from its command line, its config file or WEB_CONCURRENCY; --workers
// on our command line for an app that is not gunicorn (or to override what was read).
export async function workerCount(
  unit: UnitFacts,
  dir: string,
  given: number | undefined,
): Promise<{ workers: number; workersFrom: string; bind: string[] }> {
  if (unit.execStart.length !== 1) {
    throw new AdoptRefusal(
      `the unit has ${unit.execStart.length} ExecStart= lines: one command (the app's server) is expected`,
    );
  }
  // The program run, as gunicorn's own name for itself (an "@" unit's argv[0] may be anything).
  const command = unit.execCommands[0];
  const argv = command ? [command.path, ...command.argv.slice(1)] : (unit.execStart[0] as string[]);
  const facts = readGunicornArgv(argv, unit.environment);
  if (!facts.gunicorn && given === undefined) {
    throw new AdoptRefusal(
      `${argv[0] ?? "ExecStart"} is not gunicorn: say how many worker processes it runs with --workers N`,
    );
  }
  // gunicorn reads ./gunicorn.conf.py when no -c names a file; "python:module" is not a file.
  const named = facts.configFile?.replace(/^file:/, "") ?? "gunicorn.conf.py";
  let config: ReturnType<typeof readGunicornConfig> | undefined;
  if (facts.gunicorn && !named.startsWith("python:")) {
    const text = await readSmallPath(path.resolve(dir, named), 64 * 1024).catch(() => undefined);
    if (text) config = readGunicornConfig(text.toString("utf8"));
  }
  const settings = gunicornSettings(facts, config, unit.environment);
  if (given !== undefined) return { workers: given, workersFrom: "--workers", bind: settings.bind };
  return {
    workers: settings.workers,
    workersFrom: `gunicorn ${settings.workersFrom}`,
    bind: settings.bind,
  };
}

// Whether the remote has the checkout's commit; how far its branch is ahead of it. Fetched into a
// scratch repository of root's, removed afterwards.
// The entry's repo: the URL and branch, and a private remote's files when given.
export function repoEntry(options: AdoptOptions, branch: string): Record<string, string> {
  return {
    url: options.repo,
    branch,
    ...(options.sshKey ? { ssh_key: options.sshKey } : {}),
    ...(options.knownHosts ? { known_hosts: options.knownHosts } : {}),
    ...(options.tokenFile ? { token_file: options.tokenFile } : {}),
  };
}

export async function remoteHasCommit(
  entry: Record<string, string>,
  head: string,
): Promise<number> {
  const url = entry.url as string;
  const branch = entry.branch as string;
  // The key, host keys or token as every later fetch uses them (root's alone, or refused).
  const access = await checkedRemoteAccess(entry as unknown as AppConfig["repo"]).catch(
    (error: Error) => {
      throw new AdoptRefusal(error.message);
    },
  );
  const parent = await scratchParent();
  await sweepScratch(parent);
  const scratch = await mkdtemp(path.join(parent, SCRATCH_PREFIX));
  try {
    const repo = path.join(scratch, "repo");
    await ensureBareRepo(repo);
    await fetchWithDeadline(repo, url, ["+refs/heads/*:refs/heads/*"], {
      timeoutMs: 120_000,
      access,
    }).catch((error: Error) => {
      throw new AdoptRefusal(error.message);
    });
    const tip = await resolveCommit(repo, `refs/heads/${branch}`);
    const shown = displayUrl(url);
    if (!tip) throw new AdoptRefusal(`${shown} has no branch ${branch}`);
    if (!(await hasCommit(repo, head))) {
      throw new AdoptRefusal(
        `${shown} does not have the checkout's commit ${head.slice(0, 12)}: push it first (the agent deploys only what the remote has)`,
      );
    }
    if (!(await isAncestor(repo, head, tip))) {
      throw new AdoptRefusal(
        `the checkout's commit ${head.slice(0, 12)} is not in the history of ${branch} on ${shown}: the next sync would replace it with an unrelated commit; name the branch it is on with --branch`,
      );
    }
    return await countCommitsBetween(repo, head, tip);
  } finally {
    await withPinnedDir(path.dirname(scratch), (parent) =>
      removeTree(parent, path.basename(scratch)),
    ).catch(() => undefined);
  }
}

const SCRATCH_PREFIX = "adopt-scratch-";

// Scratch repositories an earlier adoption left when it was killed mid-fetch.
async function sweepScratch(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(SCRATCH_PREFIX))) {
    await withPinnedDir(parent, (dir) => removeTree(dir, name)).catch(() => undefined);
  }
}

// Root's own directory for the scratch repository: the state directory when it exists.
async function scratchParent(): Promise<string> {
  return (await stat(STATE_DIR).then(
    (s) => s.isDirectory(),
    () => false,
  ))
    ? STATE_DIR
    : os.tmpdir();
}

// The health URL: --health, or the bind address with /health (or / when /health is not there).
// It must answer now, with a JSON field "version" the agent can compare with the release.
export async function healthUrlOf(bind: string[], given: string | undefined): Promise<string> {
  const candidates: string[] = [];
  if (given) {
    if (!/^https?:\/\/\S+$/.test(given)) {
      throw new AdoptRefusal(`--health ${given}: expected an http:// or https:// URL`);
    }
    candidates.push(given);
  } else {
    const base = baseUrlFromBind(bind);
    if (!base) {
      throw new AdoptRefusal(
        `the app binds ${bind.join(", ")}, no TCP address the agent can reach: give --health URL`,
      );
    }
    candidates.push(`${base}/health`, `${base}/`);
  }
  const tried: string[] = [];
  for (const url of candidates) {
    const health = {
      url,
      timeout: 5_000,
      version_field: "version",
      pid_field: "pid",
    } as HealthConfig;
    const answer = await askOnce(health);
    if (answer.error) {
      tried.push(`${url}: ${answer.error}`);
      continue;
    }
    if (answer.version === null) {
      tried.push(
        `${url} answers without a JSON field "version" (the agent proves each deploy by it: serve the release's REVISION there)`,
      );
      continue;
    }
    return url;
  }
  throw new AdoptRefusal(`no health URL to verify the app by: ${tried.join("; ")}`);
}

// The install hook that rebuilds what the checkout built in place: its virtualenv, from
// requirements.txt, once per content of requirements.txt.
export function installHooks(
  checkout: Pick<CheckoutFacts, "venv" | "requirements">,
  notes: string[],
): Record<string, unknown> | undefined {
  const venv = checkout.venv;
  if (!venv) return undefined;
  const create = `python3 -m venv${venv.systemSitePackages ? " --system-site-packages" : ""} ${venv.path}`;
  if (!checkout.requirements) {
    notes.push(
      `${venv.path} is a virtualenv but requirements.txt is not tracked: the hook creates an empty one; write hooks.install to fill it`,
    );
    return { install: create };
  }
  return {
    install: `${create} && ${venv.path}/bin/pip install --disable-pip-version-check -q -r requirements.txt`,
    install_cache: { key: ["requirements.txt"], path: venv.path },
  };
}

// Settings of the unit's files, other than those the drop-in rewrites, whose value names `dir`.
const REWRITTEN = new Set(["WorkingDirectory", "ExecStart", "Environment", "EnvironmentFile"]);
async function settingsNaming(files: string[], dir: string): Promise<string[]> {
  const found = new Set<string>();
  for (const file of files) {
    // A line ending in a backslash goes on in the next (systemd.syntax).
    const text = (await readFile(file, "utf8").catch(() => "")).replace(/\\\n/g, " ");
    for (const line of text.split("\n")) {
      const setting = /^\s*([A-Za-z]+)\s*=(.*)$/.exec(line);
      if (!setting?.[1] || REWRITTEN.has(setting[1])) continue;
      const value = setting[2] ?? "";
      if (rewritePathPrefix(value, dir, path.join(dir, "current")) !== value)
        found.add(`${setting[1]}=`);
    }
  }
  return [...found].sort();
}

// The app's unit, pointed at the live release: WorkingDirectory, and every path of the checkout
// its command line, environment and environment files name, moved under current/.
function unitDropInText(unit: UnitFacts, dir: string, optionalFiles: boolean[]): string {
  const current = path.join(dir, "current");
  const lines = [
    "# Written by `agent adopt`: the app runs from the live release the agent deploys.",
    "[Service]",
    `WorkingDirectory=${current}`,
  ];
  const command = unit.execCommands[0];
  const argv = (command?.argv ?? []).map((arg) => rewritePathPrefix(arg, dir, current));
  const line = execStartLine(argv, {
    // "@path argv0": only for a unit that runs a program under another name.
    ...(command && command.path !== command.argv[0]
      ? { path: rewritePathPrefix(command.path, dir, current) }
      : {}),
    ignoreErrors: command?.ignoreErrors ?? false,
  });
  lines.push("ExecStart=", `ExecStart=${line}`);
  for (const [key, value] of Object.entries(unit.environment)) {
    const moved = rewritePathPrefix(value, dir, current);
    if (moved !== value) lines.push(`Environment=${environmentLine(key, moved)}`);
  }
  const files = unit.environmentFiles.map((f) => rewritePathPrefix(f, dir, current));
  if (files.some((f, i) => f !== unit.environmentFiles[i])) {
    // "-": a missing file is no error, as systemd printed "(ignore_errors=yes)" for it.
    const optional = (i: number) => (optionalFiles[i] ? "-" : "");
    lines.push("EnvironmentFile=", ...files.map((f, i) => `EnvironmentFile=${optional(i)}${f}`));
  }
  return `${lines.join("\n")}\n`;
}
