import assert from "node:assert/strict";
import { test } from "node:test";
import { exposedGc, IdleCollector } from "../../../src/daemon/idle-collect.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("one collection after work ends, not pushed back by more work ending", async () => {
  let collections = 0;
  const collector = new IdleCollector(() => collections++, 40, 0);
  collector.workEnded();
  await sleep(20);
  collector.workEnded();
  collector.workEnded();
  await sleep(60);
  assert.equal(collections, 1);
  collector.stop();
});

test("at most one collection per gap, however often work ends", async () => {
  let collections = 0;
  let now = 0;
  const collector = new IdleCollector(
    () => collections++,
    10,
    1_000,
    () => now,
  );
  collector.collect();
  assert.equal(collections, 1);
  // 100 ms later: the next one waits for the rest of the gap, not just afterMs.
  now = 100;
  collector.workEnded();
  await sleep(60);
  assert.equal(collections, 1, "collected within the gap");
  collector.stop();
  now = 1_200;
  collector.workEnded();
  await sleep(40);
  assert.equal(collections, 2);
});

test("without gc (Node run without --expose-gc) it does nothing and holds no timer", () => {
  const collector = new IdleCollector(undefined, 10, 10);
  collector.workEnded();
  collector.collect();
  collector.stop();
});

test("V8's gc is there for the daemon without --expose-gc on the command line, and collects", () => {
  const gc = exposedGc();
  assert.equal(typeof gc, "function");
  let garbage: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i }));
  const before = process.memoryUsage().heapUsed;
  garbage = undefined;
  gc?.();
  assert.equal(garbage, undefined);
  assert.ok(process.memoryUsage().heapUsed < before, "the garbage was not collected");
});
