// What an in-place git checkout holds, as `agent adopt` needs to know it: its commit and branch,
// whether its tracked files are as committed, and which untracked files are the app's data (to
// keep in shared/) and which are rebuilt by every deploy (virtualenvs, bytecode).
//
// The checkout is the app user's (or whoever deployed it by hand): git runs as its owner, with
// hooks and fsmonitor switched off, so nothing in its .git/config runs with root's rights; files
// are read without following links and within bounds.
import { lstat } from "node:fs/promises";
import path from "node:path";
import { readSmallPath } from "../fs/bounded-read.js";
import { gitEnv } from "../git/env.js";
import { FULL_SHA } from "../git/revisions.js";
import { run } from "../system/run.js";

export type DataKind = "sqlite" | "env" | "directory" | "file" | "symlink";

export interface DataEntry {
  // Relative to the checkout, no trailing slash: "app_dev.db", ".env", "static/uploads".
  path: string;
  kind: DataKind;
}

export interface CheckoutFacts {
  dir: string;
  owner: { uid: number; gid: number };
  head: string;
  // The checked-out branch; undefined when HEAD is detached.
  branch?: string;
  // Tracked files that differ from the commit (modified, deleted, staged, conflicted).
  dirty: string[];
  data: DataEntry[];
  // Every SQLite file among the data, top-level or inside a data directory: copied by the online
  // backup API, never by cp.
  databases: string[];
  // Rebuilt by the install hook, never copied: virtualenvs, __pycache__, tool caches.
  rebuilt: string[];
  // The virtualenv the app runs from (a directory with pyvenv.cfg), if any, and whether it sees
  // the system's packages (then the first release's venv must too).
  venv?: { path: string; systemSitePackages: boolean };
  // requirements.txt is tracked: the install hook can build the venv from it.
  requirements: boolean;
}

// More than this and git status is not read whole: the adoption is refused.
const STATUS_MAX_BYTES = 32 * 1024 * 1024;
// Links per release: beyond this, data belongs in a directory of its own.
const MAX_DATA_ENTRIES = 200;
// Files a directory tracks only so that git keeps it.
const PLACEHOLDER = /^(?:\.gitkeep|\.keep|\.gitignore|README(?:\.\w+)?)$/;

// Directory and file names that every deploy rebuilds.
const REBUILT_DIRS = new Set([
  "__pycache__",
  ".pytest_cache",
  ".mypy_cache",
  ".ruff_cache",
  "node_modules",
  ".tox",
]);
const REBUILT_FILE = /\.(?:pyc|pyo)$/;
// SQLite's own companions of a DB file: carried by the online backup of the DB, never copied.
const COMPANION = /-(?:wal|shm|journal)$/;
const SQLITE_HEADER = "SQLite format 3\0";

export class CheckoutError extends Error {
  override name = "CheckoutError";
}

// Run git in the checkout as its owner: discovery stops at the checkout, nothing configured in
// it runs (hooks, fsmonitor), and its own config may not turn on a pager or a prompt.
async function gitIn(
  dir: string,
  owner: { uid: number; gid: number },
  args: string[],
  maxBuffer?: number,
) {
  const env = gitEnv();
  return run(
    "git",
    [
      // git status would otherwise refresh .git/index: an adoption reads the checkout, never writes it.
      "--no-optional-locks",
      "-C",
      dir,
      "-c",
      "core.fsmonitor=false",
      "-c",
      "core.hooksPath=/dev/null",
      "-c",
      `safe.directory=${dir}`,
      ...args,
    ],
    {
      cleanEnv: true,
      env: { ...env, HOME: "/nonexistent", GIT_CEILING_DIRECTORIES: path.dirname(dir) },
      uid: owner.uid,
      gid: owner.gid,
      timeoutMs: 120_000,
      reject: false,
      // The beginning, where git puts the changes to tracked files, is what must not be lost.
      ...(maxBuffer ? { maxBuffer, keepHead: true } : {}),
    },
  );
}

// Read the checkout at `dir`, running git as `owner` (the app's user, never root: a .git the app
// user could swap would otherwise run its filters as root). Throws CheckoutError when it is not a
// git work tree.
export async function readCheckout(
  dir: string,
  owner: { uid: number; gid: number },
): Promise<CheckoutFacts> {
  const gitDir = await lstat(path.join(dir, ".git")).catch(() => undefined);
  if (!gitDir?.isDirectory()) {
    throw new CheckoutError(`${dir} is not a git checkout (no .git directory)`);
  }
  if (owner.uid === 0) throw new CheckoutError("git does not run as root in an app's checkout");
  const head = await gitIn(dir, owner, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
  const sha = head.stdout.trim();
  if (head.exitCode !== 0 || !FULL_SHA.test(sha)) {
    throw new CheckoutError(`${dir} has no commit checked out (git rev-parse HEAD failed)`);
  }
  const branch = (await gitIn(dir, owner, ["symbolic-ref", "--short", "-q", "HEAD"])).stdout.trim();
  const status = await gitIn(
    dir,
    owner,
    [
      "status",
      "--porcelain=v1",
      "-z",
      "--untracked-files=normal",
      "--ignored=traditional",
      "--no-renames",
    ],
    STATUS_MAX_BYTES,
  );
  if (status.stdout.length >= STATUS_MAX_BYTES) {
    throw new CheckoutError(
      `git status in ${dir} says more than ${STATUS_MAX_BYTES} bytes: too many files to adopt as they are`,
    );
  }
  if (status.exitCode !== 0) {
    throw new CheckoutError(`git status in ${dir} failed: ${status.stderr.trim().split("\n")[0]}`);
  }
  const dirty: string[] = [];
  const loose: string[] = [];
  for (const record of status.stdout.split("\0")) {
    if (record.length < 4) continue;
    const code = record.slice(0, 2);
    const file = record.slice(3);
    // git runs as the app user: its output is the app user's too. Only plain relative paths.
    if (!plainPath(file)) {
      throw new CheckoutError(
        `${dir} holds a path the agent will not handle: ${JSON.stringify(file).slice(0, 200)}`,
      );
    }
    if (code === "??" || code === "!!") loose.push(file);
    else dirty.push(file);
  }
  const tracked = await gitIn(dir, owner, ["ls-files", "-z", "--", "requirements.txt"]);
  const facts: CheckoutFacts = {
    dir,
    owner,
    head: sha,
    ...(branch ? { branch } : {}),
    dirty: dirty.sort(),
    data: [],
    databases: [],
    rebuilt: [],
    requirements: tracked.stdout.split("\0").includes("requirements.txt"),
  };
  const sqlite = new Set<string>();
  const classified = await Promise.all(loose.map((file) => classify(dir, file)));
  for (const { file, kind, venv } of classified) {
    if (kind === "rebuilt") {
      facts.rebuilt.push(file);
      if (venv && !facts.venv) facts.venv = venv;
    } else {
      facts.data.push({ path: file, kind });
      if (kind === "sqlite") sqlite.add(file);
    }
  }
  // A DB's -wal/-shm travel inside its online backup, so they are neither copied nor linked.
  facts.data = facts.data.filter((entry) => {
    const base = entry.path.replace(COMPANION, "");
    return !(COMPANION.test(entry.path) && sqlite.has(base));
  });
  facts.data = await collapseIntoDirectories(dir, owner, facts.data);
  if (facts.data.length > MAX_DATA_ENTRIES) {
    throw new CheckoutError(
      `${dir} has ${facts.data.length} untracked files or directories to keep: more than ${MAX_DATA_ENTRIES} links per release; move them into a directory first`,
    );
  }
  facts.data.sort((a, b) => a.path.localeCompare(b.path));
  facts.databases = [
    ...facts.data.filter((d) => d.kind === "sqlite").map((d) => d.path),
    ...(await sqliteInside(dir, facts.data)),
  ];
  facts.rebuilt.sort();
  return facts;
}

// Untracked files that share a directory whose tracked files are only placeholders (uploads/ with
// a .gitkeep) are that directory's contents: it is linked whole, so what the app adds later goes
// to shared/ too.
async function collapseIntoDirectories(
  dir: string,
  owner: { uid: number; gid: number },
  data: DataEntry[],
): Promise<DataEntry[]> {
  const byParent = new Map<string, DataEntry[]>();
  for (const entry of data) {
    const parent = path.dirname(entry.path);
    if (parent !== ".") byParent.set(parent, [...(byParent.get(parent) ?? []), entry]);
  }
  let result = data;
  for (const [parent, entries] of byParent) {
    const listed = await gitIn(dir, owner, ["ls-files", "-z", "--", parent]);
    const tracked = listed.stdout.split("\0").filter(Boolean);
    if (!tracked.every((f) => PLACEHOLDER.test(path.basename(f)))) continue;
    if (entries.some((e) => e.kind === "sqlite") && entries.length === 1) continue;
    result = result.filter((e) => path.dirname(e.path) !== parent);
    result.push({ path: parent, kind: "directory" });
  }
  // One linked path inside another would be a link inside a link: the outer one carries it.
  return result.filter(
    (e) => !result.some((outer) => outer !== e && e.path.startsWith(`${outer.path}/`)),
  );
}

// SQLite files inside the data directories (instance/app.db): copied by the online backup API
// like a top-level one, never by cp. A bounded search: the first files of each directory.
async function sqliteInside(dir: string, data: DataEntry[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of data.filter((d) => d.kind === "directory")) {
    const listed = await run(
      "find",
      [
        path.join(dir, entry.path),
        "-maxdepth",
        "3",
        "-type",
        "f",
        "-links",
        "1",
        "-printf",
        "%P\\0",
      ],
      { reject: false, timeoutMs: 60_000, maxBuffer: 4 * 1024 * 1024, keepHead: true },
    );
    const files = listed.stdout.split("\0").filter(Boolean).slice(0, 2000);
    for (const rel of files) {
      if (COMPANION.test(rel) || !plainPath(rel)) continue;
      const file = path.join(dir, entry.path, rel);
      const header = await readSmallPath(file, 16).catch(() => undefined);
      if (header?.toString("latin1") === SQLITE_HEADER) found.push(path.join(entry.path, rel));
    }
  }
  return found;
}

// Relative, no empty, "." or ".." part, no control characters.
function plainPath(file: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (file === "" || file.startsWith("/") || /[\x00-\x1f\x7f]/.test(file)) return false;
  return file
    .replace(/\/+$/, "")
    .split("/")
    .every((part) => part !== "" && part !== "." && part !== "..");
}

interface Classified {
  file: string;
  kind: DataKind | "rebuilt";
  venv?: { path: string; systemSitePackages: boolean };
}

// One untracked or ignored entry (git lists a wholly untracked directory once, with a slash).
async function classify(dir: string, listed: string): Promise<Classified> {
  const file = listed.replace(/\/+$/, "");
  const base = path.basename(file);
  const full = path.join(dir, file);
  const stats = await lstat(full).catch(() => undefined);
  if (!stats) return { file, kind: "file" };
  if (stats.isSymbolicLink()) return { file, kind: "symlink" };
  if (stats.isDirectory()) {
    if (REBUILT_DIRS.has(base) || base.endsWith(".egg-info")) return { file, kind: "rebuilt" };
    const cfg = await readSmallPath(path.join(full, "pyvenv.cfg"), 4096).catch(() => undefined);
    if (cfg) {
      const system = /^\s*include-system-site-packages\s*=\s*true\s*$/im.test(cfg.toString("utf8"));
      return { file, kind: "rebuilt", venv: { path: file, systemSitePackages: system } };
    }
    return { file, kind: "directory" };
  }
  if (!stats.isFile()) return { file, kind: "file" };
  if (REBUILT_FILE.test(base)) return { file, kind: "rebuilt" };
  if (base === ".env" || base.startsWith(".env.")) return { file, kind: "env" };
  const header = await readSmallPath(full, 16).catch(() => undefined);
  if (header?.toString("latin1") === SQLITE_HEADER) return { file, kind: "sqlite" };
  return { file, kind: "file" };
}
