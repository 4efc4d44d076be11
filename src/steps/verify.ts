// Step 8: prove the release serves: unit active, the right processes, every answer on REVISION.
import { setTimeout as delay } from "node:timers/promises";
import { type CheckReport, runChecks } from "../check/run-checks.js";
import type { AppConfig } from "../config/schema.js";
import { appLayout, type LiveRelease, readLiveRelease } from "../release/layout.js";
import { showUnit } from "../system/systemd.js";

// The checks that decide whether a release is up, named as `agent check` names them.
export const VERIFY_CHECKS = ["service", "processes", "health"];
// Short: the app is held stopped until this passes, and workers boot in well under a second.
const POLL_MS = 250;

// Poll the verify checks until all are ok, or fail after verify.timeout with what was still
// wrong. A unit that has already failed will not recover by waiting: fail at once.
//
// `expected` is the release to prove when it is not `current`'s: a blue-green color verified on
// its own port before the proxy sends it any traffic.
export async function verifyRelease(
  app: AppConfig,
  revision: string,
  expected?: LiveRelease,
  switchedAt?: number,
): Promise<string> {
  const live = expected ?? (await readLiveRelease(appLayout(app)));
  if (live?.revision !== revision) {
    throw new Error(`current points at ${live?.revision ?? "nothing"}, expected ${revision}`);
  }
  const deadline = Date.now() + app.verify.timeout;
  for (;;) {
    const report = await runChecks(app, { only: VERIFY_CHECKS, expected, switchedAt });
    const missing = VERIFY_CHECKS.filter((name) => !report.checks.some((c) => c.name === name));
    // Without these checks there is no proof of health: never report success by default.
    if (missing.length > 0) throw new Error(`no ${missing.join(", ")} check available`);
    if (report.status === "ok") return summarise(report);
    const { ActiveState: state } = await showUnit(app.service, ["ActiveState"]);
    if (state === "failed") throw new Error(`${app.service} failed: ${problems(report)}`);
    if (Date.now() >= deadline) {
      throw new Error(
        `not healthy after ${Math.round(app.verify.timeout / 1000)}s: ${problems(report)}`,
      );
    }
    await delay(POLL_MS);
  }
}

function problems(report: CheckReport): string {
  return report.checks
    .filter((c) => c.status !== "ok")
    .map((c) => `${c.name} ${c.status}: ${c.summary}`)
    .join("; ");
}

function summarise(report: CheckReport): string {
  return report.checks.map((c) => c.summary).join("; ");
}
