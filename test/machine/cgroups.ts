// Sweeping the cgroups a dead machine left in the host's (shared) cgroup tree.
import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import path from "node:path";

const CGROUP_ROOT = "/sys/fs/cgroup";

// systemd names its cgroups after units; the host's own cgroups (e.g. memory/process_api) never
// look like this, so they are never touched.
const UNIT_CGROUP = /\.(slice|scope|service|socket|mount|swap|device)$/;

// Remove the empty unit cgroups a machine's systemd created at the top of every hierarchy, so
// the next boot starts from a tree as fresh as a real reboot's. Only with no machine running
// (host lock held): rmdir fails on a cgroup that still has processes, which is then left alone.
export function sweepMachineCgroups(): void {
  // On a host run by systemd these cgroups are the host's own units: never touch them.
  if (hostRunsSystemd()) return;
  let hierarchies: string[];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return;
  }
  for (const hierarchy of hierarchies) {
    const root = path.join(CGROUP_ROOT, hierarchy);
    for (const entry of subdirs(root)) {
      if (UNIT_CGROUP.test(entry)) removeTree(path.join(root, entry));
    }
  }
}

// Subdirectories of a cgroup (its child cgroups); none when it is not a directory.
function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

// rmdir a cgroup after its children (cgroupfs removes a cgroup with rmdir, not unlink).
function removeTree(dir: string): void {
  for (const child of subdirs(dir)) removeTree(path.join(dir, child));
  try {
    rmdirSync(dir);
  } catch {
    // Busy (processes still exiting) or already gone: harmless, the next sweep tries again.
  }
}

// Whether the host's own PID 1 is systemd (then unit cgroups at the top are its, not ours).
function hostRunsSystemd(): boolean {
  try {
    return readFileSync("/proc/1/comm", "utf8").trim() === "systemd";
  } catch {
    return true;
  }
}
