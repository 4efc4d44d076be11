// Questions about commits in the bare repository: resolve a name, count commits between two.
// Plain `git` through run(), not simple-git: the drift check asks these on every scheduled
// check, and the daemon should not keep simple-git in memory for three one-line answers.
import { run } from "../system/run.js";
import { gitEnv } from "./env.js";

// stdout of one git command in `repoDir`, trimmed; throws CommandError when git fails.
async function git(repoDir: string, args: string[]): Promise<string> {
  const result = await run("git", args, { cwd: repoDir, env: gitEnv(), cleanEnv: true });
  return result.stdout.trim();
}

// The full sha of the commit `rev` names, or undefined when the repository has no such commit.
export async function resolveCommit(repoDir: string, rev: string): Promise<string | undefined> {
  try {
    const sha = await git(repoDir, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
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
  return Number(await git(repoDir, ["rev-list", "--count", `${from}..${to}`]));
}

// Whether the repository holds the commit object `sha` (a fresh repo/ may not know an old one).
export async function hasCommit(repoDir: string, sha: string): Promise<boolean> {
  return (await resolveCommit(repoDir, sha)) !== undefined;
}
