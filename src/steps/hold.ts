// Keep the app from being started behind our back while a deployment replaces it.
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { STATE_DIR } from "../config/paths.js";
import type { AppConfig } from "../config/schema.js";
import { fsyncDir, writeDurably } from "../fs/durable.js";
import { daemonReload } from "../system/systemd.js";

// Marks the waiting ExecStartPre in argv, so the stop step does not count it as the app.
export const HOLD_TAG = "deploy-agent-hold";

export interface HoldPaths {
  marker: string;
  dropIn: string;
}

// Why a drop-in with a waiting ExecStartPre, kept in /etc, switched by a marker in /var/lib:
// - Socket traffic, an operator's `systemctl start`, or a unit that Wants= the app can start it
//   between our stop and our start. With the hold, such a start waits in ExecStartPre (clients
//   queue on the socket) and goes on, running the new release, the moment the hold is lifted.
// - A runtime drop-in in /run would vanish in a power cut mid-deploy, and at boot the app would
//   start on whatever `current` and the DB were at that moment: new code on a half-migrated DB.
//   The marker survives the cut, so the app waits at boot until the boot sync has recovered.
// - The drop-in is permanent (written once, idempotently): a deploy only writes the marker in
//   the agent's state directory, needs no daemon-reload, and works from the sandboxed daemon,
//   which may not write /etc.
export function holdPaths(app: Pick<AppConfig, "name" | "service">): HoldPaths {
  return {
    marker: path.join(STATE_DIR, "holds", `${app.name}.hold`),
    dropIn: path.join("/etc/systemd/system", `${app.service}.d`, `${HOLD_TAG}.conf`),
  };
}

// The drop-in text: `+` runs the wait as root whatever User= says, so it can read the marker.
export function holdDropIn(marker: string): string {
  return [
    "# Written by deploy-agent. While a deployment replaces this app's release (or after a power",
    "# cut interrupted one, until the boot sync has recovered) the marker exists and a start waits.",
    "[Service]",
    `ExecStartPre=+/bin/sh -c 'while [ -e ${marker} ]; do sleep 0.2; done # ${HOLD_TAG}'`,
    "",
  ].join("\n");
}

// Install the drop-in if it is missing or outdated; done before anything is stopped, so a host
// where it cannot be written fails the deploy while the live release still runs.
export async function ensureHoldDropIn(app: AppConfig): Promise<boolean> {
  const { marker, dropIn } = holdPaths(app);
  const text = holdDropIn(marker);
  if ((await readFile(dropIn, "utf8").catch(() => "")) === text) return false;
  try {
    await writeDurably(dropIn, text);
  } catch (error) {
    throw new Error(`cannot install the start hold ${dropIn}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  await daemonReload();
  return true;
}

// Place the hold: from now on a start of the app waits. Flushed, so it survives a power cut.
export async function placeHold(app: AppConfig): Promise<void> {
  await ensureHoldDropIn(app);
  const { marker } = holdPaths(app);
  const holder = { pid: process.pid, since: new Date().toISOString() };
  await writeDurably(marker, `${JSON.stringify(holder)}\n`);
}

// Lift the hold: a start waiting in ExecStartPre proceeds within 0.2 s.
export async function liftHold(app: AppConfig): Promise<void> {
  const { marker } = holdPaths(app);
  await rm(marker, { force: true });
  await fsyncDir(path.dirname(marker)).catch(() => {});
}

// Whether the app is held (a deployment is under way, or one was interrupted).
export async function holdPlaced(app: AppConfig): Promise<boolean> {
  return stat(holdPaths(app).marker).then(
    () => true,
    () => false,
  );
}
