// Members of a systemd unit's cgroup, on hybrid (v1 + unified) and pure v2 hosts alike.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

// Hierarchies to look in, most specific first: systemd tracks units in name=systemd on hybrid
// hosts, in the unified tree everywhere; pure v2 mounts that tree at /sys/fs/cgroup itself.
const ROOTS = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

// PIDs in the unit's cgroup and its children; empty when the cgroup does not exist (unit stopped).
export async function cgroupPids(controlGroup: string): Promise<number[]> {
  if (!controlGroup) return [];
  for (const root of ROOTS) {
    const dir = path.join(root, controlGroup);
    const pids = await readTree(dir);
    if (pids !== undefined) return [...new Set(pids)].sort((a, b) => a - b);
  }
  return [];
}

// Whether any process is left in the cgroup or below it, by the kernel's own count
// (cgroup.events "populated", unified hierarchy only): undefined when that file is not found.
export async function cgroupPopulated(controlGroup: string): Promise<boolean | undefined> {
  if (!controlGroup) return undefined;
  for (const root of ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) {
    const events = await readFile(path.join(root, controlGroup, "cgroup.events"), "utf8").catch(
      () => undefined,
    );
    const populated = events && /^populated ([01])$/m.exec(events)?.[1];
    if (populated) return populated === "1";
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
