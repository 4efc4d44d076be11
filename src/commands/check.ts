// `agent check`: run every health check once; Nagios exit codes, table or --json.
import { type CheckReport, runChecks } from "../check/run-checks.js";
import { loadConfig, selectApp } from "../config/load.js";
import { NagiosCode } from "../errors.js";
import { logger } from "../log.js";
import { Notifications } from "../notify/notifications.js";

import { printable } from "../output/sanitize.js";
import { colourStatus, formatDuration, type OutputStream, renderTable } from "../output/table.js";
import { recordCheck } from "../state/check-records.js";
import { openStateDb } from "../state/state-db.js";

// How long `agent check` waits for its notifications at its end (see checkCommand).
const CHECK_FLUSH_MS = 1_000;

export interface CheckOptions {
  config?: string;
  app?: string;
  json?: boolean;
  fix?: boolean;
}

export async function checkCommand(options: CheckOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  const app = selectApp(loaded, options.app);
  const report = await runChecks(app, { fix: options.fix });
  saveReport(report);
  process.stdout.write(
    options.json ? `${JSON.stringify(toJson(report), null, 2)}\n` : renderReport(report),
  );
  // A change to or from critical is told from here as from the daemon's schedule, after the
  // verdict is printed. A monitoring system waits for our exit, so a slow receiver gets a second
  // here; what it did not take stays queued for the daemon or the next run.
  const notifier = new Notifications(loaded.notify, logger);
  await notifier.checkFinished(app, report);
  await notifier.flush(CHECK_FLUSH_MS);
  await notifier.close();
  return NagiosCode[report.status];
}

// The stable --json shape documented in the README.
export function toJson(report: CheckReport) {
  return {
    app: report.app,
    status: report.status,
    checks: report.checks.map(({ name, status, summary, details, durationMs }) => ({
      name,
      status,
      summary,
      details,
      durationMs,
    })),
    changes: report.changes,
    durationMs: report.durationMs,
  };
}

// The table a person reads. Summaries quote the app (versions, paths, command lines): the table
// makes its cells printable, and the change lines are made printable here.
export function renderReport(
  report: CheckReport,
  stream: Pick<OutputStream, "isTTY"> = process.stdout,
): string {
  const rows = report.checks.map((c) => [c.name, c.status, c.summary]);
  const table = renderTable(["CHECK", "STATUS", "SUMMARY"], rows, {
    statusColumn: "STATUS",
    stream,
  });
  const lines = [table];
  for (const change of report.changes) lines.push(`fixed: ${printable(change)}`);
  const verdict = colourStatus(report.status, report.status.toUpperCase(), stream);
  lines.push(`${printable(report.app)}: ${verdict} in ${formatDuration(report.durationMs)}`);
  return `${lines.join("\n")}\n`;
}

// Keep the result for `agent status` and `agent history`; a state DB that cannot be written
// must not turn a health verdict into UNKNOWN, so this only logs.
function saveReport(report: CheckReport): void {
  try {
    const db = openStateDb();
    try {
      recordCheck(db, {
        app: report.app,
        trigger: "cli",
        status: report.status,
        durationMs: report.durationMs,
        checks: report.checks,
      });
    } finally {
      db.close();
    }
  } catch (error) {
    logger.warn({ app: report.app, err: error }, "could not record check result in state DB");
  }
  logger.info(
    {
      app: report.app,
      status: report.status,
      durationMs: report.durationMs,
      failing: report.checks.filter((c) => c.status !== "ok").map((c) => c.name),
    },
    "check finished",
  );
}
