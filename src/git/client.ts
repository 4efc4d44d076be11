// simple-git bound to one directory, optionally cancellable: the one way this agent runs git.
import { type SimpleGit, simpleGit } from "simple-git";

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
    // The ssh command below is ours, fixed in code, not taken from input: allow it.
    unsafe: { allowUnsafeSshCommand: true },
  });
  return git.env({
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    LANG: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: "ssh -o BatchMode=yes -o ConnectTimeout=15",
  });
}
