// `sync --all` returns the worst exit code of its apps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { worstExitCode } from "../../../src/deploy/worst-exit.js";

test("the most serious outcome wins, not the largest number", () => {
  assert.equal(worstExitCode([]), 0);
  assert.equal(worstExitCode([0, 0]), 0);
  assert.equal(worstExitCode([0, 75]), 75);
  assert.equal(worstExitCode([75, 1, 0]), 1);
  assert.equal(worstExitCode([1, 2, 75]), 2);
  assert.equal(worstExitCode([2, 70]), 70);
  assert.equal(worstExitCode([0, 99]), 99);
});
