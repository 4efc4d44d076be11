// The live step list a person at a shell sees on stdout: one line per step with its duration,
// drawn from the run's events.
import { printable } from "../output/sanitize.js";
import { colourStatus, formatDuration, type OutputStream } from "../output/table.js";
import type { EventSink } from "./events.js";

const STEP_WIDTH = 9;
// Off a terminal (a pipe, the journal), a step's progress is written at most this often.
const PIPED_PROGRESS_EVERY_MS = 10_000;

// Print to a stream. On a terminal the step name shows while it runs, its progress replaces the
// line in place, and the line is completed when it ends; elsewhere each line is written once.
// Titles, notes and lines carry release names, hook and git errors: every piece of text is made
// printable (one line, no terminal escapes) before the printer adds its own codes.
export function terminalSink(stream: OutputStream = process.stdout): EventSink {
  const live = !!stream.isTTY;
  const row = (step: string, rest = "") => `  ${printable(step).padEnd(STEP_WIDTH)}${rest}`;
  let lastPiped = 0;
  return (event) => {
    switch (event.type) {
      case "run":
      case "said":
        stream.write(`${printable(event.text)}\n`);
        return;
      case "step-begin":
        lastPiped = Date.now();
        if (live) stream.write(row(event.step, "…"));
        return;
      case "step-progress":
        if (live) stream.write(`\r\x1b[K${row(event.step, `…  ${printable(event.text)}`)}`);
        else if (Date.now() - lastPiped >= PIPED_PROGRESS_EVERY_MS) {
          lastPiped = Date.now();
          stream.write(`${row(event.step, `   …  ${printable(event.text)}`)}\n`);
        }
        return;
      case "step-end": {
        const { step, durationMs, outcome, note } = event;
        const status = colourStatus(outcome === "failed" ? "critical" : "ok", outcome, stream);
        const text = row(
          step,
          `${formatDuration(durationMs).padStart(6)}  ${status}${note ? `  ${printable(note)}` : ""}`,
        );
        stream.write(live ? `\r\x1b[K${text}\n` : `${text}\n`);
      }
    }
  };
}
