// Progress of a run as typed events: what the terminal printer, the pino log, the state DB
// (`agent history`) and the daemon's STATUS= line all consume, each in its own way. Nothing
// downstream parses the human sentences: the facts travel as fields.
import type { StepName } from "./step-names.js";

export type StepOutcome = "ok" | "failed" | "skipped";

// What kind of run a "run" event opens.
export type RunKind = "deploy" | "rollback" | "restore" | "recover";

export type DeployEvent =
  // A run begins. `sha` is the commit it brings into service, `text` the sentence a person reads
  // ("shop: deploying 3f2a1c9b0d1e (main) over 1b2c3d4e5f6a").
  | { type: "run"; app: string; kind: RunKind; sha?: string; text: string }
  | { type: "step-begin"; app: string; step: StepName }
  // A long step says how far it is (a drain: "draining blue: 3 connections, 2m15s of 2m").
  | { type: "step-progress"; app: string; step: StepName; text: string }
  | {
      type: "step-end";
      app: string;
      step: StepName;
      durationMs: number;
      outcome: StepOutcome;
      note?: string;
      // Set for a step that ran before the run's deployment row existed (the fetch).
      startedAt?: Date;
      // A failure: the error, for the log, and the sentence `agent history` keeps ("migrate
      // failed for shop at 3f2a1c9b0d1e: exit 1"); `note` has the error's first line.
      error?: unknown;
      message?: string;
    }
  // A closing sentence: how the run ended, why recovery failed.
  | { type: "said"; app: string; text: string };

export type EventSink = (event: DeployEvent) => void;

// For runs nobody watches live (the daemon's checks, tests).
export const ignoreEvents: EventSink = () => {};

// Hand every event to each sink, in order: the state DB first, so a step is on record before
// it runs and before anyone is told it began.
export function fanOut(...sinks: EventSink[]): EventSink {
  return (event) => {
    for (const sink of sinks) sink(event);
  };
}
