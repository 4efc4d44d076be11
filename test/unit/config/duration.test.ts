// Durations as operators write them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration } from "../../../src/config/duration.js";

test("parses units and compounds", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("60s"), 60_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("30d"), 30 * 86_400_000);
});

test("rejects what is not a duration", () => {
  for (const bad of ["", "60", "s", "10q", "5 m", "-5s", "1h x"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});
