// Monit-style events: one on each change of verdict, including recovery; none when steady.
import assert from "node:assert/strict";
import { test } from "node:test";
import { detectStateChange } from "../../../src/daemon/state-change.js";

test("ok → critical is a change, critical → ok a recovery", () => {
  assert.deepEqual(detectStateChange("ok", "critical"), {
    from: "ok",
    to: "critical",
    recovered: false,
  });
  assert.deepEqual(detectStateChange("critical", "ok"), {
    from: "critical",
    to: "ok",
    recovered: true,
  });
});

test("no event while the verdict stays the same", () => {
  for (const s of ["ok", "warning", "critical", "unknown"] as const) {
    assert.equal(detectStateChange(s, s), undefined);
  }
});

test("first verdict: silent when ok, an event when not", () => {
  assert.equal(detectStateChange(undefined, "ok"), undefined);
  assert.deepEqual(detectStateChange(undefined, "critical"), {
    from: "ok",
    to: "critical",
    recovered: false,
  });
});

test("direction follows severity (unknown ranks between warning and critical)", () => {
  assert.equal(detectStateChange("warning", "unknown")?.recovered, false);
  assert.equal(detectStateChange("critical", "unknown")?.recovered, true);
  assert.equal(detectStateChange("critical", "warning")?.recovered, true);
  assert.equal(detectStateChange("ok", "warning")?.recovered, false);
});
