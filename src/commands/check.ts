// `agent check`: run every health check once; Nagios exit codes, table or --json.
import { type CheckReport, runChecks } from "../check/run-checks.js";
import { loadConfig, selectApp } from "../config/load.js";
import { NagiosCode } from "../errors.js";
import { logger } from "../log.js";
import { colourStatus, formatDuration, renderTable } from "../output/table.js";
import { recordCheck } from "../state/check-records.js";
import { openStateDb } from "../state/state-db.js";

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

function renderReport(report: CheckReport): string {
  const rows = report.checks.map((c) => [c.name, colourStatus(c.status), c.summary]);
  const lines = [renderTable(["CHECK", "STATUS", "SUMMARY"], rows)];
  for (const change of report.changes) lines.push(`fixed: ${change}`);
  lines.push(
    `${report.app}: ${colourStatus(report.status, report.status.toUpperCase())} in ${formatDuration(report.durationMs)}`,
  );
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
