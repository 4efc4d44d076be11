// Run an app's health checks concurrently and fold them into one report.
import type { AppConfig } from "../config/schema.js";
import { appLayout, type LiveRelease } from "../release/layout.js";
import { COLOR_CHECKS, checkSubject, noServingColor } from "./check-subject.js";
import { checksFor } from "./registry.js";
import {
  type Check,
  type CheckContext,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  worstStatus,
} from "./types.js";

// The checks that change the host under --fix.
const REPAIRING = new Set(["permissions"]);

export interface CheckReport {
  app: string;
  status: CheckStatus;
  checks: CheckResult[];
  // What --fix changed, one line per change ("chmod 664 /srv/shop/shared/shop.db (was 600)").
  changes: string[];
  durationMs: number;
}

export interface RunChecksOptions {
  fix?: boolean;
  // Run only these checks (sync's verify step uses service, processes and health).
  only?: string[];
  // Judge the answers against this release instead of `current`'s (CheckContext.expected).
  expected?: LiveRelease;
  // See CheckContext.switchedAt.
  switchedAt?: number;
}

// Run every (or the selected) check once. A check that throws is reported as unknown with its
// error, never allowed to take the others down with it. A blue-green app is judged by the color
// that serves (check-subject.ts), read once for all the checks of the run.
export async function runChecks(
  app: AppConfig,
  options: RunChecksOptions = {},
): Promise<CheckReport> {
  const started = performance.now();
  const subject = await checkSubject(app);
  const ctx: CheckContext = {
    app: subject.app,
    layout: appLayout(app),
    fix: !!options.fix,
    changes: [],
    expected: options.expected,
    switchedAt: options.switchedAt,
    blueGreen: subject.blueGreen,
  };
  const candidates = checksFor(app);
  const selected = options.only
    ? candidates.filter((c) => options.only?.includes(c.name))
    : candidates;
  const runOne = async (check: Check): Promise<CheckResult> => {
    const t0 = performance.now();
    try {
      const outcome = await runCheck(check, ctx);
      return { name: check.name, ...outcome, durationMs: Math.round(performance.now() - t0) };
    } catch (error) {
      return {
        name: check.name,
        status: "unknown",
        summary: `check failed: ${(error as Error)?.message ?? String(error)}`,
        details: {},
        durationMs: Math.round(performance.now() - t0),
      };
    }
  };
  // With --fix the repairs come first, so every other check judges the repaired host (the
  // database check opens the DB as the app user, who could not while root owned it).
  const first = ctx.fix ? selected.filter((c) => REPAIRING.has(c.name)) : [];
  const repaired = await Promise.all(first.map(runOne));
  const rest = await Promise.all(selected.filter((c) => !first.includes(c)).map(runOne));
  const byName = new Map([...repaired, ...rest].map((r) => [r.name, r]));
  const checks = selected.map((c) => byName.get(c.name) as CheckResult);
  return {
    app: app.name,
    status: worstStatus(checks.map((c) => c.status)),
    checks,
    changes: ctx.changes,
    durationMs: Math.round(performance.now() - started),
  };
}

// One check on the run's subject; a check that judges a running instance of a blue-green app with
// no serving color says why rather than judging something that does not serve.
function runCheck(check: Check, ctx: CheckContext): Promise<CheckOutcome> {
  const bg = ctx.blueGreen;
  if (bg && !bg.serving && COLOR_CHECKS.has(check.name)) return Promise.resolve(noServingColor(bg));
  return check.run(ctx);
}
