// Check "permissions": the DB, its -wal/-shm and directory, and extra paths have the right
// owner and mode; with --fix, repair them and record each change.
import type { Stats } from "node:fs";
import { describeKind, lstatPath } from "../fs/entry.js";
import { agentDirProblems, repairAgentDirs } from "../release/agent-dirs.js";
import { createOwnerLookup, type OwnerLookup } from "./owners.js";
import { describeRule, formatMode, type PathRule, pathProblems, pathRules } from "./path-rules.js";
import { repairPath } from "./repair-path.js";
import {
  type Check,
  type CheckContext,
  type CheckOutcome,
  type CheckStatus,
  worstStatus,
} from "./types.js";

export interface PathReport {
  path: string;
  expected: string;
  // "root:root 600"; null when the path is missing.
  actual: string | null;
  status: CheckStatus;
  note: string;
}

// The note of a path that exists with the wrong owner or mode (summarised as "is X, expected Y").
const WRONG = "wrong owner or mode";

export const permissionsCheck: Check = {
  name: "permissions",
  async run(ctx) {
    const rules = pathRules(ctx.app);
    const owners = createOwnerLookup();
    // Paths are judged concurrently, but their changes are recorded in rule order, so the
    // list reads the same on every run.
    const changes = rules.map((): string[] => []);
    const reports = await Promise.all(
      rules.map((rule, i) => inspectPath(rule, ctx, owners, changes[i] as string[])),
    );
    ctx.changes.push(...changes.flat());
    const dirs = await inspectAgentDirs(ctx);
    return summarisePaths([...dirs, ...reports.filter((r): r is PathReport => r !== undefined)]);
  },
};

// Judge one path, repairing it first under --fix (appending to `changes` what was done);
// undefined for an absent optional path.
async function inspectPath(
  rule: PathRule,
  ctx: CheckContext,
  owners: OwnerLookup,
  changes: string[],
): Promise<PathReport | undefined> {
  const expected = describeRule(rule);
  const report = (status: CheckStatus, note: string, actual: string | null = null) => ({
    path: rule.path,
    expected,
    actual,
    status,
    note,
  });
  const [uid, gid] = await Promise.all([owners.uidOf(rule.owner), owners.gidOf(rule.group)]);
  if (uid === undefined || gid === undefined) {
    return report("unknown", `no such ${uid === undefined ? "user" : "group"} on this host`);
  }
  const want = { uid, gid };
  // lstat through the pinned directory: what is at the path itself, never what a link there
  // points at (the app user can put a link at any of these names).
  const found = await lstatPath(rule.path).catch((error: Error) => error);
  if (found instanceof Error) return report("critical", found.message);
  if (!found) {
    if (rule.missing === "ignore") return undefined;
    return report(rule.missing, "missing");
  }
  const expectDir = rule.kind === "dir-writable";
  if (expectDir ? !found.isDirectory() : !found.isFile()) {
    return report(
      "critical",
      `is ${describeKind(found)}, expected ${expectDir ? "a directory" : "a regular file"}: not followed, not fixed`,
    );
  }
  // Names are looked up (a subprocess each) only for owners that are not the expected ones.
  const actual = async (s: Stats) => {
    const names =
      s.uid === uid && s.gid === gid
        ? `${rule.owner}:${rule.group}`
        : await owners.namesOf(s.uid, s.gid);
    return `${names} ${formatMode(s.mode)}`;
  };
  const problems = pathProblems(rule, found, want);
  if (!problems.mode && !problems.owner) return report("ok", "ok", await actual(found));
  const before = await actual(found);
  if (!ctx.fix) return report("critical", WRONG, before);
  try {
    changes.push(...(await repairPath(rule, problems, want, owners, ctx.app.dir)));
    const after = (await lstatPath(rule.path)) as Stats;
    const left = pathProblems(rule, after, want);
    if (left.mode || left.owner) {
      return report("critical", WRONG, await actual(after));
    }
    return report("ok", `fixed (was ${before})`, await actual(after));
  } catch (error) {
    // An optional file SQLite removed meanwhile needs no fixing.
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && rule.missing === "ignore") {
      return undefined;
    }
    return report("critical", (error as Error).message, before);
  }
}

// Fold per-path reports into the check's outcome.
export function summarisePaths(paths: PathReport[]): CheckOutcome {
  const bad = paths.filter((p) => p.status !== "ok");
  const fixed = paths.filter((p) => p.note.startsWith("fixed")).length;
  const status = worstStatus(bad.map((p) => p.status));
  if (bad.length === 0) {
    const tail = fixed > 0 ? `, ${fixed} fixed` : "";
    return { status, summary: `${paths.length} paths ok${tail}`, details: { paths } };
  }
  const summary = bad
    .map((p) =>
      p.actual === null || p.note !== WRONG
        ? `${p.path}: ${p.note}`
        : `${p.path} is ${p.actual}, expected ${p.expected}`,
    )
    .join("; ");
  return { status, summary, details: { paths } };
}

// The agent's own directories (app dir, repo/, releases/, backups/, .staging/) must be root's
// alone; --fix makes them so (the directories, not their contents).
async function inspectAgentDirs(ctx: CheckContext): Promise<PathReport[]> {
  let problems = await agentDirProblems(ctx.layout);
  if (problems.length > 0 && ctx.fix) {
    try {
      ctx.changes.push(...(await repairAgentDirs(ctx.layout)));
    } catch (error) {
      ctx.changes.push(`could not repair ${ctx.layout.dir}: ${(error as Error).message}`);
    }
    problems = await agentDirProblems(ctx.layout);
  }
  return problems.map((p) => ({
    path: p.path,
    expected: "root:root, not writable by others",
    actual: null,
    status: "critical" as const,
    note: p.message.startsWith(`${p.path} `) ? p.message.slice(p.path.length + 1) : p.message,
  }));
}
