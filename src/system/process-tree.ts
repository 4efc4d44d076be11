// Find and kill a process together with everything it started.
import { listProcesses, type ProcessInfo } from "./processes.js";

// Every descendant of `root` (children, their children, ...), excluding root itself.
export function descendantsIn(all: ProcessInfo[], root: number): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const proc of all) {
    const list = children.get(proc.ppid) ?? [];
    list.push(proc);
    children.set(proc.ppid, list);
  }
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

// SIGKILL the given processes and everything below them. Used when a command must end now and
// its helpers (ssh, git-remote-http) would otherwise outlive it, holding our pipes open.
export async function killTrees(roots: ProcessInfo[]): Promise<number[]> {
  const all = await listProcesses();
  const doomed = new Set<number>();
  for (const root of roots) {
    doomed.add(root.pid);
    for (const proc of descendantsIn(all, root.pid)) doomed.add(proc.pid);
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone: that is the goal.
    }
  }
  return [...doomed];
}

// Our own child processes that match `predicate` (e.g. the git fetch of one repository).
export async function ownChildren(
  predicate: (proc: ProcessInfo) => boolean,
): Promise<ProcessInfo[]> {
  const all = await listProcesses();
  return all.filter((p) => p.ppid === process.pid && predicate(p));
}
