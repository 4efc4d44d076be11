// Fetch from the remote into the bare repository under one hard deadline, retrying with backoff.
import { CommandError } from "../system/run.js";
import { displayUrl, withoutCredentials } from "./display-url.js";
import { git } from "./git.js";
import { NO_ACCESS, type RemoteAccess } from "./remote-access.js";
import { type AttemptFailure, retryWithinDeadline } from "./retry.js";

export type FetchAttemptFailure = AttemptFailure;

export interface FetchOptions {
  // Hard cap for the whole fetch, every attempt and pause included.
  timeoutMs: number;
  // A private remote's key or token (remote-access.ts).
  access?: RemoteAccess;
  onAttemptFailed?: (failure: FetchAttemptFailure) => void;
}

// The remote could not be fetched within the deadline; the message says why (last attempt).
export class FetchError extends Error {
  override name = "FetchError";
}

// Fetch `refspecs` from `url` into `repoDir`. Each attempt gets what is left of the deadline, and
// the runner ends git with its helpers (ssh, git-remote-http) when that runs out, whatever git is
// doing: a remote that trickles bytes would never trip an inactivity timer.
export async function fetchWithDeadline(
  repoDir: string,
  url: string,
  refspecs: string[],
  options: FetchOptions,
): Promise<{ attempts: number }> {
  try {
    const { attempts } = await retryWithinDeadline(
      (remaining) => fetchOnce(repoDir, url, refspecs, remaining, options.access ?? NO_ACCESS),
      options,
    );
    return { attempts };
  } catch (error) {
    throw new FetchError(`cannot fetch ${displayUrl(url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

// One `git fetch`, ended with its helpers when the deadline passes. `--` keeps a URL or refspec
// that starts with "-" from being read as an option.
async function fetchOnce(
  repoDir: string,
  url: string,
  refspecs: string[],
  remaining: number,
  access: RemoteAccess,
): Promise<void> {
  const args = [...access.config, "fetch", "--quiet", "--force", "--", url, ...refspecs];
  try {
    await git(repoDir, args, { timeoutMs: remaining, killAfterMs: 1000, env: access.env });
  } catch (error) {
    if (error instanceof CommandError && error.result.timedOut) {
      throw new Error(`no answer within ${Math.round(remaining / 1000)}s`, { cause: error });
    }
    throw new Error(gitMessage(error), { cause: error });
  }
}

// git's own words: its first "fatal:"/"error:" line names the cause ("'/srv/git/x.git' does not
// appear to be a git repository"); the lines after it are advice.
export function gitMessage(error: unknown): string {
  const text =
    error instanceof CommandError
      ? error.result.stderr || error.result.stdout
      : error instanceof Error
        ? error.message
        : String(error);
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  // ssh's own words come before git's "Could not read from remote repository", and say more.
  const ssh = sshProblem(text);
  if (ssh) return withoutCredentials(ssh);
  const cause = lines.find((l) => /^(fatal|error):/.test(l));
  // git echoes URLs in its errors: a credential written into one must not go further.
  return withoutCredentials(
    cause?.replace(/^(fatal|error):\s*/, "") || lines.slice(-2).join("; ") || "git fetch failed",
  );
}

// What ssh said was wrong, in one line naming the host: the pinned host key did not match or is
// missing (never accepted), the remote refused the deploy key, or ssh refused the key file.
export function sshProblem(text: string): string | undefined {
  const unknown = /No \S+ host key is known for (\S+) and you have requested strict checking/.exec(
    text,
  );
  if (unknown) {
    return `host key of ${unknown[1]} is not in repo.known_hosts: refused (an unknown host key is never accepted)`;
  }
  const changed = /Host key for (\S+) has changed and you have requested strict checking/.exec(
    text,
  );
  if (changed || /REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text)) {
    const host = changed?.[1] ?? "the remote";
    return `host key of ${host} does not match the one pinned in repo.known_hosts: refused`;
  }
  const revoked = /host key for (\S+) was revoked/i.exec(text);
  if (revoked) return `host key of ${revoked[1]} is revoked in repo.known_hosts: refused`;
  if (/Host key verification failed/.test(text)) return "host key verification failed: refused";
  if (/UNPROTECTED PRIVATE KEY FILE|bad permissions/.test(text)) {
    return "ssh refused repo.ssh_key: its permissions are too open (chmod 600, owned by root)";
  }
  const denied = /^(\S+): Permission denied \(([^)]*)\)/m.exec(text);
  if (denied) return `${denied[1]} refused the deploy key (Permission denied (${denied[2]}))`;
  return undefined;
}
