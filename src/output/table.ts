// Plain-text tables for people at a terminal; colour only when stdout is a TTY.
import { printable } from "./sanitize.js";

// Where human output goes, as far as this module needs to know; process.stdout is one.
export interface OutputStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface TableOptions {
  // Header of the column whose cells are status words (ok, critical…), coloured on a terminal.
  statusColumn?: string;
  stream?: Pick<OutputStream, "isTTY">;
}

// A table of cells as they are, whoever wrote them: every cell is made printable here, and only
// then is the status column coloured, so a caller cannot forget to sanitize and the agent's own
// colour codes are the only escapes in the result. A cell coloured beforehand shows its ESC as
// `\x1b`, which makes that mistake visible rather than dangerous.
export function renderTable(
  headers: string[],
  rows: string[][],
  options: TableOptions = {},
): string {
  const status = options.statusColumn === undefined ? -1 : headers.indexOf(options.statusColumn);
  const cells = rows.map((r) => headers.map((_, i) => printable(r[i] ?? "")));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (texts: string[], colour: boolean) =>
    texts
      .map((text, i) => {
        const shown = colour && i === status ? colourStatus(text, text, options.stream) : text;
        if (i === texts.length - 1) return shown;
        return shown + " ".repeat((widths[i] ?? 0) - text.length);
      })
      .join("  ")
      .trimEnd();
  return [line(headers, false), ...cells.map((r) => line(r, true))].join("\n");
}

const COLOURS: Record<string, string> = {
  ok: "32",
  warning: "33",
  critical: "31",
  unknown: "35",
  failed: "31",
  deployed: "32",
  "rolled-back": "33",
};

// Colour a status word (or `text` standing for it) when writing to a terminal without NO_COLOR.
// `text` is printed as it is: it must be the agent's own words or already printable.
export function colourStatus(
  status: string,
  text = status,
  stream: Pick<OutputStream, "isTTY"> = process.stdout,
): string {
  const code = COLOURS[status];
  if (!code || !stream.isTTY || process.env.NO_COLOR) return text;
  return `\x1b[${code}m${text}\x1b[0m`;
}

// Durations as people read them: 850ms, 4.2s, 3m05s.
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
