// Step 9 of the restart strategy: a step in 4–8 failed; put the release that was live back, DB
// included if it changed, by the same named steps a deploy runs.
import type { DeployRun } from "../deploy/run.js";
import { ExitCode, StepError } from "../errors.js";
import type { RecoveryDb } from "../recovery/recovery-plan.js";
import { finishDeployment } from "../state/deployments.js";
import { resetToNoRelease, returnToRelease } from "./return-to-release.js";

// Undo what the failed deployment changed and say how it ended: exit 1 when the old release is
// back and verified (or was never touched), 2 when even that failed.
export async function rollBack(run: DeployRun, failure: StepError): Promise<StepError> {
  const { progress } = run;
  if (!progress.stopped) {
    // Failed while building: the live release never stopped serving.
    finishDeployment(run.db, run.id, "failed", failure.message);
    return failure;
  }
  const db: RecoveryDb = !progress.migrated
    ? { kind: "keep" }
    : progress.backupPath
      ? { kind: "backup", file: progress.backupPath }
      : { kind: "remove" };
  try {
    if (!run.from) {
      await resetToNoRelease(run, db);
      throw new Error("first deploy: no previous release to return to, the app stays stopped");
    }
    // Only a release that started can have taken writes worth keeping.
    const keepCopy = progress.migrated && progress.started;
    await returnToRelease(run, { release: run.from, db, keepCopy });
  } catch (error) {
    const why = error instanceof StepError ? error.message : (error as Error).message;
    const message = `${failure.message}; rollback failed: ${why}`;
    finishDeployment(run.db, run.id, "failed", message);
    return new StepError(failure.step, message, ExitCode.rollbackFailed, { cause: error });
  }
  finishDeployment(run.db, run.id, "rolled-back", failure.message);
  return failure;
}
