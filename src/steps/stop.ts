// Step 5: stop the whole service and wait until no process of it is left.

import { setTimeout as delay } from "node:timers/promises";
import type { AppConfig } from "../config/schema.js";
import { cgroupPids } from "../system/cgroup.js";
import { readProcess } from "../system/processes.js";
import { run } from "../system/run.js";
import { unitAction, unitControlGroup } from "../system/systemd.js";
import { HOLD_TAG, placeHold } from "./hold.js";

const DRAIN_MS = 30_000;

// Hold the app (nothing may start it until our start step), stop it, and wait until its cgroup
// holds no process of the app: from here on nothing writes the DB and no old worker survives
// into the new release. With a socket unit only the service stops: the socket keeps accepting
// and clients queue. Returns how many processes were stopped.
export async function stopService(app: AppConfig): Promise<number> {
  await placeHold(app);
  return stopUnit(app.service);
}

// Stop one unit and wait until its cgroup holds no process of the app (a blue-green color, which
// has no hold: the other color serves meanwhile). Returns how many processes were stopped.
export async function stopUnit(unit: string): Promise<number> {
  const cgroup = await unitControlGroup(unit);
  const before = (await appPids(cgroup)).length;
  await unitAction("stop", unit);
  if (await drained(cgroup, DRAIN_MS)) return before;
  // KillMode=process or a worker ignoring SIGTERM past the unit's timeout: finish the job.
  await run("systemctl", ["kill", "--signal=SIGKILL", "--", unit], { reject: false });
  if (await drained(cgroup, 10_000)) return before;
  const left = await appPids(cgroup);
  throw new Error(`${unit} stopped but processes remain in its cgroup: ${left.join(" ")}`);
}

// Poll until the cgroup has no app process, or give up after timeoutMs.
async function drained(cgroup: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await appPids(cgroup)).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await delay(100);
  }
}

// PIDs in the unit's cgroup that belong to the app. A start triggered during the hold (socket
// traffic) runs our waiting ExecStartPre in the same cgroup: that shell and its `sleep` are ours.
export async function appPids(cgroup: string): Promise<number[]> {
  const pids = await cgroupPids(cgroup);
  const procs = (await Promise.all(pids.map(readProcess))).filter((p) => p !== undefined);
  const waiters = new Set(
    procs.filter((p) => p.argv.join(" ").includes(HOLD_TAG)).map((p) => p.pid),
  );
  return procs.filter((p) => !waiters.has(p.pid) && !waiters.has(p.ppid)).map((p) => p.pid);
}
