// The daemon's per-app work slot: one thing at a time per app, syncs never stacked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppWork } from "../../../src/daemon/app-work.js";

test("work for one app runs one at a time, other apps in parallel", async () => {
  const work = new AppWork();
  const events: string[] = [];
  const job = (name: string, ms: number) => async () => {
    events.push(`${name} start`);
    await sleep(ms);
    events.push(`${name} end`);
  };
  await Promise.all([
    work.run("shop", job("a", 30)),
    work.run("shop", job("b", 1)),
    work.run("blog", job("c", 1)),
  ]);
  assert.deepEqual(events, ["a start", "c start", "c end", "a end", "b start", "b end"]);
});

test("a failing job does not block the next one", async () => {
  const work = new AppWork();
  await assert.rejects(
    work.run("shop", async () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  assert.equal(await work.run("shop", async () => 42), 42);
});

test("a second sync while one is queued or running is busy; after it, a new one starts", async () => {
  const work = new AppWork();
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  assert.equal(
    work.startSync("shop", () => gate),
    "started",
  );
  assert.equal(work.syncBusy("shop"), true);
  assert.equal(
    work.startSync("shop", async () => {}),
    "busy",
  );
  assert.equal(
    work.startSync("blog", async () => {}),
    "started",
  );
  release();
  await work.run("shop", async () => {});
  assert.equal(work.syncBusy("shop"), false);
  assert.equal(
    work.startSync("shop", async () => {}),
    "started",
  );
});

test("drain waits for running and tracked work, then refuses new syncs", async () => {
  const work = new AppWork();
  let done = 0;
  work.startSync("shop", async () => {
    await sleep(30);
    done++;
  });
  void work.track(sleep(20).then(() => done++));
  await work.drain();
  assert.equal(done, 2);
  assert.equal(
    work.startSync("shop", async () => {}),
    "stopping",
  );
});
