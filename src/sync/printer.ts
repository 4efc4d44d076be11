// The live step list a person at a shell sees on stdout: one line per step with its duration.
import { printable } from "../output/sanitize.js";
import { colourStatus, formatDuration, type OutputStream } from "../output/table.js";

export interface StepPrinter {
  title(text: string): void;
  begin(step: string): void;
  end(step: string, durationMs: number, outcome: string, note?: string): void;
  line(text: string): void;
}

const STEP_WIDTH = 9;

// Print to a stream. On a terminal the step name shows while it runs and the line is completed
// in place; elsewhere (a pipe, the journal) each line is written once, when the step ends.
// Titles, notes and lines carry release names, hook and git errors: every piece of text is made
// printable (one line, no terminal escapes) before the printer adds its own codes.
export function streamPrinter(stream: OutputStream = process.stdout): StepPrinter {
  const live = !!stream.isTTY;
  const row = (step: string, rest = "") => `  ${printable(step).padEnd(STEP_WIDTH)}${rest}`;
  return {
    title: (text) => stream.write(`${printable(text)}\n`),
    begin: (step) => {
      if (live) stream.write(row(step, "…"));
    },
    end: (step, ms, outcome, note) => {
      const word = printable(outcome);
      const status = colourStatus(outcome === "failed" ? "critical" : "ok", word, stream);
      const text = row(
        step,
        `${formatDuration(ms).padStart(6)}  ${status}${note ? `  ${printable(note)}` : ""}`,
      );
      stream.write(live ? `\r\x1b[K${text}\n` : `${text}\n`);
    },
    line: (text) => stream.write(`${printable(text)}\n`),
  };
}

// For callers without a person watching (the daemon): the pino log carries the same events.
export const silentPrinter: StepPrinter = {
  title: () => {},
  begin: () => {},
  end: () => {},
  line: () => {},
};
