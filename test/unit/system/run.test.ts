// The subprocess runner: output, exit codes, input, environment, time-outs and start failures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CommandError, run } from "../../../src/system/run.js";

test("stdout and stderr as text, one final newline stripped, exit 0", async () => {
  const result = await run("sh", ["-c", "printf 'a\\nb\\n\\n'; echo oops >&2"]);
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdout, "a\nb\n");
  assert.equal(result.stderr, "oops");
  assert.equal(result.timedOut, false);
  assert.equal(result.command, "sh -c printf 'a\\nb\\n\\n'; echo oops >&2");
  assert.ok(result.durationMs >= 0);
});

test("a non-zero exit throws CommandError with the output tail, or is returned", async () => {
  await assert.rejects(
    run("sh", ["-c", "echo why >&2; exit 3"]),
    (error: unknown) =>
      error instanceof CommandError &&
      error.result.exitCode === 3 &&
      error.message === "sh -c echo why >&2; exit 3: exit 3\nwhy",
  );
  const result = await run("sh", ["-c", "exit 4"], { reject: false });
  assert.equal(result.exitCode, 4);
});

test("input goes to stdin; the environment is extended, or replaced with cleanEnv", async () => {
  assert.equal((await run("cat", [], { input: "hello\n" })).stdout, "hello");
  process.env.DEPLOY_AGENT_RUN_TEST = "inherited";
  try {
    const extended = await run("sh", ["-c", 'echo "$DEPLOY_AGENT_RUN_TEST $EXTRA"'], {
      env: { EXTRA: "added" },
    });
    assert.equal(extended.stdout, "inherited added");
    const clean = await run("/bin/sh", ["-c", 'echo "[$DEPLOY_AGENT_RUN_TEST] $EXTRA"'], {
      env: { EXTRA: "only" },
      cleanEnv: true,
    });
    assert.equal(clean.stdout, "[] only");
  } finally {
    delete process.env.DEPLOY_AGENT_RUN_TEST;
  }
});

test("cwd is where the command runs", async () => {
  assert.equal((await run("pwd", [], { cwd: "/tmp" })).stdout, "/tmp");
});

test("a command that cannot start is exit 127 with the reason", async () => {
  const result = await run("/nonexistent/deploy-agent-test", ["x"], { reject: false });
  assert.equal(result.exitCode, 127);
  assert.match(result.stderr, /ENOENT.*\/nonexistent\/deploy-agent-test x/);
  await assert.rejects(run("/nonexistent/deploy-agent-test", []), CommandError);
});

test("time-out: SIGTERM, timedOut set, thrown unless reject is false", async () => {
  const started = performance.now();
  const result = await run("sleep", ["10"], { timeoutMs: 200, reject: false });
  assert.equal(result.timedOut, true);
  assert.equal(result.exitCode, 1);
  assert.ok(performance.now() - started < 3000);
  await assert.rejects(
    run("sleep", ["10"], { timeoutMs: 100 }),
    (error: unknown) => error instanceof CommandError && /timed out/.test(error.message),
  );
});

test("time-out of a command that ignores SIGTERM: SIGKILL 5 s later", async () => {
  const started = performance.now();
  const result = await run("sh", ["-c", "trap '' TERM; while :; do sleep 0.1; done"], {
    timeoutMs: 100,
    reject: false,
  });
  const elapsed = performance.now() - started;
  assert.equal(result.timedOut, true);
  assert.ok(elapsed >= 5000 && elapsed < 9000, `${elapsed} ms`);
});
