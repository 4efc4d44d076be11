// Whether a file root is about to trust (an allowed-signers file: whoever can write it decides
// what root deploys) is root's alone: a regular file, not a link, owned by root and writable by
// no one else, in directories that only root may change (root's sticky directories, where others
// may create but not replace root's entries, are fine above it).
import { lstat } from "node:fs/promises";
import path from "node:path";

// What is wrong with `file`, or undefined when only root can change what it says.
export async function rootOnlyFileProblem(file: string): Promise<string | undefined> {
  const absolute = path.resolve(file);
  const stats = await lstat(absolute).catch((error: NodeJS.ErrnoException) => error);
  if (stats instanceof Error) return `${absolute}: cannot be read (${stats.code ?? stats.message})`;
  if (stats.isSymbolicLink()) return `${absolute}: a symbolic link (name the file itself)`;
  if (!stats.isFile()) return `${absolute}: not a regular file`;
  const own = ownerProblem(absolute, stats.uid, stats.mode, false);
  if (own) return own;
  for (let dir = path.dirname(absolute); ; dir = path.dirname(dir)) {
    const d = await lstat(dir);
    const problem = d.isSymbolicLink()
      ? `${dir}: a symbolic link above the file`
      : ownerProblem(dir, d.uid, d.mode, true);
    if (problem) return problem;
    if (dir === "/") return undefined;
  }
}

function ownerProblem(where: string, uid: number, mode: number, dir: boolean): string | undefined {
  const me = process.geteuid?.() ?? 0;
  const sticky = dir && uid === 0 && (mode & 0o1000) !== 0;
  const perms = (mode & 0o7777).toString(8).padStart(3, "0");
  if (uid !== 0 && uid !== me) return `${where}: owned by uid ${uid}, not root`;
  if ((mode & 0o022) !== 0 && !sticky) {
    return `${where}: writable by group or others (mode ${perms})`;
  }
  return undefined;
}
