// Check "logs": lines of the app unit's own journal within `window` that match `pattern` (a
// Python Traceback, ERROR), counted against the warning and critical thresholds, the newest one
// quoted on one line. Read through journalctl's JSON output, bounded in entries, bytes and time,
// so a chatty app cannot stall a check or fill the agent's memory.
import { COLORS, colorUnit } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import { printable } from "../output/sanitize.js";
import { run } from "../system/run.js";
import type { Check, CheckOutcome } from "./types.js";

type LogsConfig = NonNullable<AppConfig["logs"]>;

// The newest entries read from the window: past this many the count says "at least".
export const MAX_ENTRIES = 5_000;
// journalctl's output kept (the newest part); entries cut off at the front are not counted.
const MAX_OUTPUT = 8 * 1024 * 1024;
const JOURNAL_TIMEOUT_MS = 10_000;
// The quoted line, cut to this many characters.
const QUOTE_LENGTH = 160;
// Each line is matched on its first this-many characters only, and all matching of one check
// stops after MATCH_BUDGET_MS: the pattern is the operator's, the lines are the app's, and a
// pattern that backtracks (`ERROR.*timeout`) over long lines would otherwise hold the agent's
// event loop, and every time-out the daemon keeps with it, for minutes.
const MATCHED_LENGTH = 1024;
const MATCH_BUDGET_MS = 2_000;

export interface LogScan {
  // Entries read from the window, and how many of them match.
  entries: number;
  matches: number;
  // Whether the window held more entries than were read, or matching ran out of time.
  capped: boolean;
  newest?: { message: string; at: string };
}

export const logsCheck: Check = {
  name: "logs",
  async run(ctx) {
    const logs = ctx.app.logs;
    if (!logs) return { status: "ok", summary: "not configured", details: {} };
    // A blue-green app's lines come from both colors: the one that served until the last switch
    // logged what happened in the window as much as the one serving now.
    const bg = ctx.blueGreen;
    const units = bg ? COLORS.map((c) => colorUnit(bg.app.service, c)) : [ctx.app.service];
    const secrets = ctx.app.env_file?.required ?? [];
    return judgeLogs(logs, units, await scanJournal(logs, units, secrets));
  },
};

// Read the units' journal entries of the window and count the matching ones.
export async function scanJournal(
  logs: LogsConfig,
  units: string[],
  secrets: string[] = [],
  now = Date.now(),
): Promise<LogScan | string> {
  // journalctl takes whole seconds; the entries of the second before the window's start are
  // dropped here by their own timestamps, so a line leaves the window when the window says.
  const sinceMs = now - logs.window;
  const since = Math.floor(sinceMs / 1000);
  const result = await run(
    "journalctl",
    [
      "--no-pager",
      "--quiet",
      "--all",
      "--output=json",
      "--output-fields=MESSAGE",
      `--since=@${since}`,
      `--lines=${MAX_ENTRIES + 1}`,
      // Matches of one field are ORed: the unit's own processes, not systemd's lines about it.
      ...units.map((u) => `_SYSTEMD_UNIT=${u}`),
    ],
    { reject: false, timeoutMs: JOURNAL_TIMEOUT_MS, killAfterMs: 1_000, maxBuffer: MAX_OUTPUT },
  );
  if (result.timedOut) return `journal not read within ${JOURNAL_TIMEOUT_MS / 1000} s`;
  if (result.exitCode !== 0) {
    return `journalctl exit ${result.exitCode}: ${result.stderr.trim().split("\n")[0] ?? ""}`;
  }
  return countMatches(result.stdout, new RegExp(logs.pattern), sinceMs * 1000, secrets);
}

// Count the entries (one JSON object per line, oldest first) whose message matches, of those
// written at or after `sinceMicros` (microseconds since the epoch, as the journal counts). The
// newest entries are matched first, so a scan cut short by its time budget has counted the
// latest lines. The quoted line has the values of `secrets` (the env_file's required keys, as
// `KEY=value` or `KEY: value`) masked: an app that logs its configuration must not have the
// agent copy a secret into its own log and state DB.
export function countMatches(
  output: string,
  pattern: RegExp,
  sinceMicros = 0,
  secrets: string[] = [],
  budgetMs = MATCH_BUDGET_MS,
): LogScan {
  const lines = output.split("\n").filter((l) => l.startsWith("{"));
  let capped = lines.length > MAX_ENTRIES;
  const read = capped ? lines.slice(lines.length - MAX_ENTRIES) : lines;
  const deadline = performance.now() + budgetMs;
  let entries = 0;
  let matches = 0;
  let newest: LogScan["newest"];
  for (const line of read.reverse()) {
    if (performance.now() > deadline) {
      capped = true;
      break;
    }
    let entry: { MESSAGE?: unknown; __REALTIME_TIMESTAMP?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // the front of the kept output, cut mid-line
    }
    const micros = Number(entry.__REALTIME_TIMESTAMP);
    if (micros < sinceMicros) continue;
    entries++;
    const message = messageText(entry.MESSAGE);
    const hit = message.split("\n").find((l) => pattern.test(l.slice(0, MATCHED_LENGTH)));
    if (hit === undefined) continue;
    matches++;
    newest ??= {
      message: printable(mask(hit.slice(0, MATCHED_LENGTH).trim(), secrets), QUOTE_LENGTH),
      at: Number.isFinite(micros) ? new Date(micros / 1000).toISOString() : "",
    };
  }
  return { entries, matches, capped, newest };
}

// `KEY=value`, `KEY = "value"`, `KEY: value` with the value replaced by ***, for the given keys
// (environment variable names, validated by the config: no regex syntax in them).
export function mask(line: string, keys: string[]): string {
  if (keys.length === 0) return line;
  const assignment = new RegExp(`\\b(${keys.join("|")})(\\s*[=:]\\s*)("[^"]*"|'[^']*'|\\S+)`, "g");
  return line.replace(assignment, "$1$2***");
}

// journalctl's JSON has a message as a string, as an array of bytes when it is not valid UTF-8,
// or as null when it is too big to show (--all lifts that limit).
function messageText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((b) => typeof b === "number")) {
    return Buffer.from(value as number[]).toString("utf8");
  }
  return "";
}

export function judgeLogs(logs: LogsConfig, units: string[], scan: LogScan | string): CheckOutcome {
  const details: Record<string, unknown> = {
    units,
    window: logs.window / 1000,
    pattern: logs.pattern,
  };
  if (typeof scan === "string") return { status: "unknown", summary: scan, details };
  Object.assign(details, scan);
  const window = formatWindow(logs.window);
  const count = `${scan.capped ? "at least " : ""}${scan.matches} line${scan.matches === 1 ? "" : "s"}`;
  if (scan.matches === 0) {
    return {
      status: "ok",
      summary: `no line matches in the last ${window} (${scan.entries} read)`,
      details,
    };
  }
  const status =
    scan.matches >= logs.critical ? "critical" : scan.matches >= logs.warning ? "warning" : "ok";
  return {
    status,
    summary: `${count} in the last ${window} match, newest: ${scan.newest?.message ?? ""}`,
    details,
  };
}

// 900000 → "15m", 5400000 → "1h30m", 10000 → "10s".
export function formatWindow(ms: number): string {
  let seconds = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join("");
}
