// The crash-recovery decision table, one row per moment a sync can die.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type InterruptedDeployment, planRecovery } from "../../../src/recovery/recovery-plan.js";

const OLD = "20261123T100000Z-aaaaaaaaaaaa";
const NEW = "20261123T110000Z-bbbbbbbbbbbb";
const BACKUP = "/srv/shop/backups/shop.db.20261123T110001000Z.bak";
const both = { releases: [OLD, NEW] };

// A deployment that died at `step`, with the facts a real sync records by then.
function diedAt(
  step: string | null,
  extra: Partial<InterruptedDeployment> = {},
): InterruptedDeployment {
  const order = ["fetch", "build", "stop", "backup", "switch", "migrate", "start", "verify"];
  const reached = (s: string) => step !== null && order.indexOf(step) >= order.indexOf(s);
  return {
    step,
    fromRelease: OLD,
    toRelease: reached("build") ? NEW : null,
    backupPath: reached("switch") ? BACKUP : null,
    migrated: reached("migrate"),
    dbRestored: false,
    keptCopy: null,
    started: reached("start"),
    undoing: false,
    ...extra,
  };
}

describe("planRecovery", () => {
  test("an undo that died in its own start or verify goes back again, never forward", () => {
    for (const step of ["stop", "switch", "start", "verify"]) {
      const dep = diedAt(step, {
        undoing: true,
        migrated: true,
        backupPath: BACKUP,
        dbRestored: true,
      });
      assert.deepEqual(
        planRecovery(dep, both),
        { kind: "back", release: OLD, db: { kind: "keep" }, keepCopy: false },
        step,
      );
    }
  });

  test("before the service was touched (fetch, build): nothing to undo", () => {
    for (const step of [null, "fetch", "build"]) {
      assert.deepEqual(planRecovery(diedAt(step), both), { kind: "nothing" }, String(step));
    }
  });

  test("stop, backup, switch: back to the old release, DB untouched", () => {
    for (const step of ["stop", "backup", "switch"]) {
      assert.deepEqual(
        planRecovery(diedAt(step), both),
        { kind: "back", release: OLD, db: { kind: "keep" }, keepCopy: false },
        step,
      );
    }
  });

  test("during migrate: back, and the DB restored from the backup taken after the stop", () => {
    assert.deepEqual(planRecovery(diedAt("migrate"), both), {
      kind: "back",
      release: OLD,
      db: { kind: "backup", file: BACKUP },
      keepCopy: false,
    });
  });

  test("start or verify: forward to the new release, falling back with a copy of its DB", () => {
    for (const step of ["start", "verify"]) {
      assert.deepEqual(
        planRecovery(diedAt(step), both),
        {
          kind: "forward",
          release: NEW,
          fallback: {
            kind: "back",
            release: OLD,
            db: { kind: "backup", file: BACKUP },
            keepCopy: true,
          },
        },
        step,
      );
    }
  });

  test("start without a complete new release on disk: back instead of forward", () => {
    const plan = planRecovery(diedAt("start"), { releases: [OLD] });
    assert.equal(plan.kind, "back");
  });

  test("an interrupted rollback is redone, but never restores the DB twice", () => {
    const midway = diedAt("verify", { step: "rollback" });
    assert.deepEqual(planRecovery(midway, both), {
      kind: "back",
      release: OLD,
      db: { kind: "backup", file: BACKUP },
      keepCopy: true,
    });
    const restored = diedAt("verify", {
      step: "rollback",
      dbRestored: true,
      keptCopy: "/x.failed-1",
    });
    assert.deepEqual(planRecovery(restored, both), {
      kind: "back",
      release: OLD,
      db: { kind: "keep" },
      keepCopy: false,
    });
  });

  test("a first deploy (no old release) is reset: DB change undone, then redeployed", () => {
    const first = diedAt("migrate", { fromRelease: null, backupPath: null });
    assert.deepEqual(planRecovery(first, { releases: [NEW] }), {
      kind: "reset",
      db: { kind: "remove" },
    });
  });

  test("an old release whose directory is gone cannot be gone back to", () => {
    assert.equal(planRecovery(diedAt("switch"), { releases: [NEW] }).kind, "reset");
  });
});
