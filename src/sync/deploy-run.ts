// What one deployment carries from step to step, and the runner that records every step.
import type { AppConfig } from "../config/schema.js";
import { describeError, StepError } from "../errors.js";
import type { Logger } from "../log.js";
import type { AppLayout, LiveRelease } from "../release/layout.js";
import { beginStep, endStep } from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";
import { InterruptedError, type Interruption, stopIfInterrupted } from "./interruption.js";
import type { StepPrinter } from "./printer.js";
import { type StepName, shortSha } from "./step-names.js";

// How far a deployment changed the host: what a rollback has to undo.
export interface Progress {
  stopped: boolean;
  switched: boolean;
  migrated: boolean;
  started: boolean;
  // The DB backup taken after the stop (step 6); undefined when the app has no DB file yet.
  backupPath?: string;
}

export interface DeployRun {
  app: AppConfig;
  layout: AppLayout;
  db: StateDb;
  log: Logger;
  printer: StepPrinter;
  interruption: Interruption;
  // The deployments row this run writes.
  id: number;
  // The commit being deployed.
  sha: string;
  // The release that was live when the run began; undefined on a first deploy.
  from: LiveRelease | undefined;
  // Directory name of the new release, known once the build has chosen it.
  release?: string;
  progress: Progress;
}

export function freshProgress(): Progress {
  return { stopped: false, switched: false, migrated: false, started: false };
}

// Run one step: record it as begun in the state DB before it touches anything (crash recovery
// reads that), time it, log one event and print one line, and turn a failure into a StepError
// that names the step, the app and the commit.
export async function runStep<T>(
  run: DeployRun,
  step: StepName,
  fn: (note: (text: string) => void) => Promise<T>,
): Promise<T> {
  // Between steps is where a Ctrl-C takes effect: the one before has finished.
  stopIfInterrupted(run.interruption, step, run.progress.started);
  const rowId = beginStep(run.db, run.id, step);
  let noteText: string | undefined;
  const started = performance.now();
  run.printer.begin(step);
  try {
    const value = await fn((text) => {
      noteText = text;
    });
    const ms = performance.now() - started;
    endStep(run.db, rowId, "ok", ms, noteText);
    run.log.info({ step, durationMs: Math.round(ms), outcome: "ok", note: noteText }, `${step} ok`);
    run.printer.end(step, ms, "ok", noteText);
    return value;
  } catch (error) {
    const ms = performance.now() - started;
    const failure = stepFailure(run, step, error);
    endStep(run.db, rowId, "failed", ms, failure.message);
    run.log.error(
      { step, durationMs: Math.round(ms), outcome: "failed", err: error },
      failure.message,
    );
    run.printer.end(step, ms, "failed", describeError(error).split("\n")[0]);
    throw failure;
  }
}

// "migrate failed for shop at 3f2a1c9b0d1e: exit 1": the step, the app and the commit.
export function stepFailure(run: DeployRun, step: StepName, error: unknown): StepError {
  if (error instanceof StepError) return error;
  if (error instanceof InterruptedError) {
    return new StepError(step, `${error.message} (deploying ${shortSha(run.sha)})`, 1, {
      cause: error,
    });
  }
  const why = describeError(error).split("\n")[0];
  return new StepError(
    step,
    `${step} failed for ${run.app.name} at ${shortSha(run.sha)}: ${why}`,
    1,
    {
      cause: error,
    },
  );
}

// Record a step that was decided without running (e.g. migrate with no hook configured).
export function skipStep(run: DeployRun, step: StepName, why: string): void {
  stopIfInterrupted(run.interruption, step, run.progress.started);
  const rowId = beginStep(run.db, run.id, step);
  endStep(run.db, rowId, "skipped", 0, why);
  run.log.info({ step, durationMs: 0, outcome: "skipped" }, `${step} skipped: ${why}`);
  run.printer.end(step, 0, "skipped", why);
}
