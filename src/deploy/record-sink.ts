// The state DB side of the event stream: every step of a deployment row, begun before it runs
// (crash recovery reads the step that had begun) and closed with its outcome (`agent history`).
import { beginStep, endStep, recordStep } from "../state/deployments.js";
import type { StateDb } from "../state/state-db.js";
import type { EventSink } from "./events.js";

export function recordSink(db: StateDb, deploymentId: number): EventSink {
  // Steps run one at a time: the one begun is the one that ends next.
  let open: { step: string; row: number } | undefined;
  return (event) => {
    if (event.type === "step-begin") {
      open = { step: event.step, row: beginStep(db, deploymentId, event.step) };
    } else if (event.type === "step-end") {
      const message = event.message ?? event.note;
      if (open && open.step === event.step) {
        endStep(db, open.row, event.outcome, event.durationMs, message);
        open = undefined;
      } else {
        // Decided without running (skipped), or run before the row existed (the fetch).
        const startedAt = (event.startedAt ?? new Date()).toISOString();
        recordStep(db, deploymentId, event.step, {
          startedAt,
          durationMs: event.durationMs,
          outcome: event.outcome,
          message,
        });
      }
    }
  };
}
