// Running commands inside a machine through nsenter(1).
import { execa } from "execa";

export interface ExecOptions {
  input?: string | Buffer;
  // Added to the machine's clean base environment (the host's is never leaked in).
  env?: Record<string, string>;
  // Throw when the exit code is not 0; default false so tests can assert on codes.
  reject?: boolean;
  timeoutMs?: number;
  // Working directory inside the machine; default "/".
  cwd?: string;
  // Run as this user (runuser -u), e.g. the app user, instead of root.
  user?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  // True when the command ran out of time (it was killed inside the machine).
  timedOut: boolean;
}

// What a login-less root shell inside a Debian machine would have; PATH never includes the
// host's pyenv shims or node_modules/.bin, so the machine runs its own binaries.
const BASE_ENV: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  TERM: "dumb",
  SYSTEMD_PAGER: "",
  SYSTEMD_COLORS: "0",
};

const DEFAULT_TIMEOUT_MS = 120_000;

// Raised by exec(..., { reject: true }) with everything needed to debug the failure.
export class ExecError extends Error {
  constructor(
    readonly cmd: string[],
    readonly result: ExecResult,
  ) {
    const tail = (text: string) => text.trim().split("\n").slice(-20).join("\n");
    super(
      `command failed in machine (exit ${result.exitCode}${result.timedOut ? ", timed out" : ""}): ` +
        `${cmd.join(" ")}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`,
    );
    this.name = "ExecError";
  }
}

// Run cmd inside the machine whose PID 1 is pid (host PID), in its mount and PID namespaces.
// Output keeps its final newline only when keepNewline is set (readFile needs exact bytes).
export async function execInMachine(
  pid: number,
  cmd: string[],
  options: ExecOptions = {},
  keepNewline = false,
): Promise<ExecResult> {
  if (cmd.length === 0) throw new Error("exec: empty command");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const asUser = options.user ? ["runuser", "-u", options.user, "--"] : [];
  // The deadline is enforced inside the machine: killing nsenter from the host would leave its
  // child running in the machine, because nsenter does not forward signals.
  const seconds = (timeoutMs / 1000).toFixed(1);
  const args = [
    "-t",
    String(pid),
    "-m",
    "-p",
    "-n",
    "-r",
    options.cwd ? `--wd=${options.cwd}` : "-w",
    "--",
    "timeout",
    "-k",
    "5",
    seconds,
    ...asUser,
    ...cmd,
  ];
  const result = await execa("nsenter", args, {
    input: options.input,
    env: { ...BASE_ENV, ...options.env },
    extendEnv: false,
    reject: false,
    stripFinalNewline: !keepNewline,
    // Backstop only: the inner timeout normally fires first.
    timeout: timeoutMs + 15_000,
    encoding: "utf8",
  });
  const exitCode = result.exitCode ?? 128;
  const out: ExecResult = {
    exitCode,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    timedOut: result.timedOut || exitCode === 124,
  };
  if (options.reject && exitCode !== 0) throw new ExecError(cmd, out);
  return out;
}
