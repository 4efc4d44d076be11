// Deploy downtime against the size of the DB: the same deploy (strategy restart, the app's own
// listener, a commit with a migration) with a 16 KB DB and with one of about 268 MB, a writer
// committing orders until the stop, and a probe every 20 ms. Downtime is from the first request
// that is refused, fails or waits (not answered within 100 ms) to the first answer of the new
// release; the backup's share of the stop window is the "backup" step, the copy made while the
// app served is "precopy".
import { startLoad } from "../machine/load.js";
import type { RequestRecord } from "../machine/load-report.js";
import { provisionShop, pushCommit, SHOP_DB, startWriter } from "../machine/sample-app.js";
import { migrationCommit, progress, timedInMachine, withMachine } from "./bench-machine.js";

// A request not answered within this long was waiting on a stopped app, not served.
const SLOW_MS = 100;
// Rows of ~1 KB added for the big variant: about 268 MB with SQLite's overhead.
const BULK_ROWS = 256_000;

export interface DowntimeResult {
  label: string;
  dbMB: number;
  syncExit: number;
  downtimeMs: number;
  stepMs: Record<string, number>;
  backupNote: string;
  writerAcked: number;
  probes: number;
}

interface HistoryJson {
  apps: {
    deployments: {
      outcome: string;
      steps: { step: string; durationMs: number | null; message?: string | null }[];
    }[];
  }[];
}

export async function benchDowntime(big: boolean): Promise<DowntimeResult> {
  const label = big ? "268 MB" : "16 KB";
  return withMachine(`bench-downtime-${big ? "big" : "small"}`, async (machine) => {
    progress(`deploy downtime with a ${label} DB`);
    const { sha: oldSha } = await provisionShop(machine);
    if (big) {
      await machine.exec(
        [
          "runuser",
          "-u",
          "www-data",
          "--",
          "sqlite3",
          SHOP_DB,
          `CREATE TABLE bench_bulk (id INTEGER PRIMARY KEY, payload BLOB);
           WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BULK_ROWS})
           INSERT INTO bench_bulk (payload) SELECT randomblob(1000) FROM n;
           PRAGMA wal_checkpoint(TRUNCATE);`,
        ],
        { reject: true, timeoutMs: 300_000 },
      );
    }
    const dbBytes = Number(
      (await machine.exec(["stat", "-c", "%s", SHOP_DB], { reject: true })).stdout.trim(),
    );
    const newSha = await pushCommit(machine, { message: "downtime", files: migrationCommit(2) });
    const writer = await startWriter(machine, { ratePerSec: 50 });
    const probe = await startLoad(machine, {
      name: "bench-probe",
      clients: 1,
      intervalMs: 20,
      timeoutS: 15,
      versions: [oldSha, newSha],
    });
    let sync: Awaited<ReturnType<typeof timedInMachine>>;
    let acked = 0;
    try {
      await new Promise((r) => setTimeout(r, 1500));
      sync = await timedInMachine(machine, "agent sync");
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      acked = (await writer.stop()).count;
    }
    const report = await probe.stop();
    if (sync.exit !== 0) throw new Error(`deploy failed:\n${sync.stdout}${sync.stderr}`);
    const history = JSON.parse(
      (await machine.exec(["agent", "history", "--json", "--limit", "1"], { reject: true })).stdout,
    ) as HistoryJson;
    const steps = history.apps[0]?.deployments[0]?.steps ?? [];
    return {
      label,
      dbMB: dbBytes / 1048576,
      syncExit: sync.exit,
      downtimeMs: downtimeOf(report.records, newSha),
      stepMs: Object.fromEntries(steps.map((s) => [s.step, s.durationMs ?? 0])),
      backupNote: steps.find((s) => s.step === "backup")?.message ?? "",
      writerAcked: acked,
      probes: report.total,
    };
  });
}

// From the first request that was not served promptly to the first answer of the new release.
export function downtimeOf(records: RequestRecord[], newSha: string): number {
  const bad = records.filter(
    (r) => r.outcome !== "ok" || (r.version !== newSha && (r.end - r.start) * 1000 > SLOW_MS),
  );
  const firstBad = Math.min(...bad.map((r) => r.start));
  const firstNew = Math.min(
    ...records.filter((r) => r.outcome === "ok" && r.version === newSha).map((r) => r.end),
  );
  if (!Number.isFinite(firstNew)) return Number.NaN;
  if (!Number.isFinite(firstBad)) return 0;
  return Math.max(0, (firstNew - firstBad) * 1000);
}

export function downtimeLines(results: DowntimeResult[]): string[] {
  const lines = [
    "deploy downtime against DB size (restart, the app's own listener, a writer until the stop, a probe every 20 ms)",
    "  DB        downtime   stop window: stop  backup  switch  migrate  start   copied while serving (precopy)",
  ];
  for (const r of results) {
    const ms = (step: string) => `${Math.round(r.stepMs[step] ?? 0)} ms`;
    lines.push(
      `  ${`${r.dbMB.toFixed(1)} MB`.padEnd(9)} ${`${(r.downtimeMs / 1000).toFixed(2)} s`.padStart(8)}   ${[
        ms("stop").padStart(17),
        ms("backup").padStart(7),
        ms("switch").padStart(7),
        ms("migrate").padStart(8),
        ms("start").padStart(7),
      ].join(" ")}   ${ms("precopy")}`,
    );
    lines.push(`            backup: ${r.backupNote}`);
  }
  const big = results.find((r) => r.dbMB > 100);
  if (big) {
    const backupS = (big.stepMs.backup ?? 0) / 1000;
    lines.push(
      `  target: backup inside the stop window <= 0.2 s for the big DB: ${backupS.toFixed(3)} s, ${backupS <= 0.2 ? "met" : "NOT met"}`,
    );
  }
  lines.push(
    "  downtime = first request refused, failed or not answered within 100 ms, to the first answer of the new release",
  );
  return lines;
}
