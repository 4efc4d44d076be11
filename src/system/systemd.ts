// Thin adapter over systemctl: unit properties, start/stop, and waiting for states. Unit names
// always follow "--": systemctl must never read one as an option ("-H.service" would make it
// run on the host ".service" over ssh), whatever the config validation let through.
import { run } from "./run.js";

export type UnitProperties = Record<string, string>;

// Read selected properties of a unit (`systemctl show`), as strings.
export async function showUnit(unit: string, properties: string[]): Promise<UnitProperties> {
  const result = await run("systemctl", [
    "show",
    "--no-pager",
    ...properties.map((p) => `--property=${p}`),
    "--",
    unit,
  ]);
  const props: UnitProperties = {};
  for (const line of result.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

// The unit's cgroup path ("/system.slice/shop.service"); empty when systemd has none for it. The
// path stays the same across restarts, so a caller polling the members reads it once.
export async function unitControlGroup(unit: string): Promise<string> {
  return (await showUnit(unit, ["ControlGroup"])).ControlGroup ?? "";
}

// systemctl start/stop/restart/reload; systemctl itself waits for the job to finish.
export async function unitAction(
  action: "start" | "stop" | "restart" | "reload" | "reset-failed",
  unit: string,
  timeoutMs = 120_000,
): Promise<void> {
  await run("systemctl", [action, "--", unit], { timeoutMs });
}

// Make systemd re-read unit files (after a drop-in is written or removed).
export async function daemonReload(): Promise<void> {
  await run("systemctl", ["daemon-reload"]);
}
