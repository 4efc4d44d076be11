// Auto-update decides to sync only when the branch head moved, never retrying a failed commit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decidePoll } from "../../../src/daemon/poll-decision.js";

test("head equals the live revision: nothing to do", () => {
  assert.deepEqual(decidePoll({ head: "a", live: "a" }), { sync: false, reason: "up to date" });
});

test("first poll with a newer head syncs", () => {
  assert.deepEqual(decidePoll({ head: "b", live: "a" }), { sync: true, reason: "head moved" });
});

test("nothing live yet: sync", () => {
  assert.equal(decidePoll({ head: "a" }).sync, true);
});

test("a commit that failed is not retried until the branch moves", () => {
  assert.deepEqual(decidePoll({ head: "b", live: "a", handled: "b", failed: "b" }), {
    sync: false,
    reason: "failed before",
  });
  assert.equal(decidePoll({ head: "c", live: "a", handled: "b", failed: "b" }).sync, true);
  assert.equal(decidePoll({ head: "b", failed: "b" }).sync, false);
});

test("after an operator rollback the handled head stays put until the next push", () => {
  assert.deepEqual(decidePoll({ head: "b", live: "a", handled: "b" }), {
    sync: false,
    reason: "already handled",
  });
  assert.equal(decidePoll({ head: "c", live: "a", handled: "b" }).sync, true);
});

test("an empty failed mark (cleared after success) blocks nothing", () => {
  assert.equal(decidePoll({ head: "c", live: "b", handled: "b", failed: "" }).sync, true);
});
