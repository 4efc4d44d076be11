// `agent status [APP] [--json]`: live release, branch, service, lock, last sync, last check,
// next check, and the daemon's own state.
import { isStopped } from "../check/color-state.js";
import { formatClock } from "../check/format.js";
import { type LoadedConfig, loadConfig, selectApp } from "../config/load.js";
import type { AppConfig } from "../config/schema.js";
import {
  appStatusPart,
  type DaemonStatus,
  daemonStatus,
  nextCheckOf,
} from "../daemon/daemon-unit-status.js";
import { printableData } from "../output/sanitize.js";
import { colourStatus, formatDuration } from "../output/table.js";
import { openStateDb } from "../state/state-db.js";
import { type AppStatus, appStatus } from "../views/app-status.js";
import type { BlueGreenStatus } from "../views/colors-status.js";
import { deploymentLines } from "../views/deployment-view.js";

export interface StatusOptions {
  config?: string;
  app?: string;
  json: boolean;
}

// Always 0: status reports, `agent check` judges.
export async function statusCommand(options: StatusOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  const apps = chosenApps(loaded, options.app);
  const db = openStateDb();
  let statuses: AppStatus[];
  let daemon: DaemonStatus;
  try {
    [statuses, daemon] = await Promise.all([
      Promise.all(apps.map((app) => appStatus(app, db))),
      daemonStatus(),
    ]);
  } finally {
    db.close();
  }
  const withDaemon = statuses.map((s) => {
    const daemonSays = appStatusPart(daemon.statusText, s.app);
    return { ...s, daemonSays, nextCheck: nextCheckOf(daemonSays) };
  });
  const text = options.json
    ? `${JSON.stringify({ daemon, apps: withDaemon }, null, 2)}\n`
    : `${[renderDaemon(daemon), ...withDaemon.map((st) => renderStatus(st, daemon.active === "active"))].join("\n\n")}\n`;
  process.stdout.write(text);
  return 0;
}

// The named app, or every app: reading the status of all of them is harmless.
export function chosenApps(loaded: LoadedConfig, name?: string): AppConfig[] {
  return name ? [selectApp(loaded, name)] : loaded.apps;
}

export type AppStatusWithDaemon = AppStatus & {
  daemonSays: string | null;
  nextCheck: string | null;
};

// "deploy-agent.service active (running) since …, pid 412", or why there are no scheduled checks.
// Rendered from a printable copy like the apps' status: systemd's words are not ours either.
function renderDaemon(raw: DaemonStatus): string {
  const d = printableData(raw);
  const state = `${d.unit} ${d.active} (${d.sub})`;
  if (d.active !== "active") return `daemon  ${state}: no scheduled checks on this host`;
  return `daemon  ${state} since ${d.since ?? "?"}, pid ${d.pid}`;
}

// One app's status as text. Release names, revisions, the lock holder's command line and the
// last deployment's error come from the app or its hooks: the text is rendered from a printable
// copy, so only the agent's own colour codes reach the terminal.
export function renderStatus(raw: AppStatusWithDaemon, daemonActive: boolean): string {
  const s = printableData(raw);
  const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : "-");
  const behind = s.branch.commitsAhead ? ` (${s.branch.commitsAhead} commits not deployed)` : "";
  const lines = [
    s.app,
    row("live", s.live ? `${s.live.release} since ${s.live.since}` : "no live release"),
    row("branch", `${s.branch.name} at ${short(s.branch.head)}${behind}`),
    ...(s.strategy === "blue-green" ? colorRows(s) : []),
    row(
      "service",
      `${s.service.unit} ${s.service.active} (${s.service.sub}), main pid ${s.service.mainPid}, ${s.service.processes} processes`,
    ),
    row(
      "lock",
      s.lock ? `held by ${s.lock.command} (pid ${s.lock.pid}, since ${s.lock.since})` : "free",
    ),
  ];
  if (s.signer) lines.push(row("signed by", s.signer));
  if (s.promotion) lines.push(row("promotion", promotionText(s.promotion)));
  if (s.held)
    lines.push(row("hold", "starts of the app wait: a deployment is running or was interrupted"));
  if (s.interrupted.length > 0) {
    lines.push(
      row(
        "interrupted",
        `deployment ${s.interrupted.map((id) => `#${id}`).join(", ")}: the next sync recovers it`,
      ),
    );
  }
  const sync = s.lastSync;
  if (sync)
    lines.push(
      row(
        "last sync",
        `${sync.at} ${colourStatus(String(sync.outcome))} ${short(sync.revision as string)}`,
      ),
    );
  if (s.lastDeployment) {
    lines.push(row("last deploy", ""), ...deploymentLines(s.lastDeployment).map((l) => `    ${l}`));
  }
  const check = s.lastCheck;
  if (check) {
    lines.push(
      row(
        "last check",
        `${check.at} ${colourStatus(check.status)} in ${formatDuration(check.durationMs)} (${check.trigger})`,
      ),
    );
  }
  if (s.daemonSays) lines.push(row("daemon", s.daemonSays));
  lines.push(
    row("next check", s.nextCheck ?? (daemonActive ? "-" : "- (the daemon is not running)")),
  );
  return lines.map((l) => l.trimEnd()).join("\n");
}

// "serving  green :8002 (release …)", then what the other color does: idle, draining, or left
// running after its drain (which `agent check` warns about).
export function colorRows(s: BlueGreenStatus): string[] {
  if (!s.color) {
    return [row("serving", s.upstreamError ?? "no color serves yet: run agent sync")];
  }
  const serving = s.colors[s.color];
  const rows = [row("serving", `${s.color} :${serving.port} (release ${serving.release ?? "-"})`)];
  const otherName = s.color === "blue" ? "green" : "blue";
  const other = s.colors[otherName];
  const n = `${other.connections} connection${other.connections === 1 ? "" : "s"}`;
  if (s.drain?.color === otherName) {
    rows.push(row("draining", `${otherName}: ${n} since ${formatClock(s.drain.since)}`));
  } else if (isStopped(other.state) || other.state === "unknown") {
    rows.push(row("idle", `${otherName} ${other.state === "failed" ? "failed" : "stopped"}`));
  } else {
    rows.push(
      row("running", `${otherName} ${other.state}: ${n}, its drain ended (agent sync stops it)`),
    );
  }
  return rows;
}

// "verified/uat: promoted 3f2a1c9b0d1e at …", or what is pending and why.
function promotionText(p: NonNullable<AppStatusWithDaemon["promotion"]>): string {
  const last = p.last;
  if (last?.outcome === "promoted")
    return `${p.branch}: ${last.revision.slice(0, 12)} promoted at ${last.at}`;
  if (!p.due) return `${p.branch}: nothing to promote`;
  if (!last) return `${p.branch}: pending (the next sync or poll pushes it)`;
  return `${p.branch}: pending, last attempt ${colourStatus(last.outcome)} at ${last.at}: ${last.message ?? ""}`;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(12)}${value}`;
}
