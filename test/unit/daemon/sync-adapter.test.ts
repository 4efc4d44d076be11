// The sync adapter turns the sync's events into progress for STATUS=, and sorts outcomes.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isFailedOutcome,
  progressWatcher,
  type SyncProgressReport,
} from "../../../src/daemon/sync-adapter.js";

test("the run's start gives the commit, a step's start the step, its progress the detail", () => {
  const seen: SyncProgressReport[] = [];
  const watch = progressWatcher((p) => seen.push(p));
  watch({ type: "run", app: "shop", kind: "deploy", sha: "3f2a1c9b0d1e", text: "shop: deploying" });
  watch({ type: "step-end", app: "shop", step: "fetch", durationMs: 120, outcome: "ok" });
  watch({ type: "step-begin", app: "shop", step: "drain" });
  watch({
    type: "step-progress",
    app: "shop",
    step: "drain",
    text: "draining blue: 3 connections",
  });
  watch({ type: "said", app: "shop", text: "shop: deployed 3f2a1c9 in 4.2s" });
  watch({ type: "run", app: "shop", kind: "recover", text: "shop: recovering" });
  assert.deepEqual(seen, [
    { sha: "3f2a1c9b0d1e" },
    { step: "drain", detail: "" },
    { detail: "draining blue: 3 connections" },
  ]);
});

test("failed, rolled-back and refused commits are marked; unreachable, noop and deployed are not", () => {
  assert.equal(isFailedOutcome("failed"), true);
  assert.equal(isFailedOutcome("rolled-back"), true);
  // Not trusted (a rewrite, a bad signature): the poll does not ask again until the branch moves.
  assert.equal(isFailedOutcome("refused"), true);
  for (const o of ["deployed", "noop", "unreachable"]) assert.equal(isFailedOutcome(o), false, o);
});
