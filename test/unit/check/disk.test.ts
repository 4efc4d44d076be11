// The disk check's thresholds: warning under 10 % free, critical under 5 %.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { freeStatus, judgeDisk } from "../../../src/check/disk.js";

const GB = 1024 ** 3;

describe("freeStatus", () => {
  test("thresholds are strict: exactly 10 % and 5 % are not below them", () => {
    assert.equal(freeStatus(50, 100), "ok");
    assert.equal(freeStatus(10, 100), "ok");
    assert.equal(freeStatus(9.9, 100), "warning");
    assert.equal(freeStatus(5, 100), "warning");
    assert.equal(freeStatus(4.9, 100), "critical");
    assert.equal(freeStatus(0, 100), "critical");
  });

  test("a filesystem reporting no total cannot run out", () => {
    assert.equal(freeStatus(0, 0), "ok");
  });
});

describe("judgeDisk", () => {
  test("space is reported in words", () => {
    const outcome = judgeDisk({
      path: "/srv/shop",
      freeBytes: 42 * GB,
      totalBytes: 100 * GB,
      freeInodes: 1000,
      totalInodes: 2000,
    });
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.summary, "42 GB free of 100 GB (42 %) on /srv/shop");
  });

  test("running out of inodes counts like running out of space", () => {
    const outcome = judgeDisk({
      path: "/srv/shop",
      freeBytes: 42 * GB,
      totalBytes: 100 * GB,
      freeInodes: 10,
      totalInodes: 2000,
    });
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /^10 inodes free \(0 %\)/);
  });

  test("low space is critical", () => {
    const outcome = judgeDisk({
      path: "/srv/shop",
      freeBytes: 3 * GB,
      totalBytes: 100 * GB,
      freeInodes: 1000,
      totalInodes: 2000,
    });
    assert.equal(outcome.status, "critical");
  });
});
