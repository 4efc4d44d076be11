// How git reaches a private remote (DESIGN.md "Adopting an app that runs today", private
// remotes): a deploy key with the host keys pinned, or a token handed over by a credential
// helper. What this returns goes into git's environment and its `-c` options; the token itself
// never does (the helper reads it from its file when git asks), so it is in no argv, URL,
// repo/config, log line or message.
import type { AppConfig } from "../config/schema.js";

export interface RemoteAccess {
  // Added to git's environment (GIT_SSH_COMMAND for a deploy key).
  env: Record<string, string>;
  // `-c name=value` pairs, before git's subcommand.
  config: string[];
}

export const NO_ACCESS: RemoteAccess = { env: {}, config: [] };

// Paths reach a shell (GIT_SSH_COMMAND, the helper's script): single-quoted, and a path with a
// quote in it is refused by the config already (safePath in schema.ts).
const quoted = (p: string) => `'${p}'`;

export function remoteAccess(repo: AppConfig["repo"]): RemoteAccess {
  const access: RemoteAccess = { env: {}, config: [] };
  if (repo.ssh_key && repo.known_hosts) {
    // Only this key, only these host keys: an unknown or changed host key is refused (never
    // accepted-new), no agent, no ~/.ssh/config of root's, no prompt.
    access.env.GIT_SSH_COMMAND = [
      "ssh",
      "-F /dev/null",
      "-o BatchMode=yes",
      "-o ConnectTimeout=15",
      "-o IdentitiesOnly=yes",
      "-o IdentityAgent=none",
      `-o IdentityFile=${quoted(repo.ssh_key)}`,
      `-o UserKnownHostsFile=${quoted(repo.known_hosts)}`,
      "-o GlobalKnownHostsFile=/dev/null",
      "-o StrictHostKeyChecking=yes",
      "-o UpdateHostKeys=no",
    ].join(" ");
  }
  if (repo.token_file) {
    // An empty helper first drops any helper of the system's or root's (a credential store
    // would write the token to disk); then ours, which answers "get" from the file. A user name
    // in the URL is git's to send; without one, GitHub's and GitLab's token user is used.
    const user = hasUser(repo.url) ? "" : "echo username=x-access-token; ";
    const helper = `!f() { test "$1" = get || exit 0; ${user}printf password=; tr -d '\\r\\n' < ${quoted(repo.token_file)}; echo; }; f`;
    access.config.push("-c", "credential.helper=", "-c", `credential.helper=${helper}`);
    // No interactive fallback: a wrong token is a failure, not a prompt.
    access.config.push("-c", "credential.interactive=false");
  }
  return access;
}

function hasUser(url: string): boolean {
  try {
    return new URL(url).username !== "";
  } catch {
    return false;
  }
}
