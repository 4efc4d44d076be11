// simple-git bound to one directory, optionally cancellable: how the sync runs git (fetch, init,
// archive). Read-only questions about commits go through run() instead (revisions.ts), so the
// daemon's scheduled checks never load simple-git.
import { type SimpleGit, simpleGit } from "simple-git";
import { gitEnv } from "./env.js";

export interface GitClientOptions {
  // Abort kills the running git (simple-git's abort plugin).
  signal?: AbortSignal;
  // Inactivity limit: simple-git kills git when it prints nothing for this long.
  blockMs?: number;
}

// A simple-git instance for `dir` with a clean, non-interactive environment: git must never wait
// for a password prompt or a pager, whatever the host's environment says.
export function gitAt(dir: string, options: GitClientOptions = {}): SimpleGit {
  const git = simpleGit({
    baseDir: dir,
    abort: options.signal,
    timeout: options.blockMs ? { block: options.blockMs } : undefined,
    maxConcurrentProcesses: 1,
    trimmed: true,
    // The ssh command in gitEnv() is ours, fixed in code, not taken from input: allow it.
    unsafe: { allowUnsafeSshCommand: true },
  });
  return git.env(gitEnv());
}
