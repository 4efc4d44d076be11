// Where the harness finds the repository and keeps machine disks on the host.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Host-wide lock: the machine's systemd shares the host cgroup tree, so one machine at a time.
export const LOCK_PATH = "/run/deploy-agent-test-machine.lock";

// Mount point of the repository checkout inside every machine.
export const GUEST_REPO = "/opt/deploy-agent";

// Parent of machine directories; on disk rather than tmpfs so upper dirs survive a power cut test.
export function machinesBaseDir(): string {
  return process.env.DEPLOY_AGENT_MACHINES_DIR ?? "/var/tmp/deploy-agent-machines";
}

// True when dir holds this project's package.json.
function isRepoRoot(dir: string): boolean {
  const file = path.join(dir, "package.json");
  if (!existsSync(file)) return false;
  try {
    const pkg: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof pkg === "object" && pkg !== null && "name" in pkg && pkg.name === "deploy-agent";
  } catch {
    return false;
  }
}

// Walk up from start to the first directory that is the repository root.
function findUp(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (isRepoRoot(dir)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

// The repository checkout: $DEPLOY_AGENT_REPO, else above this file (dist/test/machine/ when
// compiled in place), else above the working directory (harness compiled elsewhere).
export function repoRoot(): string {
  const fromEnv = process.env.DEPLOY_AGENT_REPO;
  if (fromEnv) {
    if (!isRepoRoot(fromEnv)) throw new Error(`DEPLOY_AGENT_REPO=${fromEnv} is not the checkout`);
    return path.resolve(fromEnv);
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const found = findUp(here) ?? findUp(process.cwd());
  if (!found) throw new Error(`cannot find the deploy-agent checkout above ${here} or cwd`);
  return found;
}
