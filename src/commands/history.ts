// `agent history [APP] [--json] [--since WHEN] [--limit N]`: deployments with their steps, and
// check runs, from the state DB, newest first.

import { parseDuration } from "../config/duration.js";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { printableData } from "../output/sanitize.js";
import { formatDuration, renderTable } from "../output/table.js";
import { type CheckRecord, listChecks } from "../state/check-records.js";
import { type PromotionRecord, promotionsOf } from "../state/promotions.js";
import { openStateDb } from "../state/state-db.js";
import {
  type DeploymentJson,
  deploymentLines,
  recentDeployments,
} from "../views/deployment-view.js";
import { chosenApps } from "./status.js";

export interface HistoryOptions {
  config?: string;
  app?: string;
  json: boolean;
  since?: string;
  limit: string;
}

export interface AppHistory {
  app: string;
  deployments: DeploymentJson[];
  checks: CheckRecord[];
  // Pushes of verified commits to promote.branch, newest first (empty without `promote:`).
  promotions: PromotionRecord[];
}

export async function historyCommand(options: HistoryOptions): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit: expected a positive whole number, got "${options.limit}"`);
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const apps = chosenApps(await loadConfig(options.config), options.app);
  const db = openStateDb();
  let histories: AppHistory[];
  try {
    histories = apps.map((app) => ({
      app: app.name,
      deployments: recentDeployments(db, app.name, limit, since),
      checks: listChecks(db, app.name, limit, since),
      promotions: promotionsOf(db, app.name, limit, since),
    }));
  } finally {
    db.close();
  }
  const text = options.json
    ? `${JSON.stringify({ since: since ?? null, apps: histories }, null, 2)}\n`
    : `${histories.map(renderHistory).join("\n\n")}\n`;
  process.stdout.write(text);
  return 0;
}

// "24h" (that long ago) or a date/time; the result is an ISO time to compare with.
export function parseSince(text: string, now: number = Date.now()): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now - ms).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new UsageError(`--since: expected a duration like "24h" or a date, got "${text}"`);
  return new Date(at).toISOString();
}

// One app's history as text. Release names, revisions, errors and step messages come from the
// app and its hooks: the text is rendered from a printable copy of the record, so only the
// agent's own colour codes reach the terminal.
export function renderHistory(raw: AppHistory): string {
  const h = printableData(raw);
  const lines = [`${h.app}: deployments`];
  if (h.deployments.length === 0) lines.push("  none");
  for (const dep of h.deployments) lines.push(...deploymentLines(dep).map((l) => `  ${l}`));
  lines.push("", `${h.app}: checks`);
  if (h.checks.length === 0) lines.push("  none");
  else {
    const rows = h.checks.map((c) => [
      c.at.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      c.trigger,
      c.status,
      formatDuration(c.durationMs),
      c.results
        .filter((r) => r.status !== "ok")
        .map((r) => `${r.name}: ${r.summary}`)
        .join("; "),
    ]);
    const table = renderTable(["AT", "TRIGGER", "STATUS", "DURATION", "NOT OK"], rows, {
      statusColumn: "STATUS",
    });
    lines.push(...table.split("\n").map((l) => `  ${l}`));
  }
  if (h.promotions.length > 0) {
    const rows = h.promotions.map((p) => [
      p.at.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      p.revision.slice(0, 12),
      p.branch,
      p.outcome,
      String(p.attempts),
      p.message ?? "",
    ]);
    const table = renderTable(["AT", "REVISION", "BRANCH", "OUTCOME", "PUSHES", "MESSAGE"], rows);
    lines.push("", `${h.app}: promotions`, ...table.split("\n").map((l) => `  ${l}`));
  }
  return lines.join("\n");
}
