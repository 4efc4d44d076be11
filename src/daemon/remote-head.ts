// The commit at the tip of an app's branch on its remote, without touching repo/: one
// `git ls-remote`, so a poll that finds nothing new costs one round trip and no lock.
import type { AppConfig } from "../config/schema.js";
import { displayUrl } from "../git/display-url.js";
import { remoteBranchHead } from "../git/ls-remote.js";
import { checkedRemoteAccess } from "../git/remote-access.js";

// Head sha of the configured branch; throws when the remote cannot be asked or lacks the branch.
export async function remoteHead(app: AppConfig): Promise<string> {
  const { url, branch, fetch_timeout: timeoutMs } = app.repo;
  const sha = await remoteBranchHead(url, branch, timeoutMs, await checkedRemoteAccess(app.repo));
  if (!sha) throw new Error(`${displayUrl(url)} has no branch ${branch}`);
  return sha;
}
