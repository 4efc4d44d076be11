// The health check: fresh-connection version probe and how its answers are judged.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  formatVersionSplit,
  judgeProbe,
  MAX_VERSION,
  shortVersion,
} from "../../../src/check/health.js";
import { type ProbeAnswer, probeVersions } from "../../../src/check/version-probe.js";
import { appSchema } from "../../../src/config/schema.js";
import { unsafeIn } from "../output/terminal-text.js";

const OLD = "abc123def4560000000000000000000000000000";
const NEW = "def456abc1230000000000000000000000000000";

function answer(version: string | null, pid = 1, error: string | null = null): ProbeAnswer {
  return { httpStatus: error ? null : 200, version, pid, error, ms: 1 };
}

describe("formatVersionSplit", () => {
  test("most common first, shas shortened to 12", () => {
    const counts = new Map([
      [NEW, 3],
      [OLD, 7],
    ]);
    assert.equal(formatVersionSplit(counts), "7×abc123def456 3×def456abc123");
  });

  test("ties sort by name so the summary is stable", () => {
    assert.equal(
      formatVersionSplit(
        new Map([
          ["b", 2],
          ["a", 2],
        ]),
      ),
      "2×a 2×b",
    );
  });

  test("short or non-hex versions are left alone", () => {
    assert.equal(shortVersion("abc123"), "abc123");
    assert.equal(shortVersion("v1.2.3"), "v1.2.3");
  });
});

describe("judgeProbe", () => {
  const probe = (
    answers: ProbeAnswer[],
    expected: string | null = OLD,
    workers: number[] = [],
  ) => ({
    url: "http://127.0.0.1:8000/health",
    expected,
    answers,
    workers,
    durationMs: 7,
  });

  test("every worker heard: the summary says so; one never heard is critical by its PID", () => {
    const all = judgeProbe(probe([answer(OLD, 1), answer(OLD, 2), answer(OLD, 3)], OLD, [1, 2, 3]));
    assert.equal(all.status, "ok");
    assert.equal(all.summary, "abc123def456 (3 requests, 3 of 3 workers heard)");
    const wedged = judgeProbe(
      probe([answer(OLD, 1), answer(OLD, 2), answer(OLD, 2)], OLD, [1, 2, 3]),
    );
    assert.equal(wedged.status, "critical");
    assert.equal(
      wedged.summary,
      "worker 3 never answered (3 requests in 7 ms): wedged or not accepting",
    );
    assert.deepEqual(wedged.details.unheard, [3]);
  });

  test("no pid in the answers: today's count, and the summary says why", () => {
    const outcome = judgeProbe(probe([answer(OLD, null as unknown as number)]));
    assert.equal(outcome.status, "ok");
    assert.match(outcome.summary, /the answers carry no pid, workers not told apart/);
  });

  test("a process in another release is critical, named with its release", () => {
    const outcome = judgeProbe(probe([answer(OLD, 1), answer(OLD, 2)], OLD, [1, 2]), {
      release: "/srv/shop/releases/B",
      elsewhere: [{ pid: 2, role: "worker", cwd: "/srv/shop/releases/A" }],
      early: [],
      unproven: [],
    });
    assert.equal(outcome.status, "critical");
    assert.equal(
      outcome.summary,
      "worker 2 in A: not the live release B (2 requests, 2 of 2 workers heard)",
    );
  });

  test("a process started before the switch is critical for verify", () => {
    const outcome = judgeProbe(probe([answer(OLD, 1)], OLD, [1]), {
      release: "/srv/shop/releases/B",
      elsewhere: [],
      early: [{ pid: 1, startedAt: "2026-12-02T10:00:00.000Z" }],
      unproven: [],
    });
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /^started before the switch, so not the new code: pid 1 \(2026/);
  });

  test("every answer agreeing with the live REVISION is ok and counts pids", () => {
    const outcome = judgeProbe(probe([answer(OLD, 1), answer(OLD, 2), answer(OLD, 2)]));
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.summary, "abc123def456 (3 requests, 2 pids)");
    assert.deepEqual(outcome.details.pids, [1, 2]);
  });

  test("mixed versions are critical and the summary shows the split", () => {
    const answers = [...Array(7).fill(answer(OLD)), ...Array(3).fill(answer(NEW, 2))];
    const outcome = judgeProbe(probe(answers));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /^mixed versions: 7×abc123def456 3×def456abc123/);
  });

  test("one consistent version that is not the live one is critical", () => {
    const outcome = judgeProbe(probe([answer(NEW)]));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /serving def456abc123, live release is abc123def456/);
  });

  test("failed requests are critical with the first error", () => {
    const outcome = judgeProbe(probe([answer(OLD), answer(null, 0, "HTTP 500")]));
    assert.equal(outcome.status, "critical");
    assert.equal(outcome.summary, "1 of 2 requests failed: HTTP 500");
  });

  test("answers without the version field are critical", () => {
    assert.match(judgeProbe(probe([answer(null)])).summary, /carry no version/);
  });

  test("no live release to compare with is unknown", () => {
    assert.equal(judgeProbe(probe([answer(OLD)], null)).status, "unknown");
  });
});

describe("judgeProbe with a version the app chose to be hostile", () => {
  const probe = (
    answers: ProbeAnswer[],
    expected: string | null = OLD,
    workers: number[] = [],
  ) => ({
    url: "http://127.0.0.1:8000/health",
    expected,
    answers,
    workers,
    durationMs: 7,
  });

  const TITLE = "\x1b]0;pwned\x07abc";

  test("an OSC title sequence as the version yields a summary without ESC or BEL", () => {
    const outcome = judgeProbe(probe([answer(TITLE)]));
    assert.equal(outcome.status, "critical");
    assert.deepEqual(unsafeIn(outcome.summary), []);
    assert.equal(
      outcome.summary,
      "serving \\x1b]0;pwned\\x07abc, live release is abc123def456 (1 requests, 1 pid)",
    );
  });

  test("the mixed-version split is printable too", () => {
    const outcome = judgeProbe(probe([answer(OLD), answer("\x1b[2J\u202e", 2)]));
    assert.ok(outcome.summary.startsWith("mixed versions: 1×\\x1b[2J\\u202e 1×abc123def456 ("));
    assert.deepEqual(unsafeIn(outcome.summary), []);
  });

  test("with no live release the version is still printable", () => {
    assert.deepEqual(unsafeIn(judgeProbe(probe([answer(TITLE)], null)).summary), []);
  });

  test("a REVISION with escapes is printable in the summary", () => {
    const outcome = judgeProbe(probe([answer("\x1b[2J")], "\x1b[2J"));
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.summary, "\\x1b[2J (1 requests, 1 pid)");
  });

  test("details keep the raw version, cut to MAX_VERSION", () => {
    const long = `\x1b[2J${"v".repeat(500)}`;
    const outcome = judgeProbe(probe([answer(long), answer(TITLE)]));
    const versions = Object.keys(outcome.details.versions as Record<string, number>);
    assert.deepEqual(versions, [`${long.slice(0, MAX_VERSION - 1)}…`, TITLE]);
    assert.ok(outcome.summary.length < 300, outcome.summary);
  });

  test("versions and REVISION longer than MAX_VERSION are compared as cut", () => {
    const long = "x".repeat(200);
    const outcome = judgeProbe(probe([answer(long)], long));
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.details.expected, `${"x".repeat(MAX_VERSION - 1)}…`);
  });
});

describe("probeVersions against a real HTTP server", () => {
  let server: http.Server;
  let port = 0;
  let connections = 0;
  let served = 0;
  let mode: "ok" | "hang" | "error" = "ok";

  before(async () => {
    server = http.createServer((_req, res) => {
      served++;
      if (mode === "hang") return;
      if (mode === "error") {
        res.writeHead(503).end("down");
        return;
      }
      // Pretend to be two workers: alternate answers by request number.
      const version = served % 4 === 0 ? NEW : OLD;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "ok", version, pid: 100 + (served % 4) }));
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const app = (requests: number, timeout = "2s") => ({
    ...appSchema.parse({
      dir: "/srv/shop",
      service: "shop.service",
      repo: { url: "/x.git" },
      health: { url: `http://127.0.0.1:${port}/health`, requests, timeout },
    }),
    name: "shop",
  });

  test("it goes on past health.requests until every worker PID answered, within bounds", async () => {
    mode = "ok";
    served = 0;
    // 100..103 answer; 999 never will (a wedged worker): 4 requests + 50 per worker at most.
    const probe = await probeVersions(app(4), OLD, [100, 101, 102, 103, 999]);
    assert.equal(probe.answers.length, 4 + 50 * 5);
    const outcome = judgeProbe(probe);
    assert.equal(outcome.status, "critical");
    const heard = await probeVersions(app(2), OLD, [100, 101, 102, 103]);
    assert.ok(heard.answers.length >= 4 && heard.answers.length < 24, `${heard.answers.length}`);
    assert.deepEqual(judgeProbe(heard).details.unheard, []);
  });

  test("the worker PIDs may arrive while the probe runs: it starts at once and still hears them all", async () => {
    mode = "ok";
    served = 0;
    let told = 0;
    const late = new Promise<number[]>((resolve) =>
      setTimeout(() => {
        told = served;
        resolve([100, 101, 102, 103, 999]);
      }, 150),
    );
    const probe = await probeVersions(app(4), OLD, late);
    // The first round went out before the PIDs were known, and the wedged 999 still bounds it.
    assert.ok(told > 0, "the probe waited for the PIDs before its first request");
    assert.equal(probe.answers.length, 4 + 50 * 5);
    assert.deepEqual(probe.workers, [100, 101, 102, 103, 999]);
    assert.deepEqual(judgeProbe(probe).details.unheard, [999]);
  });

  test("a failed read of the worker PIDs fails the probe, and is no unhandled rejection", async () => {
    mode = "ok";
    const failing = Promise.reject(new Error("no cgroup"));
    await assert.rejects(probeVersions(app(4), OLD, failing), /no cgroup/);
  });

  test("each request uses its own connection and reports version and pid", async () => {
    mode = "ok";
    connections = 0;
    served = 0;
    const probe = await probeVersions(app(20), OLD);
    assert.equal(probe.answers.length, 20);
    assert.equal(connections, 20);
    const outcome = judgeProbe(probe);
    assert.equal(outcome.status, "critical");
    assert.match(
      outcome.summary,
      /^mixed versions: 15×abc123def456 5×def456abc123 \(20 requests, 4 pids\)/,
    );
  });

  test("a non-2xx answer is a failure", async () => {
    mode = "error";
    const outcome = judgeProbe(await probeVersions(app(3), OLD));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /3 of 3 requests failed: HTTP 503/);
  });

  test("a hanging server is bounded by health.timeout per request", async () => {
    mode = "hang";
    const started = performance.now();
    const outcome = judgeProbe(await probeVersions(app(4, "0.3s"), OLD));
    const took = performance.now() - started;
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /no answer within 300 ms/);
    // 4 requests run side by side (workers 3 + 1), so about one time-out in all.
    assert.ok(took < 1500, `took ${took} ms`);
  });

  test("every connection refused: a bare process still gets its answer (no timer left unref'd)", async () => {
    const module = new URL("../../../src/check/version-probe.js", import.meta.url).href;
    const script = `const { probeVersions } = await import(${JSON.stringify(module)});
      const app = { processes: { workers: 3 }, health: { url: "http://127.0.0.1:1/health", version_field: "version", pid_field: "pid", requests: 4, timeout: 2000 } };
      const probe = await probeVersions(app, "x", [11, 12, 13]);
      console.log(probe.answers.length);`;
    const { execa } = await import("execa");
    const run = await execa("node", ["--input-type=module", "-e", script], { reject: false });
    assert.equal(run.stdout.trim(), "4", `exit ${run.exitCode}: ${run.stderr}`);
  });

  test("a probe leaves no timer behind: a bare process ends with its last answer", async () => {
    // health.timeout is a minute; each request's timer must end with the request, not run on
    // (a daemon holds every finished request until it fires; a CLI run would wait for it).
    const module = new URL("../../../src/check/version-probe.js", import.meta.url).href;
    const script = `import http from "node:http";
      const { probeVersions } = await import(${JSON.stringify(module)});
      const server = http.createServer((_q, res) => res.end('{"version":"x","pid":7}'));
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const url = "http://127.0.0.1:" + server.address().port + "/health";
      const app = { processes: { workers: 1 }, health: { url, version_field: "version", pid_field: "pid", requests: 6, timeout: 60000 } };
      const probe = await probeVersions(app, "x", [7]);
      server.close();
      console.log(probe.answers.length);`;
    const { execa } = await import("execa");
    const started = performance.now();
    const run = await execa("node", ["--input-type=module", "-e", script], {
      reject: false,
      timeout: 20_000,
    });
    assert.equal(run.stdout.trim(), "6", `exit ${run.exitCode}: ${run.stderr}`);
    assert.ok(performance.now() - started < 10_000, "the process waited for a request's timer");
  });

  test("a refused connection is a failure, not a crash", async () => {
    const closed = { ...app(2) };
    closed.health = {
      ...(closed.health as NonNullable<typeof closed.health>),
      url: "http://127.0.0.1:1/health",
    };
    const outcome = judgeProbe(await probeVersions(closed, OLD));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /ECONNREFUSED/);
  });
});
