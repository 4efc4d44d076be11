// Judging the unit's state: active, failed, stopped, restart-looping.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  evaluateService,
  RESTART_LOOP,
  restartsMemoryKey,
  restartsSince,
} from "../../../src/check/service.js";
import type { UnitState } from "../../../src/check/unit-state.js";

function unit(fields: Partial<UnitState> = {}): UnitState {
  return {
    unit: "shop.service",
    loadState: "loaded",
    activeState: "active",
    subState: "running",
    result: "success",
    nRestarts: 0,
    mainPid: 100,
    controlGroup: "/system.slice/shop.service",
    program: "gunicorn",
    activeSince: "Mon 2026-11-23 09:00:00 UTC",
    ...fields,
  };
}

describe("evaluateService", () => {
  test("active and running is ok", () => {
    const outcome = evaluateService(unit(), 0);
    assert.equal(outcome.status, "ok");
    assert.match(outcome.summary, /^active \(running\) since/);
  });

  test("failed, stopped and not-found units are critical", () => {
    assert.equal(
      evaluateService(unit({ activeState: "failed", result: "exit-code" })).status,
      "critical",
    );
    const stopped = evaluateService(unit({ activeState: "inactive", subState: "dead" }));
    assert.equal(stopped.status, "critical");
    assert.match(stopped.summary, /inactive \(dead\)/);
    assert.equal(evaluateService(unit({ loadState: "not-found" })).status, "critical");
  });

  test("waiting to restart is a restart loop", () => {
    const outcome = evaluateService(unit({ activeState: "activating", subState: "auto-restart" }));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /restart-looping/);
  });

  test("starting is a warning", () => {
    assert.equal(
      evaluateService(unit({ activeState: "activating", subState: "start" })).status,
      "warning",
    );
  });

  test("NRestarts grown since the previous check: one restart warns, a loop is critical", () => {
    const once = evaluateService(unit({ nRestarts: 5 }), 4);
    assert.equal(once.status, "warning");
    assert.match(once.summary, /restarted 1 time since the previous check/);
    const loop = evaluateService(unit({ nRestarts: 4 + RESTART_LOOP }), 4);
    assert.equal(loop.status, "critical");
    assert.match(loop.summary, /restart loop/);
  });

  test("no previous value (no state DB) judges the current state only", () => {
    assert.equal(evaluateService(unit({ nRestarts: 9 }), undefined).status, "ok");
  });
});

describe("restartsSince", () => {
  test("counts growth, and a reset by a manual start is not growth", () => {
    assert.equal(restartsSince(2, 5), 3);
    assert.equal(restartsSince(5, 0), 0);
    assert.equal(restartsSince(undefined, 5), 0);
    assert.equal(restartsSince(5, undefined), 0);
  });
});

describe("restartsMemoryKey", () => {
  test("an app's one unit keeps the key it always had", () => {
    assert.equal(restartsMemoryKey("shop.service"), "service.nrestarts");
  });

  test("each color counts its own restarts: a switch between them is not a restart", () => {
    assert.equal(restartsMemoryKey("shop@blue.service"), "service.nrestarts:shop@blue.service");
    assert.notEqual(
      restartsMemoryKey("shop@blue.service"),
      restartsMemoryKey("shop@green.service"),
    );
  });
});
