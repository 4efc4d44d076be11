// on_critical restarts are bounded: two per rolling hour, remembered across daemon restarts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readRestartTimes, spendRestart, takeRestart } from "../../../src/daemon/restart-budget.js";
import { openStateDb } from "../../../src/state/state-db.js";

const HOUR = 3_600_000;

test("allows two restarts in an hour, refuses the third", () => {
  const t0 = 1_000_000_000;
  const first = spendRestart([], t0);
  assert.deepEqual(first, { allowed: true, times: [t0] });
  const second = spendRestart(first.times, t0 + 60_000);
  assert.equal(second.allowed, true);
  const third = spendRestart(second.times, t0 + 120_000);
  assert.equal(third.allowed, false);
  assert.deepEqual(third.times, [t0, t0 + 60_000]);
});

test("a restart leaves the budget once it is an hour old", () => {
  const t0 = 1_000_000_000;
  assert.equal(spendRestart([t0, t0 + 1000], t0 + HOUR - 1).allowed, false);
  const later = spendRestart([t0, t0 + 1000], t0 + HOUR);
  assert.equal(later.allowed, true);
  assert.deepEqual(later.times, [t0 + 1000, t0 + HOUR]);
});

test("times in the future (clock stepped back) still count against the budget", () => {
  const now = 1_000_000_000;
  assert.equal(spendRestart([now + 5000, now + 9000], now).allowed, false);
});

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-budget-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the budget survives a daemon restart (persisted in app_memory)", () => {
  const t0 = 2_000_000_000;
  let db = openStateDb(dir);
  assert.equal(takeRestart(db, "shop", t0), true);
  assert.equal(takeRestart(db, "shop", t0 + 1000), true);
  db.close();
  db = openStateDb(dir);
  assert.deepEqual(readRestartTimes(db, "shop"), [t0, t0 + 1000]);
  assert.equal(takeRestart(db, "shop", t0 + 2000), false);
  // Other apps have their own budget.
  assert.equal(takeRestart(db, "blog", t0 + 2000), true);
  assert.equal(takeRestart(db, "shop", t0 + HOUR + 1), true);
  db.close();
});

test("garbage in app_memory counts as no restarts yet", () => {
  const db = openStateDb(dir);
  db.prepare(
    "INSERT OR REPLACE INTO app_memory VALUES ('x', 'on_critical.restarts', 'nope')",
  ).run();
  assert.deepEqual(readRestartTimes(db, "x"), []);
  db.close();
});
