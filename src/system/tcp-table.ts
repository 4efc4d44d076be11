// Lines of the kernel's TCP socket tables, /proc/net/tcp and /proc/net/tcp6 (proc(5)): one
// socket a line, its addresses and state in hex.
//
//   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//    0: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 ...
import { endianness } from "node:os";

// Socket states as the tables number them (include/net/tcp_states.h).
export const TCP_ESTABLISHED = 0x01;
export const TCP_LISTEN = 0x0a;

export interface TcpSocket {
  // "127.0.0.1", "::1", "::", "::ffff:127.0.0.1"
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: number;
  // The socket's inode: what /proc/PID/fd/N links name as "socket:[INODE]"; 0 for a socket no
  // process holds any more (TIME_WAIT).
  inode: number;
}

const ADDRESS = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/;

// One line of either table; undefined for the header and anything else that is not a socket.
// The kernel prints each 32-bit word of an address as a number in the host's byte order, so on a
// little-endian host 127.0.0.1 reads 0100007F; ports are plain hex numbers.
export function parseTcpLine(
  line: string,
  littleEndian = endianness() === "LE",
): TcpSocket | undefined {
  const fields = line.trim().split(/\s+/);
  const [slot, local, remote, state, , , , , , inode] = fields;
  if (!slot?.endsWith(":") || !/^[0-9A-Fa-f]{2}$/.test(state ?? "") || !/^\d+$/.test(inode ?? "")) {
    return undefined;
  }
  const l = ADDRESS.exec(local ?? "");
  const r = ADDRESS.exec(remote ?? "");
  if (!l || !r) return undefined;
  return {
    localAddress: formatAddress(l[1] as string, littleEndian),
    localPort: Number.parseInt(l[2] as string, 16),
    remoteAddress: formatAddress(r[1] as string, littleEndian),
    remotePort: Number.parseInt(r[2] as string, 16),
    state: Number.parseInt(state as string, 16),
    inode: Number(inode),
  };
}

// An address of the table as it is usually written.
function formatAddress(hex: string, littleEndian: boolean): string {
  const bytes = Buffer.from(hex, "hex");
  if (littleEndian) {
    for (let word = 0; word < bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  }
  return bytes.length === 4 ? bytes.join(".") : formatIpv6(bytes);
}

// RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as "::",
// and an IPv4-mapped address with its IPv4 part dotted.
function formatIpv6(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > best.length) best = { at: i, length: end - i };
    i = end > i ? end : i + 1;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  const head = hex.slice(0, best.at).join(":");
  const tail = hex.slice(best.at + best.length).join(":");
  return `${head}::${tail}`;
}
