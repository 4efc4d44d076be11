// STATUS= text as `systemctl status` shows it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAppStatus, formatStatusText } from "../../../src/daemon/status-text.js";

const at = new Date(2026, 10, 23, 12, 15);
const next = new Date(2026, 10, 23, 12, 30);

test("healthy app: verdict, passed/total, time, next run", () => {
  const text = formatAppStatus({
    app: "shop",
    activity: "idle",
    last: { status: "ok", ok: 8, total: 8, failing: [], at },
    next,
  });
  assert.equal(text, "shop: ok 8/8 at 12:15, next 12:30");
});

test("failing checks are named, at most three", () => {
  const base = { app: "shop", activity: "idle" as const, next };
  assert.equal(
    formatAppStatus({
      ...base,
      last: { status: "critical", ok: 6, total: 8, failing: ["database", "health"], at },
    }),
    "shop: critical 6/8 (database, health) at 12:15, next 12:30",
  );
  assert.equal(
    formatAppStatus({
      ...base,
      last: { status: "critical", ok: 3, total: 8, failing: ["a", "b", "c", "d", "e"], at },
    }),
    "shop: critical 3/8 (a, b, c +2) at 12:15, next 12:30",
  );
});

test("deploying shows the short commit, or just deploying", () => {
  const sha = "3f2a1c9b0d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a";
  assert.equal(
    formatAppStatus({ app: "shop", activity: "deploying", deploying: sha }),
    "shop: deploying 3f2a1c9…",
  );
  assert.equal(formatAppStatus({ app: "shop", activity: "deploying" }), "shop: deploying");
});

test("before the first check, while checking, after a deploying run", () => {
  assert.equal(
    formatAppStatus({ app: "shop", activity: "idle", next }),
    "shop: no check yet, next 12:30",
  );
  assert.equal(
    formatAppStatus({ app: "shop", activity: "checking", next }),
    "shop: checking, next 12:30",
  );
  assert.equal(
    formatAppStatus({
      app: "shop",
      activity: "idle",
      last: { status: "deploying", ok: 0, total: 0, failing: [], at },
      next,
    }),
    "shop: deploying at 12:15, next 12:30",
  );
});

test("several apps on one line", () => {
  const text = formatStatusText([
    {
      app: "shop",
      activity: "idle",
      last: { status: "ok", ok: 8, total: 8, failing: [], at },
      next,
    },
    { app: "blog", activity: "deploying", deploying: "abcdef0123" },
  ]);
  assert.equal(text, "shop: ok 8/8 at 12:15, next 12:30; blog: deploying abcdef0…");
});

test("a running sync shows its commit and step", () => {
  assert.equal(
    formatAppStatus({
      app: "shop",
      activity: "deploying",
      deploying: "3f2a1c9b0d1e",
      step: "migrate",
    }),
    "shop: deploying 3f2a1c9… (migrate)",
  );
});
