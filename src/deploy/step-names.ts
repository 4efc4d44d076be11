// The step names: the same words in code, logs, the state DB, `agent history` and the docs.
export const STEP_NAMES = [
  "fetch",
  "build",
  // restart: the DB copied while the old release still serves; "backup" finishes it after "stop".
  "precopy",
  "stop",
  "backup",
  "switch",
  "migrate",
  "start",
  "verify",
  // blue-green: verify through the proxy, then wait for the old color's connections to end.
  "verify-public",
  "drain",
  "rollback",
] as const;

export type StepName = (typeof STEP_NAMES)[number];

// The first 12 hex digits of a commit: how people and release names refer to it.
export function shortSha(sha: string): string {
  return sha.slice(0, 12);
}
