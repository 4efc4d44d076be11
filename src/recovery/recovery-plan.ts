// The decision table for a sync that died midway (power cut, kill -9): pure, so it is tested
// case by case. The app ends on the old release or the new one, never a mixture.

export interface InterruptedDeployment {
  // The step that had begun when the process died (deployments.step).
  step: string | null;
  fromRelease: string | null;
  toRelease: string | null;
  backupPath: string | null;
  migrated: boolean;
  dbRestored: boolean;
  keptCopy: string | null;
  // A `start` step had begun: the new release may have served, and taken writes.
  started: boolean;
  // The deployment's undo had begun (its steps carry the same names as a deploy's).
  undoing: boolean;
}

export interface ReleaseFacts {
  // Release directories that exist complete (not temporary) under releases/.
  releases: string[];
}

export type RecoveryDb = { kind: "backup"; file: string } | { kind: "remove" } | { kind: "keep" };

export type RecoveryPlan =
  // Died before the service was touched (fetch, build, precopy): the live release never stopped
  // serving.
  | { kind: "nothing" }
  // Go back to the release that was live, restoring the DB if it was changed.
  | { kind: "back"; release: string; db: RecoveryDb; keepCopy: boolean }
  // The new release had been migrated and started: start it again and verify it; if that fails,
  // go back as `fallback` says.
  | { kind: "forward"; release: string; fallback: RecoveryPlan }
  // No release to go back to (a first deploy): undo the DB change, drop `current`, redeploy.
  | { kind: "reset"; db: RecoveryDb };

const UNTOUCHED = new Set([null, "fetch", "build", "precopy"]);
const BEFORE_START = new Set(["stop", "backup", "switch", "migrate"]);

// Decide how to recover an interrupted deployment.
export function planRecovery(dep: InterruptedDeployment, facts: ReleaseFacts): RecoveryPlan {
  if (UNTOUCHED.has(dep.step)) return { kind: "nothing" };
  const db = dbAction(dep);
  const keepCopy = dep.started && !dep.keptCopy && !dep.dbRestored && dep.migrated;
  const back: RecoveryPlan =
    dep.fromRelease && facts.releases.includes(dep.fromRelease)
      ? { kind: "back", release: dep.fromRelease, db, keepCopy }
      : { kind: "reset", db };
  if (BEFORE_START.has(dep.step as string) || dep.step === "rollback" || dep.undoing) return back;
  // start or verify: the new release was complete, migrated and started; finish the job.
  if (dep.toRelease && facts.releases.includes(dep.toRelease)) {
    return { kind: "forward", release: dep.toRelease, fallback: back };
  }
  return back;
}

// The DB goes back to the backup only if this deployment changed it and it is not back yet.
function dbAction(dep: InterruptedDeployment): RecoveryDb {
  if (!dep.migrated || dep.dbRestored) return { kind: "keep" };
  return dep.backupPath ? { kind: "backup", file: dep.backupPath } : { kind: "remove" };
}
