// Deployment rows as crash recovery and `agent history` read them, in a real state DB.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import {
  beginStep,
  createDeployment,
  currentBootId,
  endStep,
  finishDeployment,
  listDeployments,
  runningDeployments,
  stepsOf,
  updateDeployment,
} from "../../../src/state/deployments.js";
import { openStateDb } from "../../../src/state/state-db.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-state-"));
const db = openStateDb(dir);
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a row records its step before the step runs, and progress facts as they happen", () => {
  const id = createDeployment(db, {
    app: "shop",
    trigger: "cli",
    fromRelease: "r1",
    revision: "b".repeat(40),
  });
  const build = beginStep(db, id, "build");
  endStep(db, build, "ok", 1234.4, "r2");
  beginStep(db, id, "migrate");
  updateDeployment(db, id, { toRelease: "r2", backupPath: "/b.bak", migrated: true });
  const [running] = runningDeployments(db, "shop");
  assert.ok(running);
  assert.equal(running.step, "migrate");
  assert.equal(running.migrated, true);
  assert.equal(running.dbRestored, false);
  assert.equal(running.backupPath, "/b.bak");
  assert.equal(running.pid, process.pid);
  assert.equal(running.bootId, currentBootId());
  assert.deepEqual(
    stepsOf(db, id).map((s) => [s.step, s.outcome, s.durationMs]),
    [
      ["build", "ok", 1234],
      ["migrate", "running", null],
    ],
  );
  finishDeployment(db, id, "rolled-back", "migrate failed for shop at bbbbbbbbbbbb: exit 1");
  assert.deepEqual(runningDeployments(db, "shop"), []);
  const [last] = listDeployments(db, "shop", 5);
  assert.equal(last?.outcome, "rolled-back");
  assert.ok(last?.finishedAt);
});

test("rows of other apps are not mixed in", () => {
  createDeployment(db, { app: "blog", trigger: "cli", revision: "c".repeat(40) });
  assert.equal(runningDeployments(db, "shop").length, 0);
  assert.equal(runningDeployments(db, "blog").length, 1);
});
