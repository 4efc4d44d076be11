// What `agent status` says about the daemon: its unit's state and the STATUS= line it keeps
// current ("shop: ok 9/9 at 12:15, next 12:30"), read through systemd rather than asked of the
// daemon, so it works with the status endpoint off and says so plainly when the daemon is down.
import { showUnit } from "../system/systemd.js";

export const DAEMON_UNIT = "deploy-agent.service";

export interface DaemonStatus {
  unit: string;
  active: string;
  sub: string;
  pid: number;
  // When the unit last became active (systemd's wall-clock timestamp), null when never.
  since: string | null;
  // The daemon's own STATUS= text for every app, null when it is not running.
  statusText: string | null;
}

export async function daemonStatus(): Promise<DaemonStatus> {
  const unit = await showUnit(DAEMON_UNIT, [
    "ActiveState",
    "SubState",
    "MainPID",
    "StatusText",
    "ActiveEnterTimestamp",
  ]);
  const active = unit.ActiveState ?? "unknown";
  return {
    unit: DAEMON_UNIT,
    active,
    sub: unit.SubState ?? "unknown",
    pid: Number(unit.MainPID ?? 0),
    since: unit.ActiveEnterTimestamp || null,
    statusText: active === "active" && unit.StatusText ? unit.StatusText : null,
  };
}

// One app's part of the status line: the line joins apps with "; ", each starting "<app>: ".
export function appStatusPart(statusText: string | null, app: string): string | null {
  if (!statusText) return null;
  const part = statusText.split("; ").find((p) => p.startsWith(`${app}: `));
  return part ? part.slice(app.length + 2) : null;
}

// The next scheduled check, as the daemon wrote it ("12:30", local time), if it did.
export function nextCheckOf(part: string | null): string | null {
  return part ? (/(?:^|, )next (\d{2}:\d{2})$/.exec(part)?.[1] ?? null) : null;
}
