// Step 7b: run the migrate hook of the new release against the DB.
import path from "node:path";
import { type DeployRun, runStep, skipStep } from "../deploy/run.js";
import { updateDeployment } from "../state/deployments.js";
import { runHook } from "./hooks.js";

// Record "migrated" before the hook runs: a migration that dies halfway (or a power cut) has
// already changed the DB, and the rollback must then restore it.
export async function migrateDatabase(run: DeployRun): Promise<void> {
  const command = run.app.hooks.migrate;
  const release = run.release;
  if (!command || !release) return;
  run.progress.migrated = true;
  updateDeployment(run.db, run.id, { migrated: true });
  const dir = path.join(run.layout.releases, release);
  await runHook({
    app: run.app,
    hook: "migrate",
    command,
    cwd: dir,
    releaseDir: dir,
    revision: run.sha,
    log: run.log,
  });
}

// The named step: skipped for an app without a migrate hook.
export async function migrateStep(run: DeployRun): Promise<void> {
  if (run.app.hooks.migrate) await runStep(run, "migrate", () => migrateDatabase(run));
  else skipStep(run, "migrate", "no migrate hook");
}
