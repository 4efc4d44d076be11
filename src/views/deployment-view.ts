// Deployments as `agent status` and `agent history` show them: stable JSON, and text lines.
import { colourStatus, formatDuration } from "../output/table.js";
import {
  type DeploymentRecord,
  listDeployments,
  type StepRecord,
  stepsOf,
} from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";

export interface DeploymentJson {
  id: number;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  fromRelease: string | null;
  toRelease: string | null;
  revision: string | null;
  outcome: string;
  error: string | null;
  backupPath: string | null;
  keptCopy: string | null;
  steps: StepRecord[];
}

// The stable JSON of one deployment with its steps (documented in the README).
export function deploymentJson(db: StateDb, dep: DeploymentRecord): DeploymentJson {
  const duration = dep.finishedAt ? Date.parse(dep.finishedAt) - Date.parse(dep.startedAt) : null;
  return {
    id: dep.id,
    trigger: dep.trigger,
    startedAt: dep.startedAt,
    finishedAt: dep.finishedAt,
    durationMs: duration,
    fromRelease: dep.fromRelease,
    toRelease: dep.toRelease,
    revision: dep.revision || null,
    outcome: dep.outcome,
    error: dep.error,
    backupPath: dep.backupPath,
    keptCopy: dep.keptCopy,
    steps: stepsOf(db, dep.id).map((s) => ({ ...s })),
  };
}

// Newest deployments of an app as JSON, newest first.
export function recentDeployments(
  db: StateDb,
  app: string,
  limit: number,
  since?: string,
): DeploymentJson[] {
  return listDeployments(db, app, limit, since).map((dep) => deploymentJson(db, dep));
}

// "#12 2026-11-23 10:15:00 cli 3f2a1c9b0d1e deployed 4.2s" and, below it, the steps.
export function deploymentLines(dep: DeploymentJson): string[] {
  const when = dep.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z");
  const took = dep.durationMs === null ? "" : ` in ${formatDuration(dep.durationMs)}`;
  const rev = dep.revision ? dep.revision.slice(0, 12) : "-";
  const head = `#${dep.id}  ${when}  ${dep.trigger}  ${rev}  ${colourStatus(dep.outcome)}${took}`;
  const lines = [head, `    ${stepsLine(dep.steps)}`];
  if (dep.error) lines.push(`    ${dep.error}`);
  return lines;
}

// "fetch 0.1s ok · build 1.2s ok · migrate 0.3s failed".
export function stepsLine(steps: DeploymentJson["steps"]): string {
  return steps
    .map((s) => {
      const took = s.durationMs === null ? "" : ` ${formatDuration(s.durationMs)}`;
      const outcome = s.outcome === "failed" ? colourStatus("failed") : s.outcome;
      return `${s.step}${took} ${outcome}`;
    })
    .join(" · ");
}
