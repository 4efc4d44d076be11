// Strategy `restart`, DESIGN.md "Sync, step by step" 4–9: build beside the live release, copy the
// DB while it still serves, stop, bring the copy up to the complete DB, switch, migrate, start,
// verify; a failure goes back by the same named steps (src/rollback/undo-deploy.ts).

import type { DeployRun } from "../deploy/run.js";
import { stepFailure } from "../deploy/run.js";
import { rollBack } from "../rollback/undo-deploy.js";
import { abandonPrecopyOf, awaitBackupVerified, backupStep, precopyStep } from "../steps/backup.js";
import { buildStep } from "../steps/build.js";
import { migrateStep } from "../steps/migrate.js";
import { startStep, stopStep, switchStep, verifyStep } from "../steps/service-steps.js";
import { deployed, failed } from "./conclude.js";
import type { Strategy } from "./strategy.js";

export const restart: Strategy = {
  async deploy(run: DeployRun) {
    const started = performance.now();
    try {
      // 4. Build the release beside the live one, which keeps serving.
      await buildStep(run);
      // 6, its bulk: copy the DB while the old release serves (steps/backup.ts).
      await precopyStep(run);
      // 5. Stop the service and wait for its cgroup to empty: nothing writes the DB any more.
      await stopStep(run);
      // 6. Back up the DB, now complete: every committed row is in it. Only what changed since
      // the pre-copy is applied here, so the stop window does not grow with the DB.
      await backupStep(run);
      // 7. Swap `current`, migrate, start.
      await switchStep(run);
      await migrateStep(run);
      await startStep(run);
      // 8. Verify: unit active, master + workers, every health answer on the new REVISION.
      await verifyStep(run);
      // The backup's own quick_check ran while the app came back.
      await awaitBackupVerified(run);
    } catch (error) {
      await abandonPrecopyOf(run);
      // 9. Put the old release back (DB included if a migration ran) and say how that went.
      const failure = await rollBack(run, stepFailure(run, "build", error));
      return failed(run, failure, run.progress.stopped ? run.from?.revision : undefined);
    }
    return deployed(run, started);
  },
};
