// The promotion check's verdicts: ok once the push landed or when there is nothing to promote,
// a warning (with the remote's reason) while a verified deploy waits for its push.
import assert from "node:assert/strict";
import { test } from "node:test";
import { judgePromotion } from "../../../src/check/promotion.js";

const SHA = "3f2a1c9b0d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a";

test("promoted: ok, naming the branch and when", () => {
  const outcome = judgePromotion("verified/uat", SHA, true, {
    revision: SHA,
    branch: "verified/uat",
    at: "2026-12-02T10:00:00.000Z",
    outcome: "promoted",
    attempts: 1,
    message: "promoted 3f2a1c9b0d1e to verified/uat (new branch)",
  });
  assert.equal(outcome.status, "ok");
  assert.equal(
    outcome.summary,
    "3f2a1c9b0d1e promoted to verified/uat at 2026-12-02T10:00:00.000Z",
  );
});

test("a failed or refused push: warning with the remote's reason", () => {
  const outcome = judgePromotion("verified/uat", SHA, true, {
    revision: SHA,
    branch: "verified/uat",
    at: "2026-12-02T10:00:00.000Z",
    outcome: "failed",
    attempts: 4,
    message: "the remote refused the push: [remote rejected] (pre-receive hook declined)",
  });
  assert.equal(outcome.status, "warning");
  assert.match(
    outcome.summary,
    /not promoted to verified\/uat: failed at .*pre-receive hook declined/,
  );
  assert.equal(outcome.details.attempts, 4);
});

test("verified but never attempted (a power cut between the two): warning", () => {
  assert.equal(judgePromotion("verified/uat", SHA, true, undefined).status, "warning");
});

test("a live release put back by a rollback is not promoted: ok", () => {
  const outcome = judgePromotion("verified/uat", SHA, false, undefined);
  assert.equal(outcome.status, "ok");
  assert.match(outcome.summary, /rollback or restore: nothing to promote/);
});
