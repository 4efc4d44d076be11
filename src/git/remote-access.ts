// How git reaches a private remote (DESIGN.md "Adopting an app that runs today", private
// remotes): a deploy key with the host keys pinned, or a token handed over by a credential
// helper. What this returns goes into git's environment and its `-c` options; the token itself
// never does (the helper reads it from its file when git asks), so it is in no argv, URL,
// repo/config, log line or message.
import type { AppConfig } from "../config/schema.js";
import { rootOnlyFileProblem } from "../fs/root-only-file.js";

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
      "-o CheckHostIP=no",
    ].join(" ");
  }
  if (repo.token_file) {
    // An empty helper first drops any helper of the system's or root's (a credential store
    // would write the token to disk); then ours, which answers "get" from the file. A user name
    // in the URL is git's to send; without one, GitHub's and GitLab's token user is used.
    const user = hasUser(repo.url) ? "" : "echo username=x-access-token; ";
    const helper = `!f() { test "$1" = get || exit 0; ${user}printf password=; tr -d '\\r\\n' < ${quoted(repo.token_file)}; echo; }; f`;
    access.config.push("-c", "credential.helper=", "-c", `credential.helper=${helper}`);
    // A redirect must not carry the token to another host.
    access.config.push("-c", "http.followRedirects=false");
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

// The files a private remote needs are root's alone (a known_hosts someone else can write lets
// them pin their own host key; a token_file behind their symlink makes root send any file as the
// password): checked before every use, refused with the reason.
export async function checkedRemoteAccess(repo: AppConfig["repo"]): Promise<RemoteAccess> {
  for (const [key, file] of [
    ["ssh_key", repo.ssh_key],
    ["known_hosts", repo.known_hosts],
    ["token_file", repo.token_file],
  ] as const) {
    if (!file) continue;
    const problem = await rootOnlyFileProblem(file);
    if (problem) throw new Error(`repo.${key}: ${problem}; not used`);
  }
  return remoteAccess(repo);
}
