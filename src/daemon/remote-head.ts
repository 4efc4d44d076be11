// The commit at the tip of an app's branch on its remote, without touching repo/: one
// `git ls-remote`, so a poll that finds nothing new costs one round trip and no lock.
import type { AppConfig } from "../config/schema.js";
import { gitEnv } from "../git/env.js";
import { run } from "../system/run.js";

// Head sha of the configured branch; throws (CommandError) when the remote cannot be asked.
export async function remoteHead(app: AppConfig): Promise<string> {
  const ref = `refs/heads/${app.repo.branch}`;
  // `--`: a URL that starts with "-" is a URL, never an option. The environment never lets git
  // wait on a password prompt: the daemon has no one to answer it.
  const result = await run("git", ["ls-remote", "--exit-code", "--", app.repo.url, ref], {
    timeoutMs: app.repo.fetch_timeout,
    killAfterMs: 1000,
    env: gitEnv(),
    cleanEnv: true,
  });
  const line = result.stdout.split("\n").find((l) => l.endsWith(`\t${ref}`));
  const sha = line?.split("\t")[0];
  if (!sha || !/^[0-9a-f]{40,64}$/.test(sha)) {
    throw new Error(`git ls-remote ${app.repo.url} ${ref}: no sha in answer`);
  }
  return sha;
}
