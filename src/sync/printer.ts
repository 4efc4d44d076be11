// The live step list a person at a shell sees on stdout: one line per step with its duration.
import { colourStatus, formatDuration } from "../output/table.js";

export interface StepPrinter {
  title(text: string): void;
  begin(step: string): void;
  end(step: string, durationMs: number, outcome: string, note?: string): void;
  line(text: string): void;
}

const STEP_WIDTH = 9;

// Print to a stream. On a terminal the step name shows while it runs and the line is completed
// in place; elsewhere (a pipe, the journal) each line is written once, when the step ends.
export function streamPrinter(stream: NodeJS.WriteStream = process.stdout): StepPrinter {
  const live = !!stream.isTTY;
  const row = (step: string, rest = "") => `  ${step.padEnd(STEP_WIDTH)}${rest}`;
  return {
    title: (text) => stream.write(`${text}\n`),
    begin: (step) => {
      if (live) stream.write(row(step, "…"));
    },
    end: (step, ms, outcome, note) => {
      const status = colourStatus(outcome === "failed" ? "critical" : "ok", outcome, stream);
      const text = row(
        step,
        `${formatDuration(ms).padStart(6)}  ${status}${note ? `  ${note}` : ""}`,
      );
      stream.write(live ? `\r\x1b[K${text}\n` : `${text}\n`);
    },
    line: (text) => stream.write(`${text}\n`),
  };
}

// For callers without a person watching (the daemon): the pino log carries the same events.
export const silentPrinter: StepPrinter = {
  title: () => {},
  begin: () => {},
  end: () => {},
  line: () => {},
};
