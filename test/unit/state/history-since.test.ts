// `agent history --since`: a duration back from now, or a date.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSince } from "../../../src/commands/history.js";
import { UsageError } from "../../../src/errors.js";

const NOW = Date.parse("2026-11-23T12:00:00.000Z");

test("a duration counts back from now", () => {
  assert.equal(parseSince("24h", NOW), "2026-11-22T12:00:00.000Z");
  assert.equal(parseSince("90m", NOW), "2026-11-23T10:30:00.000Z");
});

test("a date or time is taken as it is", () => {
  assert.equal(parseSince("2026-11-20", NOW), "2026-11-20T00:00:00.000Z");
  assert.equal(parseSince("2026-11-20T08:15:00Z", NOW), "2026-11-20T08:15:00.000Z");
});

test("anything else is a usage error", () => {
  assert.throws(() => parseSince("yesterday-ish", NOW), UsageError);
});
