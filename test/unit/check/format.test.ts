// Sizes and ages in summaries.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatAge, formatBytes } from "../../../src/check/format.js";

describe("formatBytes", () => {
  test("picks the unit and keeps one decimal below 10", () => {
    assert.equal(formatBytes(812), "812 B");
    assert.equal(formatBytes(2048), "2.0 KB");
    assert.equal(formatBytes(1.25 * 1024 * 1024), "1.3 MB");
    assert.equal(formatBytes(42 * 1024 ** 3), "42 GB");
  });
});

describe("formatAge", () => {
  test("rounds down to the largest whole unit", () => {
    assert.equal(formatAge(45_000), "45s");
    assert.equal(formatAge(12 * 60_000 + 59_000), "12m");
    assert.equal(formatAge(3 * 3_600_000 + 1), "3h");
    assert.equal(formatAge(2 * 86_400_000), "2d");
    assert.equal(formatAge(-5), "0s");
  });
});
