// Fetch from the remote into the bare repository under one hard deadline, retrying with backoff.
import { setTimeout as delay } from "node:timers/promises";
import { killTrees, ownChildren } from "../system/process-tree.js";
import { retryDelay } from "./backoff.js";
import { gitAt } from "./client.js";

export interface FetchAttemptFailure {
  attempt: number;
  error: Error;
  retryInMs: number | undefined;
}

export interface FetchOptions {
  // Hard cap for the whole fetch, every attempt and pause included.
  timeoutMs: number;
  onAttemptFailed?: (failure: FetchAttemptFailure) => void;
}

// The remote could not be fetched within the deadline; the message says why (last attempt).
export class FetchError extends Error {
  override name = "FetchError";
}

// Fetch `refspecs` from `url` into `repoDir`. simple-git's own timeout only fires after a
// silence, and a remote that trickles bytes (or a git that waits on a helper) would never trip
// it; so a timer aborts the attempt when the overall deadline passes, whatever git is doing.
export async function fetchWithDeadline(
  repoDir: string,
  url: string,
  refspecs: string[],
  options: FetchOptions,
): Promise<{ attempts: number }> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchOnce(repoDir, ["fetch", "--quiet", "--force", url, ...refspecs], deadline);
      return { attempts: attempt };
    } catch (error) {
      const retryInMs = retryDelay(attempt + 1, deadline - Date.now());
      options.onAttemptFailed?.({ attempt, error: error as Error, retryInMs });
      if (retryInMs === undefined) {
        throw new FetchError(`cannot fetch ${url}: ${(error as Error).message}`, { cause: error });
      }
      await delay(retryInMs);
    }
  }
}

// One `git fetch`, killed with its helpers (ssh, git-remote-http) when the deadline passes.
async function fetchOnce(repoDir: string, args: string[], deadline: number): Promise<void> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) throw new Error("fetch deadline passed");
  const controller = new AbortController();
  const expired = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () =>
      reject(new Error(`no answer within ${Math.round(remaining / 1000)}s`)),
    );
  });
  // The abort plugin only signals git itself; its helpers would outlive it holding our pipes.
  const timer = setTimeout(() => {
    void ownChildren((p) => p.cwd === repoDir && p.argv.includes("fetch"))
      .then(killTrees)
      .finally(() => controller.abort());
  }, remaining);
  try {
    // simple-git's inactivity timer is only the backstop: ours fires first and kills the tree.
    const git = gitAt(repoDir, { signal: controller.signal, blockMs: remaining + 2000 });
    await Promise.race([git.raw(args), expired]);
  } catch (error) {
    throw new Error(gitMessage(error), { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

// git's own words, without simple-git's noise: its first "fatal:"/"error:" line names the cause
// ("'/srv/git/x.git' does not appear to be a git repository"); the lines after it are advice.
export function gitMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const cause = lines.find((l) => /^(fatal|error):/.test(l));
  return (
    cause?.replace(/^(fatal|error):\s*/, "") || lines.slice(-2).join("; ") || "git fetch failed"
  );
}
