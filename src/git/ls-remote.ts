// The commit at the tip of one branch on a remote, without touching any repository: one
// `git ls-remote` round trip.
import { CommandError, run } from "../system/run.js";
import { displayUrl } from "./display-url.js";
import { gitEnv } from "./env.js";
import { gitMessage } from "./fetch.js";
import { NO_ACCESS, type RemoteAccess } from "./remote-access.js";
import { FULL_SHA } from "./revisions.js";

// Head sha of `branch` at `url`, or undefined when the remote has no such branch; throws
// (CommandError) when the remote cannot be asked within `timeoutMs`.
export async function remoteBranchHead(
  url: string,
  branch: string,
  timeoutMs: number,
  access: RemoteAccess = NO_ACCESS,
): Promise<string | undefined> {
  const ref = `refs/heads/${branch}`;
  // `--`: a URL that starts with "-" is a URL, never an option. The environment never lets git
  // wait on a password prompt: there is no one to answer it.
  const args = [...access.config, "ls-remote", "--exit-code", "--", url, ref];
  const result = await run("git", args, {
    timeoutMs,
    killAfterMs: 1000,
    env: { ...gitEnv(), ...access.env },
    cleanEnv: true,
    reject: false,
  });
  // --exit-code: 2 means the remote answered and has no such ref.
  if (result.exitCode === 2 && !result.timedOut) return undefined;
  // Never the runner's own error: its message starts with the argv, and the URL may hold a
  // credential. git's words, with any credential taken out, and the URL as messages show it.
  if (result.timedOut) {
    throw new Error(`${displayUrl(url)}: no answer within ${Math.round(timeoutMs / 1000)}s`);
  }
  if (result.exitCode !== 0) {
    throw new Error(`${displayUrl(url)}: ${gitMessage(new CommandError(result))}`);
  }
  // Exactly the ref: ls-remote matches the pattern against the ends of every ref name.
  const line = result.stdout.split("\n").find((l) => l.split("\t")[1] === ref);
  const sha = line?.split("\t")[0];
  if (!sha || !FULL_SHA.test(sha)) throw new Error(`git ls-remote ${ref}: no sha in its answer`);
  return sha;
}
