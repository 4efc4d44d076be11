// What the sync integration tests look at inside a machine, read independently of the agent's
// own code: worker cwds from /proc, rows with the machine's python, files with ls.
import assert from "node:assert/strict";
import type { ExecOptions } from "../machine/exec.js";
import type { Machine } from "../machine/machine.js";
import { SHOP_DB, SHOP_DIR } from "../machine/sample-app.js";
import { unitPids } from "../machine/units.js";

export const skipUnlessRoot =
  process.getuid?.() === 0
    ? false
    : "integration tests need root: they boot a machine with systemd as PID 1";

export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

// Run `agent ...` inside the machine (as root), timed from the host.
export async function agent(
  machine: Machine,
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<AgentRun> {
  const started = performance.now();
  const result = await machine.exec(["agent", ...args], {
    timeoutMs: opts.timeoutMs ?? 180_000,
    env: opts.env,
  });
  return {
    code: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    ms: Math.round(performance.now() - started),
  };
}

// A failed assertion shows what the agent said.
export function explain(run: AgentRun): string {
  return `exit ${run.code} after ${run.ms} ms\n--- stdout ---\n${run.stdout}\n--- stderr (tail) ---\n${run.stderr.split("\n").slice(-30).join("\n")}`;
}

// Shell in the machine; fails the test when the script fails; returns trimmed stdout.
export async function sh(machine: Machine, script: string, opts?: ExecOptions): Promise<string> {
  const result = await machine.sh(script, opts);
  assert.equal(result.exitCode, 0, `${script}\n${result.stdout}\n${result.stderr}`);
  return result.stdout.trim();
}

// The REVISION every process of shop.service runs: read through each one's /proc/PID/cwd
// (gunicorn resolves WorkingDirectory=current when it starts; workers inherit the master's).
export async function processRevisions(
  machine: Machine,
): Promise<{ pids: number[]; revisions: string[] }> {
  const pids = await unitPids(machine, "shop.service");
  const revisions: string[] = [];
  for (const pid of pids) {
    const rev = await machine.exec(["cat", `/proc/${pid}/cwd/REVISION`]);
    if (rev.exitCode === 0) revisions.push(rev.stdout.trim());
  }
  return { pids, revisions };
}

// Wait until shop.service runs exactly 1 master + 3 workers, all on `sha`; return the pids.
export async function assertServing(machine: Machine, sha: string): Promise<number[]> {
  let last = { pids: [] as number[], revisions: [] as string[] };
  try {
    return await machine.waitFor(
      async () => {
        last = await processRevisions(machine);
        const all = last.revisions.length === 4 && last.revisions.every((r) => r === sha);
        return last.pids.length === 4 && all ? last.pids : undefined;
      },
      15_000,
      { what: `4 shop processes on ${sha.slice(0, 12)}`, intervalMs: 200 },
    );
  } catch (error) {
    assert.fail(`${(error as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}

// Ids of every order in the shop DB (read as root with the machine's python).
export async function orderIds(machine: Machine): Promise<Set<number>> {
  const py = `import sqlite3, sys
for (i,) in sqlite3.connect(sys.argv[1], timeout=10).execute("SELECT id FROM orders"): print(i)`;
  const result = await machine.exec(["/usr/bin/python3", "-c", py, SHOP_DB], { reject: true });
  return new Set(result.stdout.split("\n").filter(Boolean).map(Number));
}

// The DB's schema (tables and their SQL) and its integrity_check answer.
export async function schemaAndIntegrity(
  machine: Machine,
  db = SHOP_DB,
): Promise<{ schema: string; integrity: string }> {
  const py = `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
print(c.execute("PRAGMA integrity_check").fetchone()[0])
for (sql,) in c.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"): print(sql.replace("\\n", " "))`;
  const out = (await machine.exec(["/usr/bin/python3", "-c", py, db], { reject: true })).stdout;
  const [integrity = "", ...schema] = out.split("\n");
  return { integrity, schema: schema.join("\n") };
}

// Every acknowledged write is in the DB.
export async function assertNoAckedRowLost(machine: Machine, acked: number[]): Promise<void> {
  const present = await orderIds(machine);
  const lost = acked.filter((id) => !present.has(id));
  assert.deepEqual(lost, [], `${lost.length} acknowledged orders missing from the DB`);
}

// Names under a directory in the machine (none when it does not exist).
export async function listDir(machine: Machine, dir: string): Promise<string[]> {
  const result = await machine.exec(["ls", "-A", dir]);
  return result.exitCode === 0 ? result.stdout.split("\n").filter(Boolean).sort() : [];
}

// The release `current` points at (its directory name).
export async function currentRelease(machine: Machine): Promise<string> {
  return sh(machine, `readlink ${SHOP_DIR}/current`);
}

// Push a commit that adds migration NNN with `sql` and touches a file, so each is distinct.
export function migrationFiles(n: number, sql: string): Record<string, string> {
  const name = `migrations/${String(n).padStart(3, "0")}_step${n}.sql`;
  return { [name]: `${sql}\n`, "CHANGES.txt": `change ${n}\n` };
}

// Install and enable the boot sync unit from the checkout, as install.sh does.
export async function installSyncUnit(machine: Machine): Promise<void> {
  await sh(
    machine,
    `install -m 644 /opt/deploy-agent/units/deploy-agent-sync.service /etc/systemd/system/
     systemctl daemon-reload
     systemctl enable --quiet deploy-agent-sync.service`,
  );
}

// After a boot: the boot sync ran and succeeded, and the system is not failing because of us.
export async function assertCleanBoot(machine: Machine): Promise<void> {
  const [state, code, active] = await Promise.all(
    ["Result", "ExecMainStatus", "ActiveState"].map(async (p) =>
      (
        await machine.exec(["systemctl", "show", "deploy-agent-sync.service", "-p", p, "--value"])
      ).stdout.trim(),
    ),
  );
  const journal = await machine.journal("deploy-agent-sync.service", {
    currentBoot: true,
    lines: 40,
  });
  assert.equal(active, "active", `boot sync not active:\n${journal}`);
  assert.equal(state, "success", journal);
  assert.equal(code, "0", journal);
  const failed = (
    await machine.exec(["systemctl", "list-units", "--failed", "--plain", "--no-legend"])
  ).stdout.trim();
  assert.doesNotMatch(failed, /shop|deploy-agent/, `failed units:\n${failed}`);
  const system = (await machine.exec(["systemctl", "is-system-running"])).stdout.trim();
  assert.ok(system === "running" || (system === "degraded" && failed !== ""), system);
}

// Nothing of an interrupted run is left: no temporary release, link, DB file or start hold.
export async function assertNoDebris(machine: Machine): Promise<void> {
  const releases = await listDir(machine, `${SHOP_DIR}/releases`);
  assert.deepEqual(
    releases.filter((n) => n.startsWith(".")),
    [],
    releases.join(" "),
  );
  const top = await listDir(machine, SHOP_DIR);
  assert.deepEqual(
    top.filter((n) => n.startsWith("current.tmp")),
    [],
  );
  const shared = await listDir(machine, `${SHOP_DIR}/shared`);
  assert.deepEqual(
    shared.filter((n) => n.startsWith(".restore-")),
    [],
  );
  assert.deepEqual(await listDir(machine, "/var/lib/deploy-agent/holds"), []);
}

// The state DB's deployments, newest first, as `agent history --json` would give them; read
// with sqlite3 directly so the tests do not depend on the history command.
export async function deploymentRows(
  machine: Machine,
): Promise<{ id: number; outcome: string; step: string; error: string }[]> {
  const out = await sh(
    machine,
    `sqlite3 -json /var/lib/deploy-agent/state.db "SELECT id, outcome, step, coalesce(error, '') AS error FROM deployments ORDER BY id DESC"`,
  );
  return out ? JSON.parse(out) : [];
}
