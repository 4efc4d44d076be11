// `agent status` reads the daemon's STATUS= line: each app's part, and its next check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { appStatusPart, nextCheckOf } from "../../../src/daemon/daemon-unit-status.js";
import { formatStatusText } from "../../../src/daemon/status-text.js";

test("each app's part of a line with several apps, and its next check", () => {
  const at = new Date(2026, 10, 23, 12, 15);
  const next = new Date(2026, 10, 23, 12, 30);
  const line = formatStatusText([
    {
      app: "shop",
      activity: "idle",
      last: { status: "ok", ok: 9, total: 9, failing: [], at },
      next,
    },
    { app: "blog", activity: "deploying", deploying: "3f2a1c9b0d1e", step: "migrate" },
  ]);
  assert.equal(appStatusPart(line, "shop"), "ok 9/9 at 12:15, next 12:30");
  assert.equal(nextCheckOf(appStatusPart(line, "shop")), "12:30");
  assert.equal(appStatusPart(line, "blog"), "deploying 3f2a1c9… (migrate)");
  assert.equal(nextCheckOf(appStatusPart(line, "blog")), null);
});

test("an app name that is a prefix of another is not confused with it", () => {
  const line = "shop2: no check yet, next 12:30; shop: checking";
  assert.equal(appStatusPart(line, "shop"), "checking");
  assert.equal(appStatusPart(line, "shop2"), "no check yet, next 12:30");
});

test("no daemon, no line: nothing to report", () => {
  assert.equal(appStatusPart(null, "shop"), null);
  assert.equal(nextCheckOf(null), null);
});
