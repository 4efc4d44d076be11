// Fetch retries: exponential, capped, and never past the fetch deadline.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FETCH_BACKOFF, retryDelay } from "../../../src/git/backoff.js";

test("doubles from the first delay up to the cap", () => {
  const policy = { ...FETCH_BACKOFF, maxAttempts: 6 };
  const delays = [2, 3, 4, 5, 6].map((n) => retryDelay(n, 600_000, policy));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);
});

test("stops after maxAttempts", () => {
  assert.equal(retryDelay(FETCH_BACKOFF.maxAttempts + 1, 600_000), undefined);
  assert.equal(retryDelay(1, 600_000), undefined);
});

test("no retry whose delay would leave too little of the deadline for an attempt", () => {
  assert.equal(retryDelay(2, 2000), 1000);
  assert.equal(retryDelay(2, 1999), undefined);
  assert.equal(retryDelay(3, 2500), undefined);
});
