// The pino side of the event stream: one JSON line per step, with app, release and duration.
import type { Logger } from "../log.js";
import type { EventSink } from "./events.js";

// Step ends (and runs beginning) become log events; live progress is for people and STATUS=,
// and would flood the journal at one line a second.
export function logSink(log: Logger): EventSink {
  return (event) => {
    if (event.type === "step-end") {
      const { step, durationMs, outcome, note, error } = event;
      const fields = { step, durationMs: Math.round(durationMs), outcome, note };
      if (outcome === "failed") log.error({ ...fields, err: error }, `${step} failed: ${note}`);
      else if (outcome === "skipped") log.info(fields, `${step} skipped: ${note}`);
      else log.info(fields, `${step} ok`);
    } else if (event.type === "run") {
      log.info({ run: event.kind, revision: event.sha }, event.text);
    }
  };
}
