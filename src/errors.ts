// Typed errors that reach the user, each mapped to a documented exit code in one place.

// Exit codes from DESIGN.md. Sync-like commands use these; `agent check` uses Nagios codes.
export const ExitCode = {
  ok: 0,
  failedRolledBack: 1,
  rollbackFailed: 2,
  usage: 64, // EX_USAGE: bad command-line arguments
  software: 70, // EX_SOFTWARE: a bug
  lockHeld: 75, // EX_TEMPFAIL: try again later
  badConfig: 78, // EX_CONFIG
} as const;

// Nagios plugin convention, used by `agent check`.
export const NagiosCode = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;

// Base class: an error the CLI reports as a message (no stack) and turns into an exit code.
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

// One problem found in the configuration: where it is and what was expected.
export interface ConfigProblem {
  path: string;
  message: string;
}

// The configuration is unusable; every problem is listed, not only the first.
export class ConfigError extends ExitError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    const lines = problems.map((p) => `  ${p.path || "(top level)"}: ${p.message}`);
    super(`invalid configuration in ${file}:\n${lines.join("\n")}`, ExitCode.badConfig);
  }
}

// Command-line usage error (unknown app, bad flag value).
export class UsageError extends ExitError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

// Another run holds the app's lock.
export class LockHeldError extends ExitError {
  constructor(message: string) {
    super(message, ExitCode.lockHeld);
  }
}

// A step of a sync, backup or restore failed; `exitCode` says whether the host was restored.
export class StepError extends ExitError {
  constructor(
    readonly step: string,
    message: string,
    exitCode: number = ExitCode.failedRolledBack,
    options?: { cause?: unknown },
  ) {
    super(message, exitCode, options);
  }
}

// A bug: never expected; reported with its stack.
export class InternalError extends Error {
  override name = "InternalError";
}

// Message of any thrown value, with the cause that explains it when the message lacks it.
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : "";
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

// The exit code for an error escaping a command. `agent check` is a monitoring plugin, so
// anything that stops it from judging the app is UNKNOWN (3), as Nagios expects.
export function exitCodeFor(error: unknown, command: string): number {
  if (command === "check") return NagiosCode.unknown;
  if (error instanceof ExitError) return error.exitCode;
  return ExitCode.software;
}
