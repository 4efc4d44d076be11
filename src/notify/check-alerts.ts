// Check verdicts turned into notifications on change only, as Monit alerts: `check-critical`
// when an app becomes critical, `check-recovered` when it stops being critical, and reminders
// while it lasts for targets that ask for them. Kept in the state DB, so the CLI's `agent check`
// and the daemon's schedule agree on what changed, whichever saw it.
import type { CheckReport } from "../check/run-checks.js";
import { recall, remember } from "../state/app-memory.js";
import type { StateDb } from "../state/state-db.js";
import { checkEvent, type NotifyEvent } from "./event.js";
import type { NotifyTarget } from "./targets.js";

const MEMORY_KEY = "alert";

interface AlertState {
  critical: boolean;
  // ms since the epoch each target was last told this app is critical.
  told: Record<string, number>;
}

export interface AlertDecision {
  event: NotifyEvent;
  // The targets to tell: every one for a change, only those due a reminder otherwise.
  targets: NotifyTarget[];
}

// What to send for this verdict (and remember it); undefined when nothing changed.
export function noteVerdict(
  db: StateDb,
  targets: NotifyTarget[],
  report: CheckReport,
  revision: string | null,
  now = Date.now(),
): AlertDecision | undefined {
  const before = readState(db, report.app);
  const critical = report.status === "critical";
  if (critical && !before.critical) {
    const told = Object.fromEntries(targets.map((t) => [t.key, now]));
    writeState(db, report.app, { critical: true, told });
    return { event: checkEvent("check-critical", report, revision), targets };
  }
  if (!critical && before.critical) {
    writeState(db, report.app, { critical: false, told: {} });
    return { event: checkEvent("check-recovered", report, revision), targets };
  }
  if (!critical) return undefined;
  const due = targets.filter(
    (t) => t.remindMs !== undefined && now - (before.told[t.key] ?? 0) >= t.remindMs,
  );
  if (due.length === 0) return undefined;
  for (const t of due) before.told[t.key] = now;
  writeState(db, report.app, before);
  return { event: checkEvent("check-critical", report, revision, true), targets: due };
}

function readState(db: StateDb, app: string): AlertState {
  try {
    const parsed = JSON.parse(recall(db, app, MEMORY_KEY) ?? "") as AlertState;
    return { critical: parsed.critical === true, told: parsed.told ?? {} };
  } catch {
    return { critical: false, told: {} };
  }
}

function writeState(db: StateDb, app: string, state: AlertState): void {
  remember(db, app, MEMORY_KEY, JSON.stringify(state));
}
