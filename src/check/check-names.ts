// The names of the checks the agent itself runs. A custom check (`checks:` in the config) is
// shown, stored and measured under its own name beside these, so it may not take one of them:
// the config refuses such a name before anything runs.
export const BUILT_IN_CHECKS = [
  "release",
  "service",
  "processes",
  "permissions",
  "env_file",
  "database",
  "health",
  "proxy",
  "endpoints",
  "backups",
  "disk",
  "drift",
  "logs",
  "promotion",
  "remote",
] as const;

export type BuiltInCheck = (typeof BUILT_IN_CHECKS)[number];

export function isBuiltInCheck(name: string): boolean {
  return (BUILT_IN_CHECKS as readonly string[]).includes(name);
}
