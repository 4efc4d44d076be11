// Read processes from /proc: parent, command line, working directory, cgroup.
import { open, readdir, readFile, readlink } from "node:fs/promises";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
  cwd: string | undefined;
  // The cgroup path of the process in the hierarchy systemd manages (v2, or v1 name=systemd).
  cgroup: string | undefined;
  // When it started, in clock ticks since boot (/proc/PID/stat field 22).
  startTicks: number;
}

// One process, or undefined if it exited while we looked (a normal race, not an error).
export async function readProcess(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const [stat, cmdline, cgroupText] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readHead(`/proc/${pid}/cmdline`, CMDLINE_BYTES),
      readFile(`/proc/${pid}/cgroup`, "utf8"),
    ]);
    // The command name in stat may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    return {
      pid,
      ppid: Number(fields[1]),
      argv: cmdline.split("\0").filter((a) => a !== ""),
      cwd,
      cgroup: systemdCgroupOf(cgroupText),
      // Field 22 counted from 1, and the list starts at field 3 (state).
      startTicks: Number(fields[19]),
    };
  } catch {
    return undefined;
  }
}

// A process's arguments can be megabytes (any user can start one like that): only the start of
// the command line is read, enough to tell the program and the directories it names.
const CMDLINE_BYTES = 4096;

// The first `max` bytes of a file, as UTF-8.
async function readHead(file: string, max: number): Promise<string> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buffer, 0, max, 0);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

// Every process on the host (kernel threads included; they have empty argv).
export async function listProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d)).map(Number);
  const infos = await Promise.all(pids.map(readProcess));
  return infos.filter((p): p is ProcessInfo => p !== undefined);
}

// Pick the cgroup path systemd uses from /proc/PID/cgroup: the v1 name=systemd line on hybrid
// hosts (where units are tracked), else the unified "0::" line.
export function systemdCgroupOf(text: string): string | undefined {
  const lines = text.split("\n");
  const named = lines.find((l) => l.includes(":name=systemd:"));
  if (named) return named.slice(named.indexOf(":name=systemd:") + ":name=systemd:".length);
  const unified = lines.find((l) => l.startsWith("0::"));
  return unified?.slice(3);
}

// True when the process is inside the cgroup or one of its sub-cgroups.
export function inCgroup(proc: ProcessInfo, controlGroup: string): boolean {
  if (!proc.cgroup || !controlGroup) return false;
  return proc.cgroup === controlGroup || proc.cgroup.startsWith(`${controlGroup}/`);
}

// Clock ticks per second in /proc: USER_HZ, 100 on every Linux architecture in use (the kernel's
// own HZ may differ; what /proc reports is always scaled to USER_HZ).
const USER_HZ = 100;

// When a process started, in ms since boot: comparable with uptimeMs() whatever the clock does.
export function startedSinceBootMs(startTicks: number): number {
  return (startTicks / USER_HZ) * 1000;
}

// Time since boot, in ms (/proc/uptime, 10 ms resolution): the clock process start times use.
export async function uptimeMs(): Promise<number> {
  return Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]) * 1000;
}

// Wall-clock time (ms since the epoch) at which a process started, from its start in ticks since
// boot: boot time is read here from /proc/uptime and the clock together, to 10 ms, instead of
// /proc/stat's btime, which is whole seconds.
export async function startedAtMs(startTicks: number): Promise<number> {
  const now = Date.now();
  const uptime = Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]);
  return Math.round(now - uptime * 1000 + (startTicks / USER_HZ) * 1000);
}
