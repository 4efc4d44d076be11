// Plain-text tables for people at a terminal; colour only when stdout is a TTY.

export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === cells.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - visibleLength(c)),
      )
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is exactly what we strip here.
const ANSI = /\x1b\[[0-9;]*m/g;

function visibleLength(text: string): number {
  return text.replace(ANSI, "").length;
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
export function colourStatus(
  status: string,
  text = status,
  stream: NodeJS.WriteStream = process.stdout,
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
