// The sync adapter turns the sync's step printer into progress for STATUS=, and sorts outcomes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isFailedOutcome, progressPrinter } from "../../../src/daemon/sync-adapter.js";

test("the title gives the commit, begin() the step; other output is ignored", () => {
  const seen: { sha?: string; step?: string }[] = [];
  const printer = progressPrinter((p) => seen.push(p));
  printer.title("shop: deploying 3f2a1c9 (main) over 1b2c3d4");
  printer.end("fetch", 120, "ok", "main -> 3f2a1c9");
  printer.begin("build");
  printer.line("shop: deployed 3f2a1c9 in 4.2s");
  printer.title("shop: something else");
  assert.deepEqual(seen, [{ sha: "3f2a1c9" }, { step: "build" }]);
});

test("failed and rolled-back commits are marked; unreachable, noop and deployed are not", () => {
  assert.equal(isFailedOutcome("failed"), true);
  assert.equal(isFailedOutcome("rolled-back"), true);
  for (const o of ["deployed", "noop", "unreachable"]) assert.equal(isFailedOutcome(o), false, o);
});
