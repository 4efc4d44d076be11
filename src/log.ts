// Structured logging: pino JSON lines on stderr, where journald picks them up.
import { fstatSync } from "node:fs";
import { pino } from "pino";

export type Logger = pino.Logger;

// Everything from info up goes to the journal, where the structured events are the record. At a
// terminal, in a pipe or from cron the human output (table, step list) is the record, so only
// warnings are logged unless DEPLOY_AGENT_LOG_LEVEL asks for more.
function defaultLevel(): string {
  if (process.env.DEPLOY_AGENT_LOG_LEVEL) return process.env.DEPLOY_AGENT_LOG_LEVEL;
  return stderrIsJournal() ? "info" : "warn";
}

// systemd sets JOURNAL_STREAM to "<device>:<inode>" of the journal stream it connected; it is
// only ours if stderr is still that stream (a child whose stderr was redirected inherits the
// variable, so its mere presence proves nothing). See systemd.exec(5), "JOURNAL_STREAM".
function stderrIsJournal(): boolean {
  const stream = process.env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const { dev, ino } = fstatSync(2);
    return stream === `${dev}:${ino}`;
  } catch {
    return false;
  }
}

// Synchronous writes to fd 2; a failed write (the terminal hung up) is dropped, never thrown into
// the run that is logging (it may be in the middle of putting an app back).
const destination = pino.destination({ dest: 2, sync: true });
destination.on("error", () => {});

export const logger: Logger = pino(
  {
    name: "deploy-agent",
    level: defaultLevel(),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  destination,
);
