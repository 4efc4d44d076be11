// The one subprocess runner: every external command goes through here (timeout, kill, output).
import { type Options as ExecaOptions, execa } from "execa";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  // Replace the environment instead of extending ours (hooks run with a clean env).
  cleanEnv?: boolean;
  input?: string;
  timeoutMs?: number;
  uid?: number;
  gid?: number;
  // When false, a non-zero exit is returned rather than thrown.
  reject?: boolean;
  // Open descriptors of ours that the command gets as its fd 3, 4, … (flock(1) locking our file).
  extraFds?: number[];
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

// A command that failed: keeps the command, exit code, time-out flag and output.
export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const why = result.timedOut ? "timed out" : `exit ${result.exitCode}`;
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
    super(`${result.command}: ${why}${tail ? `\n${tail}` : ""}`);
    this.name = "CommandError";
  }
}

// Run a command to completion; SIGTERM on time-out, SIGKILL 5 s later if it lingers.
export async function run(
  file: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const execaOptions: ExecaOptions = {
    cwd: options.cwd,
    env: options.env,
    extendEnv: !options.cleanEnv,
    input: options.input,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 5000,
    uid: options.uid,
    gid: options.gid,
    reject: false,
    stripFinalNewline: true,
    cleanup: true,
    // Set only when asked, so every other command keeps execa's default stdio. execa hands any
    // descriptor number to spawn as is, but its types list only 3-9 for extra fds: hence the cast.
    ...(options.extraFds && {
      stdio: ["pipe", "pipe", "pipe", ...options.extraFds] as unknown as ExecaOptions["stdio"],
    }),
  };
  const child = await execa(file, args, execaOptions);
  const result: RunResult = {
    command: [file, ...args].join(" "),
    exitCode: child.exitCode ?? (child.failed ? 1 : 0),
    stdout: String(child.stdout ?? ""),
    stderr: String(child.stderr ?? child.message ?? ""),
    timedOut: child.timedOut,
    durationMs: Math.round(performance.now() - started),
  };
  if (child.failed && child.exitCode === undefined && !child.timedOut) {
    // The program could not be started at all (ENOENT, EACCES): say so plainly.
    result.stderr = child.shortMessage ?? `cannot start ${file}`;
    result.exitCode = 127;
  }
  if ((options.reject ?? true) && (result.exitCode !== 0 || result.timedOut)) {
    throw new CommandError(result);
  }
  return result;
}
