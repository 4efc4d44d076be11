// What every machine-based measurement shares: a machine that is always destroyed, a progress
// line on stderr (a full bench takes minutes), and a commit that carries a migration.
import { bootMachine, type Machine } from "../machine/machine.js";

// Boot a fresh machine, run fn on it, and destroy the machine whatever happens. Each measurement
// gets its own machine, so no run inherits the releases, units or daemon of another.
export async function withMachine<T>(
  name: string,
  fn: (machine: Machine) => Promise<T>,
): Promise<T> {
  const machine = await bootMachine({ name });
  try {
    return await fn(machine);
  } finally {
    await machine.destroy();
  }
}

// One progress line on stderr; the report itself goes to stdout at the end.
export function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

// Files for a commit that adds migration NNN (one new table) and changes a file, so every deploy
// runs the migrate hook against the DB, as a real schema change does.
export function migrationCommit(n: number): Record<string, string> {
  const name = `migrations/${String(n).padStart(3, "0")}_bench${n}.sql`;
  return {
    [name]: `CREATE TABLE bench_${n} (id INTEGER PRIMARY KEY);\n`,
    "CHANGES.txt": `bench ${n}\n`,
  };
}

// Run a shell command inside the machine, timed inside the machine (so the harness's nsenter is
// not counted); returns wall ms, exit code, stdout and stderr.
export async function timedInMachine(
  machine: Machine,
  command: string,
  env: Record<string, string> = {},
): Promise<{ ms: number; exit: number; stdout: string; stderr: string }> {
  const script = `s=$(date +%s%N); ${command} >/tmp/bench.out 2>/tmp/bench.err; rc=$?; e=$(date +%s%N)
    echo "$(( (e - s) / 1000 )) $rc"`;
  const result = await machine.exec(["bash", "-c", script], { env, timeoutMs: 300_000 });
  const [us = "NaN", rc = "-1"] = result.stdout.trim().split(" ");
  const [stdout, stderr] = await Promise.all([
    machine.exec(["cat", "/tmp/bench.out"]).then((r) => r.stdout),
    machine.exec(["cat", "/tmp/bench.err"]).then((r) => r.stdout),
  ]);
  return { ms: Number(us) / 1000, exit: Number(rc), stdout, stderr };
}
