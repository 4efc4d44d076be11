// Questions about commits in the bare repository: resolve a name, count commits between two.
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
  const [a, d] = await Promise.all([hasCommit(repoDir, ancestor), hasCommit(repoDir, descendant)]);
  if (!a || !d) return false;
  const result = await git(
    repoDir,
    ["merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant],
    { reject: false },
  );
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw new Error(
    `git merge-base --is-ancestor ${ancestor.slice(0, 12)} ${descendant.slice(0, 12)}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
  );
}
