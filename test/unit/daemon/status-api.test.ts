// GET /v1/apps/APP as the daemon builds it for a restart app: the fields it always had, and the
// strategy.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { pino } from "pino";
import { AppWork } from "../../../src/daemon/app-work.js";
import { DaemonState } from "../../../src/daemon/daemon-state.js";
import type { Metrics } from "../../../src/daemon/metrics.js";
import { createStatusApi } from "../../../src/daemon/status-api.js";
import { openStateDb } from "../../../src/state/state-db.js";
import { restartApp } from "../check/apps.js";

const root = mkdtempSync(path.join(tmpdir(), "deploy-agent-status-api-"));
const db = openStateDb(root);
after(() => {
  db.close();
  rmSync(root, { recursive: true, force: true });
});

test("a restart app's status says strategy restart beside the fields it always had", async () => {
  // An app whose directory does not exist: nothing is live, nothing runs.
  const app = { ...restartApp(), name: `status-api-${process.pid}`, dir: path.join(root, "app") };
  const api = createStatusApi({
    version: "9.9.9",
    token: "t",
    apps: [app],
    db,
    state: new DaemonState([app.name]),
    work: new AppWork(),
    metrics: {} as Metrics,
    log: pino({ level: "silent" }),
  });
  const status = (await api.appStatus(app.name)) as Record<string, unknown>;
  assert.equal(status.strategy, "restart");
  for (const key of ["color", "port", "colors", "drain"]) assert.ok(!(key in status), key);
  assert.deepEqual(Object.keys(status).sort(), [
    "activity",
    "app",
    "lastCheck",
    "live",
    "lock",
    "nextCheck",
    "poll",
    "schedule",
    "strategy",
  ]);
  assert.equal(status.live, null);
});
