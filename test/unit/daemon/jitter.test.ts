// Poll delays: the period plus up to 10 % jitter, never less, never more.
import assert from "node:assert/strict";
import { test } from "node:test";
import { firstPollDelay, nextPollDelay } from "../../../src/daemon/jitter.js";

test("bounds: exactly the period at r=0, period + 10 % at r=1", () => {
  assert.equal(
    nextPollDelay(60_000, () => 0),
    60_000,
  );
  assert.equal(
    nextPollDelay(60_000, () => 1),
    66_000,
  );
  assert.equal(
    nextPollDelay(60_000, () => 0.5),
    63_000,
  );
});

test("a random source out of range is clamped", () => {
  assert.equal(
    nextPollDelay(60_000, () => -3),
    60_000,
  );
  assert.equal(
    nextPollDelay(60_000, () => 7),
    66_000,
  );
});

test("with Math.random every delay stays within bounds and they are spread out", () => {
  const delays = Array.from({ length: 2000 }, () => nextPollDelay(60_000));
  assert.ok(delays.every((d) => d >= 60_000 && d <= 66_000));
  assert.ok(new Set(delays).size > 100, "delays should not all be the same");
  assert.ok(Math.max(...delays) - Math.min(...delays) > 5000, "jitter spans most of the range");
});

test("the first poll after a start lands anywhere in the first period, so a fleet started together spreads", () => {
  assert.equal(
    firstPollDelay(10_000, () => 0),
    0,
  );
  assert.equal(
    firstPollDelay(10_000, () => 1),
    10_000,
  );
  // 25 daemons started in the same second: their first polls fall into most of the ten seconds
  // of the period, at most a few in any one second.
  const perSecond = new Map<number, number>();
  for (let i = 0; i < 2500; i++) {
    const second = Math.floor(firstPollDelay(10_000) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  assert.ok(perSecond.size >= 10, `spread over ${perSecond.size} seconds`);
  assert.ok(Math.max(...perSecond.values()) < 2500 * 0.15, "no second takes more than 15 %");
});
