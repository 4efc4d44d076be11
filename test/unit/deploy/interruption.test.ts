// When a signal stops a run: before any step but the rollback, until the new release's start has
// begun; from then on the run verifies it instead.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  InterruptedError,
  notInterruptible,
  stopIfInterrupted,
} from "../../../src/deploy/interruption.js";

test("no signal: nothing stops", () => {
  for (const step of ["build", "stop", "migrate", "start", "verify", "rollback"]) {
    stopIfInterrupted(notInterruptible, step, false);
  }
});

test("a signal stops the run before the next step, the start included, but never the rollback", () => {
  const interrupted = { signal: "SIGINT" as const };
  for (const step of ["build", "stop", "backup", "switch", "migrate", "start"]) {
    assert.throws(
      () => stopIfInterrupted(interrupted, step, false),
      (error: Error) =>
        error instanceof InterruptedError &&
        error.message === `interrupted by SIGINT before ${step}`,
    );
  }
  stopIfInterrupted(interrupted, "rollback", false);
});

test("once the start has begun, the run goes on to verify", () => {
  const interrupted = { signal: "SIGHUP" as const };
  stopIfInterrupted(interrupted, "verify", true);
});
