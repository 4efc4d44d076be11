// Backup throughput: `agent backup` against the sqlite3 CLI's `.backup` on a 200 MB+ WAL database,
// idle and under a steady writer. Runs on the host: no machine is needed to copy a file.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { AGENT_CLI } from "./bench-paths.js";

export interface BackupBench {
  dbMB: number;
  // agentS: the whole command (Node start, config, copy, quick_check, fsync); copyS: the page copy.
  idle: { agentS: number; copyS: number; sqliteS: number; ratio: number; copyRatio: number };
  underWrites: {
    agentS: number;
    copyS: number;
    sqliteS: number | null;
    ratio: number | null;
    sqliteNote: string;
  };
}

interface AgentRun {
  totalS: number;
  copyS: number;
}

const WRITER = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("PRAGMA journal_mode=WAL")
end = time.time() + float(sys.argv[2])
while time.time() < end:
    with db:
        db.execute("INSERT INTO t (payload) VALUES (randomblob(512))")
    time.sleep(0.005)
`;

// Seconds a command takes, or null when it did not finish within the bound.
async function timed(file: string, args: string[], timeoutS: number): Promise<number | null> {
  const t0 = performance.now();
  const result = await execa(file, args, { reject: false, timeout: timeoutS * 1000 });
  if (result.timedOut) return null;
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: ${result.stderr}`);
  return (performance.now() - t0) / 1000;
}

export async function benchBackup(): Promise<BackupBench> {
  const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-bench-"));
  try {
    const db = path.join(dir, "shared/big.db");
    mkdirSync(path.dirname(db), { recursive: true });
    // About 220 MB: 200k rows of 1 KiB random payload plus an index, in WAL mode like the app.
    await execa("sqlite3", [
      db,
      "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB); " +
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200000) " +
        "INSERT INTO t (payload) SELECT randomblob(1024) FROM n; CREATE INDEX t_payload ON t(substr(payload,1,8));",
    ]);
    const config = path.join(dir, "agent.yaml");
    writeFileSync(
      config,
      `apps:\n  big:\n    dir: ${dir}\n    service: big.service\n    user: root\n    group: root\n` +
        `    repo: { url: /nowhere.git }\n    database: { path: ${db}, backups: { keep: 2 } }\n`,
    );
    // Its own directories, caches included: the bench leaves the host as it found it (machines
    // booted later see the host's files through their overlay).
    const env = {
      DEPLOY_AGENT_STATE_DIR: path.join(dir, "state"),
      DEPLOY_AGENT_RUN_DIR: path.join(dir, "run"),
      DEPLOY_AGENT_CODE_CACHE_DIR: path.join(dir, "cache", "code"),
    };
    const agentBackup = () => runAgentBackup(config, env);
    const sqliteBackup = (n: number, bound: number) =>
      timed("sqlite3", [db, `.backup ${path.join(dir, `cli-${n}.db`)}`], bound);

    // Warm the page cache once so both sides read from memory, then take the best of three.
    await sqliteBackup(0, 120);
    const agentRuns = [await agentBackup(), await agentBackup(), await agentBackup()];
    const idleAgent = Math.min(...agentRuns.map((r) => r.totalS));
    const idleCopy = Math.min(...agentRuns.map((r) => r.copyS));
    const sqliteRuns = [
      await sqliteBackup(1, 120),
      await sqliteBackup(2, 120),
      await sqliteBackup(3, 120),
    ];
    const idleSqlite = Math.min(...sqliteRuns.map((r) => r ?? Number.POSITIVE_INFINITY));

    const writer = execa("python3", ["-c", WRITER, db, "90"], { reject: false });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const busyAgent = await agentBackup();
      // The CLI copies 100 pages per step and restarts whenever the writer commits: bound it.
      const bound = Math.max(30, busyAgent.totalS * 10);
      const busySqlite = await sqliteBackup(4, bound);
      return {
        dbMB: Math.round(statSync(db).size / 1048576),
        idle: {
          agentS: idleAgent,
          copyS: idleCopy,
          sqliteS: idleSqlite,
          ratio: idleAgent / idleSqlite,
          copyRatio: idleCopy / idleSqlite,
        },
        underWrites: {
          agentS: busyAgent.totalS,
          copyS: busyAgent.copyS,
          sqliteS: busySqlite,
          ratio: busySqlite === null ? null : busyAgent.totalS / busySqlite,
          sqliteNote:
            busySqlite === null ? `did not finish within ${bound.toFixed(0)} s` : "finished",
        },
      };
    } finally {
      writer.kill();
      await writer;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// One `agent backup --json`: wall time of the whole command and the copy phase it reports.
async function runAgentBackup(config: string, env: Record<string, string>): Promise<AgentRun> {
  const t0 = performance.now();
  const result = await execa(
    process.execPath,
    [AGENT_CLI, "--config", config, "backup", "--json"],
    {
      env,
      timeout: 120_000,
    },
  );
  const report = JSON.parse(result.stdout) as { copyMs: number };
  return { totalS: (performance.now() - t0) / 1000, copyS: report.copyMs / 1000 };
}

const s = (v: number) => `${v.toFixed(2)} s`;
const x = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(2)}×`);

export function backupLines(backup: BackupBench): string[] {
  const busySqlite =
    backup.underWrites.sqliteS === null
      ? backup.underWrites.sqliteNote
      : s(backup.underWrites.sqliteS);
  return [
    `backup of a ${backup.dbMB} MB WAL database`,
    `  idle:          agent backup ${s(backup.idle.agentS)} (copy ${s(backup.idle.copyS)})   sqlite3 .backup ${s(backup.idle.sqliteS)}   ratio ${x(backup.idle.ratio)} (copy ${x(backup.idle.copyRatio)})`,
    `  under writes:  agent backup ${s(backup.underWrites.agentS)} (copy ${s(backup.underWrites.copyS)})   sqlite3 .backup ${busySqlite}   ratio ${x(backup.underWrites.ratio)}`,
  ];
}
