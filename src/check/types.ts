// The contract every health check implements: a name and run(ctx) → status, summary, details.
import type { AppConfig } from "../config/schema.js";
import type { AppLayout, LiveRelease } from "../release/layout.js";
import type { BlueGreenSubject } from "./check-subject.js";

export type CheckStatus = "ok" | "warning" | "critical" | "unknown";

export interface CheckOutcome {
  status: CheckStatus;
  summary: string;
  details: Record<string, unknown>;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  durationMs: number;
}

export interface CheckContext {
  // The app as the checks judge it: for a blue-green app, its serving color (see check-subject.ts).
  app: AppConfig;
  layout: AppLayout;
  // --fix: repair what is safely repairable and record each change in `changes`.
  fix: boolean;
  changes: string[];
  // The release whose REVISION the answers must carry, when it is not `current`'s (a blue-green
  // color verified on its own port before the proxy sends it traffic).
  expected?: LiveRelease;
  // For verify: when the deploy switched the release (ms since boot, DeployRun.switchedAt). A
  // master or worker that started before it outlived the restart and runs old code, whatever its
  // cwd says.
  switchedAt?: number;
  // A blue-green app as configured, and which color serves; absent for a restart app (and for one
  // color verified on its own, which the deploy hands in as a restart app: colorView).
  blueGreen?: BlueGreenSubject;
}

export interface Check {
  name: string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

// Severity order for "the worst status wins": something that is certainly broken outranks a
// check that could not tell, which outranks a warning.
const SEVERITY: Record<CheckStatus, number> = { ok: 0, warning: 1, unknown: 2, critical: 3 };

export function worstStatus(statuses: CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>(
    (worst, s) => (SEVERITY[s] > SEVERITY[worst] ? s : worst),
    "ok",
  );
}

// How bad a status is in that order, for sorting the worst first.
export function severity(status: CheckStatus): number {
  return SEVERITY[status];
}
