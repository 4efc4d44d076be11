// GET /metrics: Prometheus text format via prom-client, on a registry of our own (no globals).
// Loaded only when the status endpoint is on, so a daemon without it never pays for prom-client.
import { Counter, Gauge, Registry } from "prom-client";
import type { CheckReport } from "../check/run-checks.js";
import type { CheckStatus } from "../check/types.js";
import type { AppConfig } from "../config/schema.js";
import { appLayout, readLiveRelease } from "../release/layout.js";
import type { CheckRecord } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";

export interface Metrics {
  observeCheck(report: CheckReport): void;
  render(): Promise<{ contentType: string; body: string }>;
}

// Status as a number, in Nagios exit-code order, so alerting rules can say `> 0` or `>= 2`.
export const STATUS_VALUE: Record<CheckStatus, number> = {
  ok: 0,
  warning: 1,
  critical: 2,
  unknown: 3,
};

// Build the registry; `seed` gives each app's newest recorded verdict so a restarted daemon
// does not report "no data" until its first scheduled run.
export function createMetrics(
  db: StateDb,
  apps: AppConfig[],
  seed: Map<string, CheckRecord>,
): Metrics {
  const registry = new Registry();
  const checkStatus = new Gauge({
    name: "deploy_agent_check_status",
    help: "Last result of each health check: 0 ok, 1 warning, 2 critical, 3 unknown",
    labelNames: ["app", "check"] as const,
    registers: [registry],
  });
  const appStatus = new Gauge({
    name: "deploy_agent_app_status",
    help: "Last overall verdict of the app: 0 ok, 1 warning, 2 critical, 3 unknown",
    labelNames: ["app"] as const,
    registers: [registry],
  });
  const checkDuration = new Gauge({
    name: "deploy_agent_check_duration_seconds",
    help: "How long each health check took in the last run",
    labelNames: ["app", "check"] as const,
    registers: [registry],
  });
  const runDuration = new Gauge({
    name: "deploy_agent_check_run_duration_seconds",
    help: "How long the last full check run of the app took",
    labelNames: ["app"] as const,
    registers: [registry],
  });
  const lastCheck = new Gauge({
    name: "deploy_agent_last_check_timestamp_seconds",
    help: "When the app was last checked (Unix time); alert when it goes stale",
    labelNames: ["app"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "deploy_agent_release_info",
    help: "The live revision of each app (value always 1)",
    labelNames: ["app", "revision"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const app of apps) {
        const live = await readLiveRelease(appLayout(app));
        if (live) this.set({ app: app.name, revision: live.revision }, 1);
      }
    },
  });
  const countNew = newDeploymentCounter(db);
  new Counter({
    name: "deploy_agent_deployments_total",
    help: "Deployments finished since the daemon started, by outcome (any trigger: CLI, boot, poll, API)",
    labelNames: ["app", "outcome"] as const,
    registers: [registry],
    collect() {
      for (const row of countNew()) this.inc({ app: row.app, outcome: row.outcome });
    },
  });

  for (const [app, record] of seed) {
    if (!(record.status in STATUS_VALUE)) continue;
    appStatus.set({ app }, STATUS_VALUE[record.status]);
    lastCheck.set({ app }, Date.parse(record.at) / 1000);
    for (const r of record.results) checkStatus.set({ app, check: r.name }, STATUS_VALUE[r.status]);
  }

  return {
    observeCheck(report) {
      const app = report.app;
      appStatus.set({ app }, STATUS_VALUE[report.status]);
      runDuration.set({ app }, report.durationMs / 1000);
      lastCheck.set({ app }, Date.now() / 1000);
      for (const c of report.checks) {
        checkStatus.set({ app, check: c.name }, STATUS_VALUE[c.status]);
        checkDuration.set({ app, check: c.name }, c.durationMs / 1000);
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

// Finished deployments not yet counted. Those already finished at start are skipped (a counter
// counts from the process start); ids are remembered rather than a high-water mark because rows
// finish out of id order when several apps deploy at once. Pruning only removes old rows, so
// it never undoes a count.
function newDeploymentCounter(db: StateDb): () => { app: string; outcome: string }[] {
  const query = db.prepare(
    "SELECT id, app, outcome FROM deployments WHERE finished_at IS NOT NULL AND outcome IS NOT NULL",
  );
  const finished = () => query.all() as { id: number; app: string; outcome: string }[];
  const counted = new Set(finished().map((row) => row.id));
  return () => finished().filter((row) => !counted.has(row.id) && counted.add(row.id));
}
