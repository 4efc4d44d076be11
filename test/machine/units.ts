// Reading systemd unit state inside a machine, independently of the agent's own code.
import type { Machine } from "./machine.js";

// `systemctl is-active` answer for a unit ("active", "inactive", "failed", ...).
export async function unitState(machine: Machine, unit: string): Promise<string> {
  return (await machine.exec(["systemctl", "is-active", unit])).stdout.trim();
}

// One `systemctl show -p NAME --value` property of a unit.
export async function unitProperty(machine: Machine, unit: string, name: string): Promise<string> {
  const result = await machine.exec(["systemctl", "show", unit, "-p", name, "--value"]);
  return result.stdout.trim();
}

// PIDs (machine namespace) in the unit's cgroup and its sub-cgroups. The machine shares the
// host's hybrid cgroup tree: the unit is under /sys/fs/cgroup/unified and /sys/fs/cgroup/systemd
// (or straight under /sys/fs/cgroup on a pure v2 host); the first that exists is read.
export async function unitPids(machine: Machine, unit: string): Promise<number[]> {
  const cgroup = await unitProperty(machine, unit, "ControlGroup");
  if (!cgroup) return [];
  const script = `
for root in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
  if [ -f "$root$1/cgroup.procs" ]; then
    find "$root$1" -name cgroup.procs -exec cat {} +
    exit 0
  fi
done`;
  const result = await machine.exec(["sh", "-c", script, "unit-pids", cgroup], { reject: true });
  const pids = result.stdout.split("\n").filter(Boolean).map(Number);
  // PIDs of processes outside the machine's namespace read as 0; there should be none.
  return [...new Set(pids)].sort((a, b) => a - b);
}
