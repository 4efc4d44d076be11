// history.retention: old checks and finished deployments go; running ones and the newest stay.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { pruneHistory } from "../../../src/daemon/prune-history.js";
import { openStateDb } from "../../../src/state/state-db.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-prune-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const now = Date.parse("2026-11-23T12:00:00Z");
const ago = (days: number) => new Date(now - days * DAY).toISOString();

test("prunes rows older than retention, keeping running and newest-per-app rows", () => {
  const db = openStateDb(dir);
  const check = db.prepare(
    "INSERT INTO checks (app, at, trigger, status, duration_ms, results) VALUES (?, ?, 'schedule', 'ok', 1, '[]')",
  );
  check.run("shop", ago(40));
  check.run("shop", ago(31));
  check.run("shop", ago(2));
  check.run("blog", ago(50)); // blog's only check: kept
  const deploy = db.prepare(
    "INSERT INTO deployments (app, started_at, finished_at, trigger, outcome) VALUES (?, ?, ?, 'cli', ?)",
  );
  const old1 = deploy.run("shop", ago(45), ago(45), "deployed").lastInsertRowid;
  const oldLive = deploy.run("shop", ago(40), ago(40), "deployed").lastInsertRowid; // newest deployed
  deploy.run("shop", ago(39), null, "running"); // never finished (crash): kept
  const oldFailed = deploy.run("shop", ago(35), ago(35), "rolled-back").lastInsertRowid;
  deploy.run("shop", ago(1), ago(1), "rolled-back"); // newest of shop
  db.prepare(
    "INSERT INTO deployment_steps (deployment_id, step, started_at, outcome) VALUES (?, 'fetch', ?, 'ok')",
  ).run(old1, ago(45));

  const removed = pruneHistory(db, 30 * DAY, now);
  assert.deepEqual(removed, { checks: 2, deployments: 2 });
  const checks = db.prepare("SELECT app, at FROM checks ORDER BY id").all();
  assert.deepEqual(checks, [
    { app: "shop", at: ago(2) },
    { app: "blog", at: ago(50) },
  ]);
  const ids = (db.prepare("SELECT id FROM deployments ORDER BY id").all() as { id: number }[]).map(
    (r) => r.id,
  );
  assert.ok(!ids.includes(Number(old1)) && !ids.includes(Number(oldFailed)));
  assert.ok(ids.includes(Number(oldLive)), "newest successful deployment kept");
  assert.equal(ids.length, 3);
  assert.equal(
    (db.prepare("SELECT COUNT(*) AS n FROM deployment_steps").get() as { n: number }).n,
    0,
  );
  assert.deepEqual(pruneHistory(db, 30 * DAY, now), { checks: 0, deployments: 0 });
  db.close();
});
