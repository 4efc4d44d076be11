// Push one commit to a branch of a remote, fast-forward only (no "+", no --force: the remote
// itself refuses anything else), under one deadline with retries for a remote that did not
// answer; a remote that answered "rejected" is not asked again.

import { printable } from "../output/sanitize.js";
import { CommandError } from "../system/run.js";
import { withoutCredentials } from "./display-url.js";
import { gitMessage } from "./fetch.js";
import { git } from "./git.js";
import { NO_ACCESS, type RemoteAccess } from "./remote-access.js";
import { type AttemptFailure, retryWithinDeadline } from "./retry.js";

// The remote answered and refused the update: not fast-forward, a hook declined, no permission.
export class PushRejectedError extends Error {
  override name = "PushRejectedError";
}

export async function pushCommit(
  repoDir: string,
  url: string,
  sha: string,
  branch: string,
  options: {
    timeoutMs: number;
    onAttemptFailed?: (failure: AttemptFailure) => void;
    access?: RemoteAccess;
  },
): Promise<{ attempts: number }> {
  const { attempts } = await retryWithinDeadline((remaining) => pushOnce(remaining), {
    ...options,
    isFinal: (error) => error instanceof PushRejectedError,
  });
  return { attempts };

  async function pushOnce(remaining: number): Promise<void> {
    // --porcelain: one line per ref, "!" and the reason when it was rejected. No tags, no other
    // refs: exactly the one commit to exactly the one branch.
    const access = options.access ?? NO_ACCESS;
    const refspec = `${sha}:refs/heads/${branch}`;
    const args = [...access.config, "push", "--porcelain", "--no-follow-tags", "--", url, refspec];
    const result = await git(repoDir, args, {
      timeoutMs: remaining,
      killAfterMs: 1000,
      reject: false,
      env: access.env,
    });
    if (result.exitCode === 0 && !result.timedOut) return;
    if (result.timedOut) throw new Error(`no answer within ${Math.round(remaining / 1000)}s`);
    const rejected = result.stdout.split("\n").find((l) => l.startsWith("!\t"));
    if (rejected) {
      // "!\t<src>:<dst>\t[rejected] (non-fast-forward)" or "[remote rejected] (hook declined)".
      const why = rejected.split("\t").slice(2).join(" ").trim();
      // The remote's own words (a hook's refusal): its text, printable, bounded, no credential.
      const remote = result.stderr
        .split("\n")
        .filter((l) => l.startsWith("remote:"))
        .map((l) => l.replace(/^remote:\s*/, "").trim())
        .filter(Boolean)
        .slice(0, 2)
        .join("; ");
      const said = withoutCredentials(printable(`${why}${remote ? `: ${remote}` : ""}`, 500));
      throw new PushRejectedError(said);
    }
    throw new Error(gitMessage(new CommandError(result)));
  }
}
