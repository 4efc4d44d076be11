// What the permissions check expects of each path, and how a path falls short of it (pure).
import path from "node:path";
import type { AppConfig } from "../config/schema.js";

export interface PathRule {
  path: string;
  owner: string;
  group: string;
  // "exact": mode must equal `mode`. "dir-writable": a directory whose owner may create files in
  // it (SQLite creates -wal/-shm next to the DB), so `mode` bits must be set, others are free.
  kind: "exact" | "dir-writable";
  mode: number;
  // Missing is a fault (critical for the DB itself, a warning for an extra entry); optional
  // paths (-wal/-shm) are judged only when present.
  missing: "critical" | "warning" | "ignore";
}

export interface Ownership {
  uid: number;
  gid: number;
  mode: number;
}

export interface PathProblems {
  // New mode to set, when the mode is wrong.
  mode?: number;
  // True when owner or group is wrong.
  owner?: boolean;
}

// Owner-writable and searchable: what a directory needs so its owner can create files in it.
const DIR_WRITABLE = 0o300;

// The paths an app's permissions check covers, in report order.
export function pathRules(app: AppConfig): PathRule[] {
  const rules: PathRule[] = [];
  const { user, group } = app;
  const db = app.database;
  if (db) {
    rules.push({
      path: db.path,
      owner: user,
      group,
      kind: "exact",
      mode: db.mode,
      missing: "critical",
    });
    for (const suffix of ["-wal", "-shm"]) {
      const file = `${db.path}${suffix}`;
      rules.push({
        path: file,
        owner: user,
        group,
        kind: "exact",
        mode: db.mode,
        missing: "ignore",
      });
    }
    rules.push({
      path: path.dirname(db.path),
      owner: user,
      group,
      kind: "dir-writable",
      mode: DIR_WRITABLE,
      missing: "critical",
    });
  }
  for (const entry of app.permissions) {
    rules.push({
      path: entry.path,
      owner: entry.owner ?? user,
      group: entry.group ?? group,
      kind: "exact",
      mode: entry.mode,
      missing: "warning",
    });
  }
  return rules;
}

// How a path's ownership and mode differ from its rule, given the rule's numeric ids.
export function pathProblems(
  rule: PathRule,
  actual: Ownership,
  want: { uid: number; gid: number },
): PathProblems {
  const problems: PathProblems = {};
  const mode = actual.mode & 0o7777;
  if (rule.kind === "exact" && mode !== rule.mode) problems.mode = rule.mode;
  if (rule.kind === "dir-writable" && (mode & rule.mode) !== rule.mode) {
    problems.mode = mode | rule.mode;
  }
  if (actual.uid !== want.uid || actual.gid !== want.gid) problems.owner = true;
  return problems;
}

// A mode as operators write it: 664, 2775.
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(3, "0");
}

// What a rule asks for, in words: "www-data:www-data 664" or "www-data:www-data, u+wx".
export function describeRule(rule: PathRule): string {
  const who = `${rule.owner}:${rule.group}`;
  return rule.kind === "exact" ? `${who} ${formatMode(rule.mode)}` : `${who}, owner-writable`;
}
