// TCP connections and listeners on a port of this host: how many connections a color still
// serves while it drains, and who holds a port a color is about to take.
import { open } from "node:fs/promises";
import { printable } from "../output/sanitize.js";
import { type SocketProcess, socketOwners, socketsHeldBy } from "./socket-owners.js";
import { parseTcpLine, TCP_ESTABLISHED, TCP_LISTEN, type TcpSocket } from "./tcp-table.js";

const TABLES = ["/proc/net/tcp", "/proc/net/tcp6"];

// The addresses a color's `127.0.0.1:PORT` clashes with, or that answer for it on localhost.
const LOCAL_ADDRESSES = new Set(["127.0.0.1", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1"]);

export interface PortListener {
  address: string;
  port: number;
  inode: number;
  // The processes holding the socket: empty when none was found (it is being closed, or is held
  // in another namespace).
  processes: SocketProcess[];
}

// ESTABLISHED connections whose local port is `port`: on a color's port these are the
// connections the color accepted (the proxy's, and any made to it directly), which must end
// before it can be stopped without cutting one.
export async function countEstablished(port: number): Promise<number> {
  assertPort(port);
  const sockets = await scanSockets((s) => s.state === TCP_ESTABLISHED && s.localPort === port);
  return sockets.length;
}

// The ESTABLISHED connections on `port` that these processes (a color's cgroup) hold: a drain
// waits for exactly the connections the color serves. Anyone else's socket on that port number
// (bound to another loopback address, say) cannot keep a drain waiting.
export async function countEstablishedHeldBy(port: number, pids: number[]): Promise<number> {
  assertPort(port);
  const held = socketsHeldBy(pids);
  const sockets = await scanSockets(
    (s) => s.state === TCP_ESTABLISHED && s.localPort === port && held.has(s.inode),
  );
  return sockets.length;
}

// The listeners on `port` (loopback or wildcard) that none of these processes hold: found
// without scanning every process of the host.
export async function foreignListeners(port: number, pids: number[]): Promise<number> {
  assertPort(port);
  const held = socketsHeldBy(pids);
  const sockets = await scanSockets(
    (s) =>
      s.state === TCP_LISTEN &&
      s.localPort === port &&
      LOCAL_ADDRESSES.has(s.localAddress) &&
      !held.has(s.inode),
  );
  return sockets.length;
}

// What listens on `port` on a loopback or wildcard address (IPv4 or IPv6), with the processes
// holding each socket found as best they can be; empty when nothing does.
export async function listeningOn(port: number): Promise<PortListener[]> {
  assertPort(port);
  const sockets = await scanSockets(
    (s) => s.state === TCP_LISTEN && s.localPort === port && LOCAL_ADDRESSES.has(s.localAddress),
  );
  const owners = socketOwners(sockets.map((s) => s.inode));
  return sockets.map((s) => ({
    address: s.localAddress,
    port: s.localPort,
    inode: s.inode,
    processes: owners.get(s.inode) ?? [],
  }));
}

// "port 8002 is in use by pid 1234 (python3)": the listeners of a port in a sentence that names
// who holds it; undefined when nothing listens.
export function describePortUse(port: number, listeners: PortListener[]): string | undefined {
  if (listeners.length === 0) return undefined;
  const byPid = new Map<number, SocketProcess>();
  for (const l of listeners) for (const p of l.processes) byPid.set(p.pid, p);
  const processes = [...byPid.values()].sort((a, b) => a.pid - b.pid);
  if (processes.length === 0) {
    const inodes = listeners.map((l) => l.inode).join(", ");
    return `port ${port} is in use (socket inode ${inodes}; no process found holding it)`;
  }
  const named = processes.slice(0, 3).map((p) => `pid ${p.pid} (${printable(p.name, 32)})`);
  const more = processes.length > 3 ? ` and ${processes.length - 3} more` : "";
  return `port ${port} is in use by ${named.join(", ")}${more}`;
}

// The sockets of both tables that `keep` accepts. The tables are read a line at a time, so only
// the kept sockets are held, however many connections the host has. A missing table (IPv6
// disabled) has no sockets.
async function scanSockets(keep: (socket: TcpSocket) => boolean): Promise<TcpSocket[]> {
  const kept: TcpSocket[] = [];
  for (const table of TABLES) {
    const handle = await open(table).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (!handle) continue;
    try {
      for await (const line of handle.readLines()) {
        const socket = parseTcpLine(line);
        if (socket && keep(socket)) kept.push(socket);
      }
    } finally {
      await handle.close();
    }
  }
  return kept;
}

function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port ${port} is not a TCP port from 1 to 65535`);
  }
}
