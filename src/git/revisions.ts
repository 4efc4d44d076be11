// Questions about commits in the bare repository: resolve a name, count commits between two.
import { gitAt } from "./client.js";

// The full sha of the commit `rev` names, or undefined when the repository has no such commit.
export async function resolveCommit(repoDir: string, rev: string): Promise<string | undefined> {
  try {
    const sha = await gitAt(repoDir).raw(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    return /^[0-9a-f]{40,64}$/.test(sha.trim()) ? sha.trim() : undefined;
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
  const out = await gitAt(repoDir).raw(["rev-list", "--count", `${from}..${to}`]);
  return Number(out.trim());
}

// Whether the repository holds the commit object `sha` (a fresh repo/ may not know an old one).
export async function hasCommit(repoDir: string, sha: string): Promise<boolean> {
  return (await resolveCommit(repoDir, sha)) !== undefined;
}
