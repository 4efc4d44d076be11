// Booting a real systemd as PID 1 of its own PID namespace, on an overlay of the host root.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, symlinkSync } from "node:fs";
import { lstat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execInMachine } from "./exec.js";
import { CONTAINER_MARK, DIR_VAR, OWNER_VAR } from "./lock.js";
import { GUEST_REPO } from "./paths.js";
import { isAlive, sleep, waitFor } from "./wait.js";

export interface Bind {
  host: string;
  guest: string;
  readOnly?: boolean;
}

// Units that cost time or memory, grab the console, or would change the shared host kernel
// (sysctl, modules, binfmt_misc, clock): the machine shares the kernel and network with the host.
export const MASKED_UNITS = [
  "postgresql.service",
  "postgresql@.service",
  "postgresql@15-main.service",
  "console-getty.service",
  "getty@.service",
  "getty@tty1.service",
  "getty-static.service",
  "systemd-logind.service",
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "dpkg-db-backup.timer",
  "man-db.timer",
  "e2scrub_all.timer",
  "e2scrub_reap.service",
  "fstrim.timer",
  "systemd-tmpfiles-clean.timer",
  "systemd-timesyncd.service",
  "systemd-sysctl.service",
  "systemd-modules-load.service",
  "systemd-binfmt.service",
  "proc-sys-fs-binfmt_misc.automount",
  "proc-sys-fs-binfmt_misc.mount",
];

// Runs in the new namespaces: mount the overlay root and the binds, pivot into it, exec systemd.
// Arguments: machine dir, owner PID, then (host, guest, "ro"|"rw") triples.
const BOOT_SCRIPT = `
set -eu
M=$1 OWNER=$2; shift 2
# A fresh network namespace has only a down loopback; harmless when the host's is shared.
ip link set lo up
# The overlay of a previous boot may still be torn down in the background (EBUSY): retry briefly.
i=0
until mount -t overlay overlay -o lowerdir=/,upperdir="$M/upper",workdir="$M/work" "$M/root"; do
  i=$((i + 1)); [ "$i" -lt 100 ] || exit 1; sleep 0.1
done
mount -t proc proc "$M/root/proc"
mount --rbind /sys "$M/root/sys"
mount --rbind /dev "$M/root/dev"
mount -t tmpfs tmpfs "$M/root/run"
mount -t tmpfs tmpfs "$M/root/tmp"
while [ $# -ge 3 ]; do
  host=$1 guest=$2 mode=$3; shift 3
  target="$M/root$guest"
  if [ -d "$host" ]; then mkdir -p "$target"
  else mkdir -p "$(dirname "$target")"; [ -e "$target" ] || : > "$target"; fi
  mount --bind "$host" "$target"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$target"; fi
done
mkdir -p "$M/root/oldroot"
cd "$M/root"
pivot_root . oldroot
umount -l /oldroot
exec env -i container=${CONTAINER_MARK} ${OWNER_VAR}="$OWNER" ${DIR_VAR}="$M" \\
  /lib/systemd/systemd --system
`;

// Lay out a fresh machine dir and pre-seed its upper layer (masks, agent wrappers) before the
// first mount; writing into an upper dir is only safe while no overlay uses it.
export async function prepareDisk(dir: string, extraMasks: string[] = []): Promise<void> {
  for (const sub of ["upper", "work", "root"]) mkdirSync(path.join(dir, sub), { recursive: true });
  const units = path.join(dir, "upper/etc/systemd/system");
  mkdirDirs(path.join(dir, "upper"), "etc/systemd/system");
  for (const unit of [...MASKED_UNITS, ...extraMasks]) {
    const link = path.join(units, unit);
    if (!(await exists(link))) symlinkSync("/dev/null", link);
  }
  mkdirDirs(path.join(dir, "upper"), "usr/local/bin");
  const wrapper = `#!/bin/sh\nexec ${process.execPath} ${GUEST_REPO}/dist/agent/agent.js "$@"\n`;
  for (const name of ["agent", "deploy-agent"]) {
    const file = path.join(dir, "upper/usr/local/bin", name);
    await writeFile(file, wrapper, { mode: 0o755 });
    chmodSync(file, 0o755);
  }
}

// mkdir -p with 0755 at every level, so the upper copy of a directory does not change its mode.
function mkdirDirs(base: string, rel: string): void {
  let dir = base;
  for (const part of rel.split("/")) {
    dir = path.join(dir, part);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
  }
}

// Whether a path exists, symlinks included (a dangling one counts).
async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

export interface Booted {
  // Host PID of the machine's PID 1 (systemd).
  pid: number;
  child: ChildProcess;
  // Resolves when unshare has exited, i.e. PID 1 is gone and reaped.
  exited(): Promise<void>;
}

// Start the namespaces and systemd, and wait until the system is up (running or degraded).
export async function startMachine(
  dir: string,
  binds: Bind[],
  timeoutMs: number,
  hostNetwork = false,
): Promise<Booted> {
  const log = openSync(path.join(dir, "boot.log"), "a");
  const bindArgs = binds.flatMap((b) => [b.host, b.guest, b.readOnly ? "ro" : "rw"]);
  // pdeathsig + --kill-child: if this test process dies, even by SIGKILL, the kernel kills
  // unshare and then PID 1, so a crashed harness cannot leave a machine running.
  // detached: a terminal's Ctrl-C must not reach systemd (SIGINT there means ctrl-alt-del).
  const child = spawn(
    "setpriv",
    [
      "--pdeathsig=KILL",
      "unshare",
      "--kill-child=SIGKILL",
      "--pid",
      "--mount",
      "--uts",
      "--ipc",
      // Own loopback: the app's 127.0.0.1:8000 cannot clash with the host's ports.
      ...(hostNetwork ? [] : ["--net"]),
      "--propagation",
      "private",
      "bash",
      "-c",
      BOOT_SCRIPT,
      "machine-boot",
      dir,
      String(process.pid),
      ...bindArgs,
    ],
    { detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  child.unref();
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exit.then(() => {
    gone = true;
  });
  // The child is unref'd so a forgotten machine cannot hang the test process (the exit handler
  // kills it); while someone awaits its exit it must hold the event loop open, or node would exit.
  const exited = async () => {
    child.ref();
    try {
      await exit;
    } finally {
      child.unref();
    }
  };
  const unsharePid = child.pid;
  if (unsharePid === undefined) throw new Error("cannot spawn setpriv/unshare");
  const bootLog = () => readFileSync(path.join(dir, "boot.log"), "utf8").slice(-2000);

  // PID 1 is unshare's only child; it is bash until the mounts are done, then systemd.
  const pid = await waitFor(
    () => {
      if (gone) throw new BootError(`machine exited during boot:\n${bootLog()}`);
      const pid1 = childOf(unsharePid);
      return pid1 !== undefined && comm(pid1) === "systemd" ? pid1 : undefined;
    },
    timeoutMs,
    { what: "systemd to start as PID 1", intervalMs: 20 },
  ).catch((error: unknown) => {
    child.kill("SIGKILL");
    throw error instanceof BootError ? error : new Error(`${String(error)}\n${bootLog()}`);
  });

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone || !isAlive(pid)) throw new BootError(`machine died while booting:\n${bootLog()}`);
    const left = deadline - Date.now();
    const state = await execInMachine(pid, ["systemctl", "is-system-running", "--wait"], {
      timeoutMs: Math.max(1000, left),
    });
    const answer = state.stdout.trim();
    if (answer === "running" || answer === "degraded") return { pid, child, exited };
    if (Date.now() >= deadline) {
      process.kill(pid, "SIGKILL");
      throw new BootError(`machine did not boot in ${timeoutMs} ms (state "${answer}")`);
    }
    // Early on the manager's bus is not up yet and systemctl fails at once: poll again.
    await sleep(50);
  }
}

// A boot that failed; the message carries the tail of the boot log.
class BootError extends Error {}

// The first child of a host process, from /proc/PID/task/PID/children.
function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

// The command name of a host process, or "" if it is gone.
function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
