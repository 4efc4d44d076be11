// The agent's commands, known before argv is parsed: the exit codes of an argument error depend
// on which command it was for, and the launcher keeps one code cache per command.
export const COMMANDS = [
  "check",
  "sync",
  "rollback",
  "backup",
  "restore",
  "status",
  "history",
  "notify",
  "adopt",
  "daemon",
] as const;

// The command argv names ("" when none: --help, --version, a typo).
export function commandIn(argv: string[]): string {
  return argv.find((a) => (COMMANDS as readonly string[]).includes(a)) ?? "";
}
