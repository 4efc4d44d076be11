// Run an app's health checks concurrently and fold them into one report.
import type { AppConfig } from "../config/schema.js";
import { appLayout } from "../release/layout.js";
import { allChecks } from "./registry.js";
import { type CheckContext, type CheckResult, type CheckStatus, worstStatus } from "./types.js";

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
}

// Run every (or the selected) check once. A check that throws is reported as unknown with its
// error, never allowed to take the others down with it.
export async function runChecks(
  app: AppConfig,
  options: RunChecksOptions = {},
): Promise<CheckReport> {
  const started = performance.now();
  const ctx: CheckContext = { app, layout: appLayout(app), fix: !!options.fix, changes: [] };
  const selected = options.only
    ? allChecks.filter((c) => options.only?.includes(c.name))
    : allChecks;
  const checks = await Promise.all(
    selected.map(async (check): Promise<CheckResult> => {
      const t0 = performance.now();
      try {
        const outcome = await check.run(ctx);
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
    }),
  );
  return {
    app: app.name,
    status: worstStatus(checks.map((c) => c.status)),
    checks,
    changes: ctx.changes,
    durationMs: Math.round(performance.now() - started),
  };
}
