// Which processes hold a socket: found by reading every process's open descriptors in /proc,
// where a socket's link reads "socket:[INODE]".
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface SocketProcess {
  pid: number;
  // The command name (/proc/PID/comm): set by the process itself, so print it made printable.
  name: string;
}

// The processes holding each of these socket inodes, by inode; an inode no process holds is
// absent. Best effort: a process that exits during the scan, or whose descriptors cannot be read,
// is skipped. Synchronous: a few thousand readlinks of microseconds each, and only asked when a
// port turns out to be taken.
export function socketOwners(inodes: number[]): Map<number, SocketProcess[]> {
  const wanted = new Map(inodes.map((inode) => [`socket:[${inode}]`, inode]));
  const owners = new Map<number, SocketProcess[]>();
  if (wanted.size === 0) return owners;
  for (const entry of listDir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let name: string | undefined;
    for (const fd of listDir(`/proc/${pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = wanted.get(link);
      if (inode === undefined) continue;
      name ??= commandName(pid);
      const holders = owners.get(inode) ?? [];
      // A process may hold one socket on several descriptors: list it once.
      if (!holders.some((p) => p.pid === pid)) holders.push({ pid, name });
      owners.set(inode, holders);
    }
  }
  return owners;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

// The socket inodes these processes hold: read from their own descriptors only (a few processes
// of one unit), never a scan of the whole host, which a user with many descriptors could make slow.
export function socketsHeldBy(pids: number[]): Set<number> {
  const inodes = new Set<number>();
  for (const pid of pids) {
    for (const fd of listDir(`/proc/${pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match) inodes.add(Number(match[1]));
    }
  }
  return inodes;
}
