// Check "permissions": the DB, its -wal/-shm and directory, and extra paths have the right
// owner and mode; with --fix, repair them and record each change.
import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
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
    if (rules.length === 0) return { status: "ok", summary: "not configured", details: {} };
    const owners = createOwnerLookup();
    // Paths are judged concurrently, but their changes are recorded in rule order, so the
    // list reads the same on every run.
    const changes = rules.map((): string[] => []);
    const reports = await Promise.all(
      rules.map((rule, i) => inspectPath(rule, ctx, owners, changes[i] as string[])),
    );
    ctx.changes.push(...changes.flat());
    return summarisePaths(reports.filter((r): r is PathReport => r !== undefined));
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
  const found = await stat(rule.path).catch((error: NodeJS.ErrnoException) => error);
  if (found instanceof Error) {
    if (found.code !== "ENOENT") return report("unknown", `cannot stat: ${found.message}`);
    if (rule.missing === "ignore") return undefined;
    return report(rule.missing, "missing");
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
    changes.push(...(await repairPath(rule, problems, want, ctx.app.dir, owners)));
    const after = await stat(rule.path);
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
