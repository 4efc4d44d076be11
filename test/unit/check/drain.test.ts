// Whether the process that recorded a drain still runs: alive, gone, or a newer process that
// reuses its PID.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { execa } from "execa";
import { drainerAlive } from "../../../src/check/drain.js";
import type { DrainRecord } from "../../../src/state/drain-record.js";

// An app no lock file exists for: the lock holder never vouches for the drainer here.
const APP = `drain-test-${process.pid}`;

function record(fields: Partial<DrainRecord>): DrainRecord {
  return {
    color: "green",
    port: 8002,
    since: new Date().toISOString(),
    timeoutMs: 120_000,
    pid: process.pid,
    ...fields,
  };
}

describe("drainerAlive", () => {
  test("a running process that began the drain is alive", async () => {
    assert.equal(await drainerAlive(APP, record({})), true);
  });

  test("a process that has exited is not", async () => {
    const child = execa("true");
    const pid = child.pid as number;
    await child;
    assert.equal(await drainerAlive(APP, record({ pid })), false);
  });

  test("a process started long after the drain began reuses the PID: not the drainer", async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal(await drainerAlive(APP, record({ since })), false);
  });

  test("a drain time that does not parse leaves the PID alone to tell", async () => {
    assert.equal(await drainerAlive(APP, record({ since: "?" })), true);
  });
});
