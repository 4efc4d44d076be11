// The subprocess runner: output, exit codes, input, environment, time-outs, start failures, and
// the end of a command's whole tree (leftover descendants, pipes held open, endless output).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { CommandError, run, transientArgs } from "../../../src/system/run.js";

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
  assert.equal(result.exitCode, 143, "128 + SIGTERM, as a shell reports it");
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

// PIDs of processes whose command line contains `marker`.
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(marker)) found.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

test("a descendant in a session of its own, holding stdout, does not keep the command running", async () => {
  const marker = "31.4159";
  const started = performance.now();
  const result = await run("sh", ["-c", `setsid sleep ${marker} & echo done`]);
  const elapsed = performance.now() - started;
  assert.equal(result.stdout, "done");
  assert.ok(elapsed < 2000, `returned after ${Math.round(elapsed)} ms`);
  // Outside a systemd scope the runner cannot reach a process that left the group; it must not
  // wait for it. Clean up what this test started.
  for (const pid of processesWith(marker)) process.kill(pid, "SIGKILL");
});

test("on time-out the whole process group ends, grandchildren included", async () => {
  const marker = "32.7182";
  const result = await run("sh", ["-c", `sleep ${marker} & sleep ${marker} & wait`], {
    timeoutMs: 200,
    reject: false,
  });
  assert.equal(result.timedOut, true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(processesWith(marker), []);
});

test("a background process left by a command that exited is ended with it", async () => {
  const marker = "33.1415";
  const result = await run("sh", ["-c", `sleep ${marker} >/dev/null 2>&1 & echo started`]);
  assert.equal(result.stdout, "started");
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(processesWith(marker), []);
});

test("output is bounded: the tail is kept and the cut is said", async () => {
  const result = await run("sh", ["-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo END"], {
    maxBuffer: 1000,
  });
  assert.ok(result.stdout.length < 1100, `${result.stdout.length} chars kept`);
  assert.match(result.stdout, /^\[…\d+ bytes cut\]\n/);
  assert.match(result.stdout, /xxx\nEND$/);
});

test("lines reach onLine as they come; an endless line arrives in pieces", async () => {
  const lines: string[] = [];
  await run(
    "sh",
    ["-c", "echo one; echo two >&2; head -c 20000 /dev/zero | tr '\\0' y; echo; printf last"],
    {
      onLine: (line, stream) => lines.push(`${stream}:${line.length > 20 ? line.length : line}`),
    },
  );
  // Each stream keeps its order; the two pipes are read independently.
  assert.deepEqual(
    lines.filter((l) => l.startsWith("stdout:") && !/^stdout:\d+$/.test(l)),
    ["stdout:one", "stdout:last"],
  );
  assert.deepEqual(
    lines.filter((l) => l.startsWith("stderr:")),
    ["stderr:two"],
  );
  const pieces = lines.filter((l) => /^stdout:\d+$/.test(l)).map((l) => Number(l.split(":")[1]));
  assert.equal(
    pieces.reduce((a, b) => a + b, 0),
    20000,
  );
  assert.ok(pieces.every((n) => n <= 8192));
});

test("an open descriptor is handed to the command as fd 3", async () => {
  const fd = openSync("/etc/hostname", "r");
  try {
    const result = await run("sh", ["-c", "cat <&3"], { fds: [fd] });
    assert.equal(result.stdout, readFileSync("/etc/hostname", "utf8").trim());
  } finally {
    closeSync(fd);
  }
});

test("a command kept stopped (SIGSTOP), or blocked on a FIFO, past stallLimitMs fails like a time-out", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-run-"));
  try {
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    for (const script of ["kill -STOP $$; echo never", `cat ${fifo}`]) {
      const started = performance.now();
      const result = await run("sh", ["-c", script], {
        stallLimitMs: 1000,
        killAfterMs: 500,
        reject: false,
      });
      assert.equal(result.timedOut, true, script);
      assert.match(result.stderr, /no progress for 1s/);
      assert.ok(performance.now() - started < 6000, script);
    }
    // Sleeping is not stalling for a command that keeps writing.
    const busy = await run("sh", ["-c", "for i in 1 2 3 4 5 6; do echo $i; sleep 0.4; done"], {
      stallLimitMs: 1000,
      reject: false,
    });
    assert.equal(busy.timedOut, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("keepHead keeps the beginning of a long output, where a plugin's verdict is", async () => {
  const result = await run(
    "sh",
    ["-c", "echo 'PROCS OK: 4 processes'; head -c 200000 /dev/zero | tr '\\0' x"],
    { maxBuffer: 1000, keepHead: true },
  );
  assert.ok(result.stdout.startsWith("PROCS OK: 4 processes\nxxx"), result.stdout.slice(0, 40));
  assert.match(result.stdout, /\n\[…199022 bytes cut\]$/);
  const tail = await run("sh", ["-c", "echo first; head -c 5000 /dev/zero | tr '\\0' x"], {
    maxBuffer: 1000,
  });
  assert.ok(!tail.stdout.includes("first"));
});

test("a transient unit's command line reaches the command as written, whatever systemd expands", () => {
  const command = ["/bin/sh", "-c", 'echo "$HOME costs $$5"'];
  const opts = { uid: 33, gid: 33, timeoutMs: 10_000, killAfterMs: 500, env: { USER: "www-data" } };
  const after = (argv: string[]) => argv.slice(argv.indexOf("--") + 1);
  const setpriv = ["setpriv", "--reuid=33", "--regid=33", "--clear-groups", "--"];
  const argsFor = (type: "service" | "scope", version: number) =>
    transientArgs({ name: "c.1", type }, version, command[0] ?? "", command.slice(1), opts);
  // systemd 252 (Debian 12): the manager expands $ in a service's command line, so it is doubled;
  // a scope's systemd-run does not expand, so nothing is.
  const service252 = argsFor("service", 252);
  assert.deepEqual(after(service252), [...setpriv, "/bin/sh", "-c", 'echo "$$HOME costs $$$$5"']);
  assert.ok(!service252.includes("--expand-environment=no"));
  assert.ok(service252.includes("--pipe") && service252.includes("--wait"));
  assert.ok(service252.includes("--setenv=USER=www-data"));
  const scope252 = argsFor("scope", 252);
  assert.deepEqual(after(scope252), [...setpriv, ...command]);
  assert.ok(scope252.includes("--scope") && !scope252.includes("--pipe"));
  assert.ok(!scope252.some((a) => a.startsWith("--setenv")), "a scope inherits our environment");
  // 254 and later: told not to expand, for both kinds.
  for (const type of ["service", "scope"] as const) {
    const argv = argsFor(type, 254);
    assert.ok(argv.includes("--expand-environment=no"), type);
    assert.deepEqual(after(argv), [...setpriv, ...command], type);
  }
  // The backstop: the time-out plus the kill delay, plus 30 s.
  assert.ok(service252.includes("--property=RuntimeMaxSec=41"));
});
