// The host-wide "one machine at a time" lock, and takeover of machines whose owner died.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LOCK_PATH, machinesBaseDir } from "./paths.js";
import { isAlive, sleepSync } from "./wait.js";

// Marks in the environment of every machine's PID 1, readable from the host in /proc/PID/environ.
export const CONTAINER_MARK = "deploy-agent-test";
export const OWNER_VAR = "DEPLOY_AGENT_MACHINE_OWNER";
export const DIR_VAR = "DEPLOY_AGENT_MACHINE_DIR";

export interface HostLock {
  // Give the lock back; resolves once the next waiter can take it.
  release(): Promise<void>;
}

// Take the host lock, waiting up to timeoutMs for another test process to finish its machine.
// flock(1) holds the lock for as long as its `cat` reads our stdin: if this process dies, even by
// SIGKILL, the pipe closes and the lock is released by the kernel, so it can never go stale.
export async function acquireHostLock(timeoutMs: number): Promise<HostLock> {
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const child = spawn(
    "flock",
    ["-w", seconds, "-E", "75", LOCK_PATH, "sh", "-c", "echo locked; exec cat >/dev/null"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const started = Date.now();
  const notice = setTimeout(() => {
    process.stderr.write(`[machine] waiting for ${LOCK_PATH} (another machine is running)\n`);
  }, 2000);
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("locked")) resolve();
      });
      child.on("error", reject);
      child.on("exit", (code) => {
        const waited = Math.round((Date.now() - started) / 1000);
        const why =
          code === 75 ? `still held after ${waited} s` : `flock exited ${code}: ${stderr}`;
        reject(new Error(`cannot take ${LOCK_PATH}: ${why}`));
      });
    });
  } finally {
    clearTimeout(notice);
  }
  // The lock must not keep the test process alive on its own: exit handlers clean up.
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  unrefStdin(child);
  return { release: () => releaseLock(child) };
}

// Let the event loop ignore the pipe to the lock holder.
function unrefStdin(child: ChildProcess): void {
  const stdin = child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.unref?.();
}

// Close the lock holder's stdin and wait (bounded) until it has exited, i.e. the lock is free.
async function releaseLock(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

export interface MachineProcess {
  pid: number;
  owner?: number;
  dir?: string;
}

// PID 1 processes of machines (ours or anyone's) currently running on the host.
export function runningMachines(): MachineProcess[] {
  const found: MachineProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "systemd") continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (!env.includes(`container=${CONTAINER_MARK}`)) continue;
      const value = (name: string) =>
        env.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
      const owner = value(OWNER_VAR);
      found.push({
        pid: Number(entry),
        owner: owner ? Number(owner) : undefined,
        dir: value(DIR_VAR),
      });
    } catch {
      // The process exited while we looked: not a machine any more.
    }
  }
  return found.filter((m) => isAlive(m.pid));
}

// With the lock held, any machine still running was left behind by a harness that died without
// its exit handler (SIGKILL, OOM): power it off for good and delete its disk. A machine started
// by hand with the recipe (no owner mark) is not ours to kill: refuse instead.
export function reapStaleMachines(ours: ReadonlySet<number>): void {
  for (const machine of runningMachines()) {
    if (ours.has(machine.pid)) continue;
    if (machine.owner === undefined || (machine.owner !== process.pid && isAlive(machine.owner))) {
      throw new Error(
        `a deploy-agent test machine not started by this harness run is running (PID ${machine.pid}); ` +
          "only one machine may run at a time (shared cgroup tree): power it off first",
      );
    }
    process.stderr.write(`[machine] killing stale machine PID ${machine.pid} of dead owner\n`);
    process.kill(machine.pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (isAlive(machine.pid) && Date.now() < deadline) sleepSync(50);
    const base = machinesBaseDir();
    if (machine.dir && path.dirname(machine.dir) === base) {
      rmSync(machine.dir, { recursive: true, force: true });
    }
  }
}

// File in each machine dir naming the test process that owns it.
const OWNER_FILE = "owner.pid";

// Record this process as the owner of a new machine dir.
export function markOwner(dir: string): void {
  writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
}

// Delete machine dirs whose owner died without cleaning up (a SIGKILLed test process: its
// machine died with it, its disk did not). Run with the lock held, after reapStaleMachines.
export function reapStaleDirs(): void {
  const base = machinesBaseDir();
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(base, entry);
    let owner: number;
    try {
      owner = Number(readFileSync(path.join(dir, OWNER_FILE), "utf8").trim());
    } catch {
      continue;
    }
    if (owner !== process.pid && !isAlive(owner)) rmSync(dir, { recursive: true, force: true });
  }
}
