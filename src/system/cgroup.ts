// Members of a systemd unit's cgroup, on hybrid (v1 + unified) and pure v2 hosts alike.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

// Hierarchies to look in, most specific first: systemd tracks units in name=systemd on hybrid
// hosts, in the unified tree everywhere; pure v2 mounts that tree at /sys/fs/cgroup itself.
const ROOTS = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

// PIDs in the unit's cgroup and its children; empty when the cgroup does not exist (unit stopped).
export async function cgroupPids(controlGroup: string): Promise<number[]> {
  return (await cgroupMembers(controlGroup)) ?? [];
}

// The same, but undefined when the cgroup is not found, for a caller to whom "gone" and "empty"
// are different answers.
export async function cgroupMembers(controlGroup: string): Promise<number[] | undefined> {
  if (!controlGroup) return undefined;
  for (const root of ROOTS) {
    const dir = path.join(root, controlGroup);
    const pids = await readTree(dir);
    if (pids !== undefined) return [...new Set(pids)].sort((a, b) => a - b);
  }
  return undefined;
}

// Read cgroup.procs of a directory and every sub-cgroup below it.
async function readTree(dir: string): Promise<number[] | undefined> {
  let procs: string;
  try {
    procs = await readFile(path.join(dir, "cgroup.procs"), "utf8");
  } catch {
    return undefined;
  }
  const pids = procs.split("\n").filter(Boolean).map(Number);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    pids.push(...((await readTree(path.join(dir, entry.name))) ?? []));
  }
  return pids;
}
