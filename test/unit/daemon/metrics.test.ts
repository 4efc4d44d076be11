// /metrics content: check gauges, release info from the live REVISION, deployments counted.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { AppConfig } from "../../../src/config/schema.js";
import { createMetrics } from "../../../src/daemon/metrics.js";
import type { CheckRecord } from "../../../src/state/check-records.js";
import { openStateDb } from "../../../src/state/state-db.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-metrics-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const SHA = "3f2a1c9b0d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a";

test("metrics render the last check, the live revision and new deployments", async () => {
  const appDir = path.join(dir, "shop");
  const release = path.join(appDir, "releases", "20261123T101500Z-3f2a1c9b0d1e");
  mkdirSync(release, { recursive: true });
  writeFileSync(path.join(release, "REVISION"), `${SHA}\n`);
  symlinkSync("releases/20261123T101500Z-3f2a1c9b0d1e", path.join(appDir, "current"));
  const app = { name: "shop", dir: appDir } as AppConfig;
  const db = openStateDb(path.join(dir, "state"));
  const deploy = db.prepare(
    "INSERT INTO deployments (app, started_at, finished_at, trigger, outcome) VALUES ('shop', 'x', ?, 'cli', ?)",
  );
  deploy.run("x", "deployed"); // before the daemon started: not counted
  const seed = new Map<string, CheckRecord>([
    [
      "shop",
      {
        id: 1,
        app: "shop",
        at: "2026-11-23T12:00:00.000Z",
        trigger: "schedule",
        status: "critical",
        durationMs: 5,
        results: [{ name: "database", status: "critical", summary: "mode 600" }],
      },
    ],
  ]);
  const metrics = createMetrics(db, [app], seed);

  let text = (await metrics.render()).body;
  assert.match(text, /deploy_agent_check_status\{app="shop",check="database"\} 2/);
  assert.match(text, /deploy_agent_app_status\{app="shop"\} 2/);
  assert.match(text, new RegExp(`deploy_agent_release_info\\{app="shop",revision="${SHA}"\\} 1`));
  assert.doesNotMatch(text, /deploy_agent_deployments_total\{/);

  metrics.observeCheck({
    app: "shop",
    status: "ok",
    checks: [{ name: "database", status: "ok", summary: "", details: {}, durationMs: 250 }],
    changes: [],
    durationMs: 300,
  });
  deploy.run("y", "deployed");
  deploy.run("z", "rolled-back");
  deploy.run(null, "running"); // not finished: not counted yet
  text = (await metrics.render()).body;
  assert.match(text, /deploy_agent_check_status\{app="shop",check="database"\} 0/);
  assert.match(text, /deploy_agent_check_duration_seconds\{app="shop",check="database"\} 0.25/);
  assert.match(text, /deploy_agent_check_run_duration_seconds\{app="shop"\} 0.3/);
  assert.match(text, /deploy_agent_deployments_total\{app="shop",outcome="deployed"\} 1/);
  assert.match(text, /deploy_agent_deployments_total\{app="shop",outcome="rolled-back"\} 1/);
  // A second scrape does not count the same rows again.
  text = (await metrics.render()).body;
  assert.match(text, /deploy_agent_deployments_total\{app="shop",outcome="deployed"\} 1/);
  db.close();
});
