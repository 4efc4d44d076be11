// What one deployment carries from step to step, and the runner that records every step.

import type { AppConfig } from "../config/schema.js";
import { describeError, StepError } from "../errors.js";
import type { Logger } from "../log.js";
import type { AppLayout, LiveRelease } from "../release/layout.js";
import type { Precopy } from "../sqlite/precopy.js";
import type { StateDb } from "../state/state-db.js";
import type { EventSink } from "./events.js";
import { InterruptedError, type Interruption, stopIfInterrupted } from "./interruption.js";
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
  // Where the run's steps go: the deployment row, the log and whoever watches (run-sinks.ts).
  emit: EventSink;
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
  // When this run switched the release the app runs (`current`, or a color's link), in ms since
  // boot: verify proves every master and worker started after it. Boot-relative, so a clock set
  // back or forward meanwhile cannot fail a good deploy; unknown to a run that did not switch
  // (recovery after a power cut, where every process of this boot started after the switch).
  switchedAt?: number;
  // The DB copied while the app still served, waiting for the stop (steps/backup.ts); taken up
  // by the backup step, or abandoned when the deploy fails before it.
  precopy?: Precopy;
  // The quick_check of a backup brought up to date after the stop, running while the deploy goes
  // on: resolves to what is wrong with it, or undefined.
  backupVerified?: Promise<string | undefined>;
}

export function freshProgress(): Progress {
  return { stopped: false, switched: false, migrated: false, started: false };
}

// What a step's body may say while it runs: a note for its line when it ends, and progress
// for a long step (a drain), shown live on a terminal and in the daemon's STATUS=.
export interface StepSay {
  note(text: string): void;
  progress(text: string): void;
}

// Run one step: announce it (the state DB records it as begun before it touches anything, which
// crash recovery reads), time it, announce its end, and turn a failure into a StepError that
// names the step, the app and the commit.
export async function runStep<T>(
  run: DeployRun,
  step: StepName,
  fn: (note: (text: string) => void, say: StepSay) => Promise<T>,
): Promise<T> {
  // Between steps is where a Ctrl-C takes effect: the one before has finished.
  stopIfInterrupted(run.interruption, step, run.progress.started);
  const app = run.app.name;
  let noteText: string | undefined;
  const say: StepSay = {
    note: (text) => {
      noteText = text;
    },
    progress: (text) => run.emit({ type: "step-progress", app, step, text }),
  };
  run.emit({ type: "step-begin", app, step });
  const started = performance.now();
  try {
    const value = await fn(say.note, say);
    const durationMs = performance.now() - started;
    run.emit({ type: "step-end", app, step, durationMs, outcome: "ok", note: noteText });
    return value;
  } catch (error) {
    const durationMs = performance.now() - started;
    const failure = stepFailure(run, step, error);
    const note = describeError(error).split("\n")[0];
    const message = failure.message;
    run.emit({ type: "step-end", app, step, durationMs, outcome: "failed", note, error, message });
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
  run.emit({
    type: "step-end",
    app: run.app.name,
    step,
    durationMs: 0,
    outcome: "skipped",
    note: why,
  });
}
