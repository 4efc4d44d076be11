// Questions about commits in the bare repository: resolve a name, count commits between two.
import path from "node:path";
import { readSmallPath } from "../fs/bounded-read.js";
import { git, gitOutput } from "./git.js";

// A full object name as git prints it: SHA-1 (40) or SHA-256 (64) hex digits.
export const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

// The full sha of the commit `rev` names, or undefined when the repository has no such commit.
export async function resolveCommit(repoDir: string, rev: string): Promise<string | undefined> {
  try {
    // `--end-of-options`: a name that starts with "-" is a name, never an option.
    const sha = await gitOutput(repoDir, [
      "rev-parse",
      "--verify",
      "--quiet",
      "--end-of-options",
      `${rev}^{commit}`,
    ]);
    return FULL_SHA.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

// How many commits `to` has that `from` lacks (git rev-list --count from..to).
export async function countCommitsBetween(
  repoDir: string,
  from: string,
  to: string,
): Promise<number> {
  return Number(
    await gitOutput(repoDir, ["rev-list", "--count", "--end-of-options", `${from}..${to}`]),
  );
}

// Whether the repository holds the commit object `sha` (a fresh repo/ may not know an old one).
export async function hasCommit(repoDir: string, sha: string): Promise<boolean> {
  return (await resolveCommit(repoDir, sha)) !== undefined;
}

// Whether `ancestor` is `descendant` or in its history (git merge-base --is-ancestor), as far as
// this repository can tell: when it lacks either commit, the answer is false, not an error (a
// commit it does not hold is in the history of none it holds, and one it lacks proves nothing).
export async function isAncestor(
  repoDir: string,
  ancestor: string,
  descendant: string,
): Promise<boolean> {
  // One git run in the usual case; the two lookups only when git's answer needs explaining.
  const result = await git(
    repoDir,
    ["merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant],
    { reject: false },
  );
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  const [a, d] = await Promise.all([hasCommit(repoDir, ancestor), hasCommit(repoDir, descendant)]);
  if (!a || !d) return false;
  throw new Error(
    `git merge-base --is-ancestor ${ancestor.slice(0, 12)} ${descendant.slice(0, 12)}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
  );
}

// Whether refs/heads/<branch> of the bare repository `repoDir` is exactly `sha`, read from git's
// own files (the loose ref, else packed-refs) instead of asking a `git rev-parse`: a no-op sync
// and every `agent check` ask this of the live commit, and a process start costs more than the
// answer. Only a plain, exact match is a yes; anything else (a symbolic ref, a file too big or
// not a file, a repository in another format) is a no, and the caller asks git. `branch` is a
// configured branch, valid by branchNameProblem, so it names a path inside refs/heads/.
export async function branchAt(repoDir: string, branch: string, sha: string): Promise<boolean> {
  if (!FULL_SHA.test(sha)) return false;
  const ref = `refs/heads/${branch}`;
  const loose = await readRefFile(path.join(repoDir, ref), 512);
  // A loose ref, when there is one, is the ref: packed-refs may hold an older value.
  if (loose !== "absent") return loose === `${sha}\n`;
  const packed = await readRefFile(path.join(repoDir, "packed-refs"), 2 * 1024 * 1024);
  if (typeof packed !== "string" || packed === "absent") return false;
  for (const line of packed.split("\n")) {
    // "<sha> <ref>", with "#" header lines and "^<sha>" peeled lines for tags between them.
    if (line.endsWith(` ${ref}`)) return line === `${sha} ${ref}`;
  }
  return false;
}

// A file of git's in the repository when it is a plain file of at most `max` bytes, read the
// way root reads files (src/fs/bounded-read.ts: no link followed on the way, no FIFO blocked on);
// "absent" when there is nothing by that name; undefined when there is something else.
async function readRefFile(file: string, max: number): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readSmallPath(file, max + 1);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "absent" : undefined;
  }
  // More than `max`: cut short, its last line could pass for another ref.
  return bytes.length > max ? undefined : bytes.toString("latin1");
}
