// Last-resort teardown: no test process may exit, fail or be interrupted with a machine running.
import { rmSync } from "node:fs";
import { isAlive, sleepSync } from "./wait.js";

// What must be killed and removed for one live machine, from a synchronous exit handler.
export interface LiveMachine {
  hostPid(): number | undefined;
  readonly dir: string;
}

const live = new Set<LiveMachine>();
let installed = false;

// Track a machine until it is destroyed; installs the process handlers on first use.
export function registerLive(machine: LiveMachine): void {
  installHandlers();
  live.add(machine);
}

// Stop tracking a destroyed machine.
export function unregisterLive(machine: LiveMachine): void {
  live.delete(machine);
}

// How many machines this process has alive (the harness allows one).
export function liveCount(): number {
  return live.size;
}

// Host PIDs of this process's machines, so the stale-machine sweep leaves them alone.
export function livePids(): Set<number> {
  const pids = new Set<number>();
  for (const machine of live) {
    const pid = machine.hostPid();
    if (pid !== undefined) pids.add(pid);
  }
  return pids;
}

// Power-cut every live machine and delete its disk, synchronously ('exit' allows nothing else).
export function killAllSync(): void {
  for (const machine of live) {
    const pid = machine.hostPid();
    if (pid !== undefined && isAlive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      const deadline = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < deadline) sleepSync(20);
    }
    rmSync(machine.dir, { recursive: true, force: true });
  }
  live.clear();
  // The host lock is released by the kernel when this process's pipe to flock closes.
}

// Exit and signal handlers; a signal handler must exit itself, else the process would keep going.
function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAllSync);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    process.on(signal, () => {
      killAllSync();
      process.exit(code);
    });
  }
}
