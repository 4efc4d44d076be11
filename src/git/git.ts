// Every git command the agent runs, through the one subprocess runner: a clean environment, the
// repository named explicitly (no discovery upwards from the cwd), a deadline, the tree killed.
import { type RunOptions, type RunResult, run } from "../system/run.js";
import { gitEnv } from "./env.js";

export interface GitOptions {
  timeoutMs?: number;
  // After SIGTERM at the deadline, SIGKILL this much later.
  killAfterMs?: number;
  reject?: boolean;
  // Run as this user (e.g. `git archive` as the app user); the repository stays root's.
  uid?: number;
  gid?: number;
  env?: Record<string, string>;
  input?: string;
  // Keep at most this many bytes of each stream, from its head when keepHead (see RunOptions).
  maxBuffer?: number;
  keepHead?: boolean;
}

// Plumbing questions finish in milliseconds; a minute means something is wrong with the disk.
const DEFAULT_TIMEOUT_MS = 60_000;

// `git --git-dir=REPO ARGS...`; throws CommandError when git fails (unless reject is false).
export async function git(
  repoDir: string,
  args: string[],
  options: GitOptions = {},
): Promise<RunResult> {
  const runOptions: RunOptions = {
    env: { ...gitEnv(), ...options.env },
    cleanEnv: true,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killAfterMs: options.killAfterMs,
    reject: options.reject,
    input: options.input,
    uid: options.uid,
    gid: options.gid,
    maxBuffer: options.maxBuffer,
    keepHead: options.keepHead,
  };
  return run("git", [`--git-dir=${repoDir}`, ...args], runOptions);
}

// stdout of one git command, trimmed.
export async function gitOutput(
  repoDir: string,
  args: string[],
  options: GitOptions = {},
): Promise<string> {
  return (await git(repoDir, args, options)).stdout.trim();
}
