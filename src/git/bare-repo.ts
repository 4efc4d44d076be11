// The app's object store: a bare repository at <app.dir>/repo, a cache of the remote. Created on
// first use, checked before each fetch, and moved aside and fetched afresh when it is damaged
// (a power cut mid-write, a garbage HEAD, a missing pack) or not root's alone.
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { mkdir, readdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import { withPinnedDir } from "../fs/pinned-dir.js";
import { removeTree } from "../fs/remove-tree.js";
import { git } from "./git.js";

// Create the bare repository if it is missing. It is initialised under a temporary name and
// renamed into place, so a power cut can never leave a half-initialised repo/ that later
// fetches would trip over.
export async function ensureBareRepo(dir: string): Promise<void> {
  if (await isBareRepo(dir)) return;
  // A repo/ without HEAD is debris (e.g. created by hand): start over rather than guess.
  await removeSibling(dir);
  const temp = `${dir}.tmp-${process.pid}`;
  await removeSibling(temp);
  await mkdir(temp, { mode: 0o755 });
  try {
    await git(temp, ["init", "--bare", "--quiet"]);
    await rename(temp, dir);
  } catch (error) {
    await removeSibling(temp);
    throw new Error(`cannot create bare repository ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

// Whether dir looks like a bare repository (has HEAD and objects/).
export async function isBareRepo(dir: string): Promise<boolean> {
  const head = await stat(path.join(dir, "HEAD")).catch(() => undefined);
  const objects = await stat(path.join(dir, "objects")).catch(() => undefined);
  return !!head?.isFile() && !!objects?.isDirectory();
}

// Why the repository cannot be used as it is, or undefined when it is sound. Root runs git in it,
// and git runs programs that its config and hooks name: anything in it that is not root's, or
// that others can write, could make root run someone else's code. Then git itself must accept
// it, and every ref must name an object that is there (a ref half-written at a power cut names
// garbage or nothing).
export async function repoProblem(dir: string): Promise<string | undefined> {
  if (!(await isBareRepo(dir))) return `${dir} is not a bare repository`;
  // One walk of the tree: the first entry not owned by root, or writable by group or others
  // (symlinks match too: their mode is 777, and git creates none in a bare repository). Before git
  // runs in it.
  let foreign: string | undefined;
  try {
    foreign = firstForeignEntry(dir);
  } catch (error) {
    return `cannot walk ${dir}: ${(error as Error).message}`;
  }
  if (foreign) return `${foreign} is not root's alone`;
  // Then git itself must accept it and read every ref and the object each names: %(objecttype)
  // reads the object, so a ref half-written at a power cut (garbage, or naming nothing) fails
  // here, in one git run.
  const refs = await git(dir, ["for-each-ref", "--format=%(objecttype) %(objectname) %(refname)"], {
    reject: false,
  });
  // git skips a ref whose file is garbage with only a warning ("ignoring broken ref"); for a
  // cache that is damage all the same.
  if (refs.exitCode !== 0 || refs.stderr.trim() !== "") {
    return `refs of ${dir} are unreadable or name missing objects: ${firstLine(refs.stderr) || `git exit ${refs.exitCode}`}`;
  }
  return undefined;
}

// Whether every object of the commit's tree is in the repository: what the build will read. A
// pack lost at a power cut is found here, before anything is built from it.
export async function commitComplete(dir: string, sha: string): Promise<boolean> {
  const result = await git(dir, ["rev-list", "--objects", "--quiet", "--no-walk", sha], {
    reject: false,
    timeoutMs: 10 * 60_000,
  });
  return result.exitCode === 0;
}

// Move a damaged repository aside (kept for a person to look at, named in the log) so the next
// fetch starts afresh; only the newest such copy is kept.
export async function quarantineRepo(dir: string): Promise<string> {
  const parent = path.dirname(dir);
  const aside = `${dir}.damaged-${new Date().toISOString().replace(/[-:.]/g, "")}`;
  for (const old of await readdir(parent)) {
    if (old.startsWith(`${path.basename(dir)}.damaged-`))
      await removeSibling(path.join(parent, old));
  }
  await rename(dir, aside);
  return aside;
}

// Remove a directory beside repo/ (in the app directory, which is root's), whatever is in it: a
// damaged repository may hold files the app user could still be changing.
async function removeSibling(dir: string): Promise<void> {
  await withPinnedDir(path.dirname(dir), (parent) => removeTree(parent, path.basename(dir)));
}

// Most entries a walk looks at: far more than a repository has (git packs loose objects long
// before), so a walk never runs on unbounded.
const MAX_ENTRIES = 200_000;

// The first entry under `dir` (itself included) not owned by root or writable by group or
// others, or undefined; symlinks are looked at, never followed. In the agent's own process (it
// was `find`): a repository is a few dozen entries, and a child process cost more than the walk.
// Synchronous on purpose: each step is one lstat of root's own directory tree, and a walk of
// thousands of loose objects takes milliseconds.
export function firstForeignEntry(dir: string): string | undefined {
  const foreign = (stats: Stats) => stats.uid !== 0 || (stats.mode & 0o022) !== 0;
  const top = lstatSync(dir);
  if (foreign(top)) return dir;
  if (!top.isDirectory()) return undefined;
  const pending = [dir];
  let seen = 0;
  for (let at = pending.pop(); at !== undefined; at = pending.pop()) {
    for (const name of readdirSync(at)) {
      if (++seen > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} entries`);
      const entry = path.join(at, name);
      const stats = lstatSync(entry);
      if (foreign(stats)) return entry;
      if (stats.isDirectory()) pending.push(entry);
    }
  }
  return undefined;
}

function firstLine(text: string): string {
  return (text.trim().split("\n")[0] ?? "").slice(0, 200);
}
