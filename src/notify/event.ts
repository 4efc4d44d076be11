// What a notification says: DESIGN.md's `{event, app, host, revision, status, message, at}`, plus,
// for a deploy that failed, the step that failed and its error as fields of their own.
import { hostname } from "node:os";
import type { CheckReport } from "../check/run-checks.js";
import type { NotifyEventName } from "../config/schema.js";
import type { SyncResult } from "../deploy/result.js";
import { printable } from "../output/sanitize.js";

export interface NotifyEvent {
  event: NotifyEventName | "test";
  app: string;
  host: string;
  revision: string | null;
  // The sync's outcome (deployed, rolled-back, failed) or the check's verdict.
  status: string;
  message: string;
  at: string;
  step?: string | null;
  error?: string | null;
}

// Longest message sent: a summary, not a log.
const MAX_MESSAGE = 1500;

// The event a finished sync is, or undefined for one nobody is told of (a no-op, an unreachable
// remote: the app did not change). `failure` is the failed deployment's step and error.
export function syncEvent(
  result: Pick<SyncResult, "app" | "revision" | "message"> & { outcome: string },
  failure?: { step: string | null; error: string | null },
  at = new Date(),
): NotifyEvent | undefined {
  if (
    result.outcome !== "deployed" &&
    result.outcome !== "rolled-back" &&
    result.outcome !== "failed" &&
    result.outcome !== "refused"
  ) {
    return undefined;
  }
  const sha = result.revision ? result.revision.slice(0, 12) : "";
  const error = failure?.error ?? result.message ?? null;
  const step = failure?.step ?? null;
  const message =
    result.outcome === "deployed"
      ? `${result.app}: deployed ${sha}`
      : result.outcome === "refused"
        ? (result.message ?? `${result.app}: ${sha} refused`)
        : result.outcome === "rolled-back"
          ? `${result.app}: deploy of ${sha} failed${step ? ` at ${step}` : ""} and was rolled back: ${error ?? "no reason recorded"}`
          : `${result.app}: deploy of ${sha} failed${step ? ` at ${step}` : ""} and could not be undone: ${error ?? "no reason recorded"}`;
  // A refused commit is a failed deploy to whoever listens; its status says which kind.
  const outcome: NotifyEventName = result.outcome === "refused" ? "failed" : result.outcome;
  return {
    event: outcome,
    app: result.app,
    host: hostname(),
    revision: result.revision ?? null,
    status: result.outcome,
    message: clean(message),
    at: at.toISOString(),
    step,
    error: error === null ? null : clean(error),
  };
}

// promotion-failed: the deploy stands, its push to promote.branch did not land.
export function promotionEvent(
  result: Pick<SyncResult, "app" | "revision" | "promotion">,
  at = new Date(),
): NotifyEvent | undefined {
  const p = result.promotion;
  if (!p || p.outcome === "promoted" || p.repeated) return undefined;
  const sha = result.revision ? result.revision.slice(0, 12) : "";
  return {
    event: "promotion-failed",
    app: result.app,
    host: hostname(),
    revision: result.revision ?? null,
    status: p.outcome,
    message: clean(
      `${result.app}: promotion of ${sha} to ${p.branch} ${p.outcome}: ${p.message ?? "no reason recorded"}`,
    ),
    at: at.toISOString(),
  };
}

// check-critical names the failing checks with their summaries; check-recovered says how it is.
export function checkEvent(
  event: "check-critical" | "check-recovered",
  report: CheckReport,
  revision: string | null,
  reminder = false,
  at = new Date(),
): NotifyEvent {
  const failing = report.checks.filter((c) => c.status !== "ok");
  const problems = failing.map((c) => `${c.name} ${c.status}: ${c.summary}`).join("; ");
  const message =
    event === "check-critical"
      ? `${report.app} is critical${reminder ? " (still)" : ""}: ${problems}`
      : `${report.app} is ${report.status} again${problems ? `: ${problems}` : ""}`;
  return {
    event,
    app: report.app,
    host: hostname(),
    revision,
    status: report.status,
    message: clean(message),
    at: at.toISOString(),
  };
}

// One printable line of bounded length: the app chose parts of it (versions, error output).
function clean(text: string): string {
  return printable(text, MAX_MESSAGE);
}
