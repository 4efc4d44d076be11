// The one-line STATUS= text systemctl status shows, e.g. "shop: ok 8/8 at 12:15, next 12:30".
import type { CheckStatus } from "../check/types.js";

export interface AppStatusView {
  app: string;
  // What the daemon is doing for the app right now.
  activity: "idle" | "checking" | "deploying" | "restarting";
  // Commit being deployed and the step under way, when known.
  deploying?: string;
  step?: string;
  // How far the step is, when it says ("draining blue: 3 connections, 2m15s of 2m").
  detail?: string;
  last?: {
    status: CheckStatus | "deploying";
    ok: number;
    total: number;
    failing: string[];
    at: Date;
  };
  next?: Date;
}

// Local wall-clock HH:MM, as an operator reading `systemctl status` thinks of time.
export function clock(at: Date): string {
  return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
}

// One app's part of the status line.
export function formatAppStatus(view: AppStatusView): string {
  if (view.activity === "deploying") {
    const sha = view.deploying ? ` ${view.deploying.slice(0, 7)}…` : "";
    const step = view.step ? ` (${view.step}${view.detail ? `: ${view.detail}` : ""})` : "";
    return `${view.app}: deploying${sha}${step}`;
  }
  if (view.activity === "restarting") return `${view.app}: restarting after critical`;
  const parts: string[] = [];
  if (view.activity === "checking") parts.push("checking");
  const last = view.last;
  if (last && last.status === "deploying") {
    parts.push(`deploying at ${clock(last.at)}`);
  } else if (last) {
    const failing = last.failing.length > 0 ? ` (${shortList(last.failing)})` : "";
    parts.push(`${last.status} ${last.ok}/${last.total}${failing} at ${clock(last.at)}`);
  } else if (view.activity !== "checking") {
    parts.push("no check yet");
  }
  if (view.next) parts.push(`next ${clock(view.next)}`);
  return `${view.app}: ${parts.join(", ")}`;
}

// The whole line; apps separated by "; " (systemd shows STATUS on one line).
export function formatStatusText(views: AppStatusView[]): string {
  return views.map(formatAppStatus).join("; ");
}

// At most three names, so one broken app cannot push the others off the line.
function shortList(names: string[]): string {
  return names.length <= 3
    ? names.join(", ")
    : `${names.slice(0, 3).join(", ")} +${names.length - 3}`;
}
