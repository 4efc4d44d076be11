// A throwaway machine for integration tests: real systemd, rebootable, power-cuttable.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { type Bind, type Booted, prepareDisk, startMachine } from "./boot.js";
import { sweepMachineCgroups } from "./cgroups.js";
import { type LiveMachine, liveCount, livePids, registerLive, unregisterLive } from "./cleanup.js";
import { type ExecOptions, type ExecResult, execInMachine } from "./exec.js";
import {
  acquireHostLock,
  type HostLock,
  markOwner,
  reapStaleDirs,
  reapStaleMachines,
} from "./lock.js";
import { GUEST_REPO, machinesBaseDir, repoRoot } from "./paths.js";
import { isAlive, settlesWithin, type WaitForOptions, waitFor } from "./wait.js";

export type { Bind } from "./boot.js";
export { MASKED_UNITS } from "./boot.js";
export { ExecError, type ExecOptions, type ExecResult } from "./exec.js";
export { sleep, type WaitForOptions, waitFor } from "./wait.js";

export interface MachineOptions {
  // Prefix of the machine dir under /var/tmp/deploy-agent-machines (or $DEPLOY_AGENT_MACHINES_DIR).
  name?: string;
  // Extra bind mounts; the checkout is always bound read-only at /opt/deploy-agent.
  binds?: Bind[];
  // Extra units to mask before the first boot.
  mask?: string[];
  // How long to wait for another test process's machine to go away.
  lockTimeoutMs?: number;
  // Budget for one boot, until systemd reports running/degraded.
  bootTimeoutMs?: number;
  // Share the host's network namespace (ports reachable from the host, but clashes possible);
  // default false: the machine has its own loopback, like a separate host.
  hostNetwork?: boolean;
}

export interface JournalOptions {
  // journalctl -o format; default "cat" (bare messages: pino JSON lines parse as they are).
  output?: string;
  lines?: number;
  // Only the current boot (default: every boot the disk has seen).
  currentBoot?: boolean;
}

// What every boot of a machine needs, fixed at creation.
interface BootSettings {
  binds: Bind[];
  bootTimeoutMs: number;
  hostNetwork: boolean;
}

// One machine: its disk (upper dir) outlives boots until destroy().
export class Machine implements LiveMachine {
  private booted: Booted | undefined;
  private destroyed = false;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly lock: HostLock,
    private readonly settings: BootSettings,
  ) {}

  // Host PID of PID 1 (systemd); throws when the machine is off.
  get pid(): number {
    if (!this.booted || !isAlive(this.booted.pid)) throw new Error(`machine ${this.name} is off`);
    return this.booted.pid;
  }

  // Whether PID 1 is alive.
  get running(): boolean {
    return this.booted !== undefined && isAlive(this.booted.pid);
  }

  // Host PID of PID 1 if it is alive, for the exit-handler sweep.
  hostPid(): number | undefined {
    return this.running ? this.booted?.pid : undefined;
  }

  // Boot (again) from the same disk: after poweroff() a reboot, after powerCut() a power-on.
  async boot(): Promise<void> {
    if (this.destroyed) throw new Error(`machine ${this.name} is destroyed`);
    if (this.running) throw new Error(`machine ${this.name} is already running`);
    sweepMachineCgroups();
    const { binds, bootTimeoutMs, hostNetwork } = this.settings;
    this.booted = await startMachine(this.dir, binds, bootTimeoutMs, hostNetwork);
  }

  // Run a command inside as root (or opts.user); never throws on exit codes unless reject.
  exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return execInMachine(this.pid, cmd, opts);
  }

  // Run a bash script inside; `set -euo pipefail` so a failing step fails the script.
  sh(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(["bash", "-c", `set -euo pipefail\n${script}`], opts);
  }

  // Write a file inside the machine (parents created), optionally with mode and owner ("u:g").
  async writeFile(
    file: string,
    content: string | Buffer,
    mode?: number | string,
    owner?: string,
  ): Promise<void> {
    const modeText = typeof mode === "number" ? mode.toString(8) : (mode ?? "");
    const script =
      'mkdir -p "$(dirname "$1")" && cat > "$1"' +
      ' && { [ -z "$2" ] || chmod "$2" "$1"; } && { [ -z "$3" ] || chown "$3" "$1"; }';
    await this.exec(["sh", "-c", script, "write-file", file, modeText, owner ?? ""], {
      input: content,
      reject: true,
    });
  }

  // Exact content of a file inside the machine; throws if it cannot be read.
  async readFile(file: string): Promise<string> {
    const result = await execInMachine(this.pid, ["cat", "--", file], { reject: true }, true);
    return result.stdout;
  }

  // journalctl output for a unit (a name or a pattern journalctl -u accepts).
  async journal(unit: string, opts: JournalOptions = {}): Promise<string> {
    const args = ["journalctl", "--no-pager", "-u", unit, "-o", opts.output ?? "cat"];
    if (opts.lines !== undefined) args.push("-n", String(opts.lines));
    if (opts.currentBoot) args.push("-b");
    return (await this.exec(args)).stdout;
  }

  // Poll predicate until truthy (see waitFor); here for discoverability next to exec.
  waitFor<T>(
    predicate: () => T | Promise<T>,
    timeoutMs: number,
    opts?: WaitForOptions,
  ): Promise<NonNullable<T>> {
    return waitFor(predicate, timeoutMs, opts);
  }

  // Clean shutdown (systemctl poweroff); falls back to a power cut if it hangs.
  async poweroff(timeoutMs = 30_000): Promise<void> {
    const booted = this.booted;
    if (!booted || !this.running) return;
    // The command may lose its connection as the manager goes down: its result means nothing.
    await this.exec(["systemctl", "poweroff"], { timeoutMs: 10_000 }).catch(() => undefined);
    if (!(await settlesWithin(booted.exited(), timeoutMs))) {
      process.stderr.write(`[machine] ${this.name}: poweroff hung, cutting power\n`);
      await this.powerCut();
    }
  }

  // Pull the plug: SIGKILL to PID 1 kills every process of the machine at once. Written but
  // unsynced files stay in the host page cache, as after a real power cut of a VM host's guest.
  async powerCut(): Promise<void> {
    const booted = this.booted;
    if (!booted) return;
    if (isAlive(booted.pid)) process.kill(booted.pid, "SIGKILL");
    await booted.exited();
  }

  // Power cut, delete the disk, release the host lock; safe to call twice or after a failure.
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      await this.powerCut();
      sweepMachineCgroups();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      unregisterLive(this);
      await this.lock.release();
    }
  }
}

// Create a machine dir, take the host lock and boot; the caller must destroy() it in a finally.
export async function bootMachine(opts: MachineOptions = {}): Promise<Machine> {
  if (process.getuid?.() !== 0) throw new Error("machines need root (namespaces, mounts)");
  if (liveCount() > 0) {
    throw new Error("this process already has a machine: only one may run at a time");
  }
  const name = opts.name ?? "machine";
  const lock = await acquireHostLock(opts.lockTimeoutMs ?? 600_000);
  let machine: Machine | undefined;
  try {
    reapStaleMachines(livePids());
    reapStaleDirs();
    const base = machinesBaseDir();
    mkdirSync(base, { recursive: true });
    const dir = path.join(base, `${name}-${randomBytes(4).toString("hex")}`);
    mkdirSync(dir);
    markOwner(dir);
    const binds: Bind[] = [
      { host: repoRoot(), guest: GUEST_REPO, readOnly: true },
      ...(opts.binds ?? []),
    ];
    machine = new Machine(name, dir, lock, {
      binds,
      bootTimeoutMs: opts.bootTimeoutMs ?? 60_000,
      hostNetwork: opts.hostNetwork ?? false,
    });
    registerLive(machine);
    await prepareDisk(dir, opts.mask);
    await machine.boot();
    return machine;
  } catch (error) {
    if (machine) await machine.destroy();
    else await lock.release();
    throw error;
  }
}
