// The commit at the tip of one branch on a remote, without touching any repository: one
// `git ls-remote` round trip.
import { CommandError, run } from "../system/run.js";
import { gitEnv } from "./env.js";
import { FULL_SHA } from "./revisions.js";

// Head sha of `branch` at `url`, or undefined when the remote has no such branch; throws
// (CommandError) when the remote cannot be asked within `timeoutMs`.
export async function remoteBranchHead(
  url: string,
  branch: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const ref = `refs/heads/${branch}`;
  // `--`: a URL that starts with "-" is a URL, never an option. The environment never lets git
  // wait on a password prompt: there is no one to answer it.
  const result = await run("git", ["ls-remote", "--exit-code", "--", url, ref], {
    timeoutMs,
    killAfterMs: 1000,
    env: gitEnv(),
    cleanEnv: true,
    reject: false,
  });
  // --exit-code: 2 means the remote answered and has no such ref.
  if (result.exitCode === 2 && !result.timedOut) return undefined;
  if (result.exitCode !== 0 || result.timedOut) throw new CommandError(result);
  const line = result.stdout.split("\n").find((l) => l.endsWith(`\t${ref}`));
  const sha = line?.split("\t")[0];
  if (!sha || !FULL_SHA.test(sha)) throw new Error(`git ls-remote ${ref}: no sha in its answer`);
  return sha;
}
