// Judging the route to a blue-green app: upstream file, proxy, nginx -t, and the color that does
// not serve (idle, draining, or left running).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ColorState } from "../../../src/check/color-state.js";
import type { DrainInfo } from "../../../src/check/drain.js";
import { formatClock } from "../../../src/check/format.js";
import { firstErrorLine, judgeProxy, type ProxyFacts } from "../../../src/check/proxy.js";
import type { Color } from "../../../src/config/blue-green.js";

// Summaries show the host's clock; the tests read it in UTC.
process.env.TZ = "UTC";

const FILE = "/etc/nginx/deploy-agent/shop.upstream";
const SINCE = "2026-11-23T12:01:30.000Z";

function color(c: Color, fields: Partial<ColorState> = {}): ColorState {
  return {
    color: c,
    unit: `shop@${c}.service`,
    port: c === "blue" ? 8001 : 8002,
    activeState: "inactive",
    subState: "dead",
    connections: 0,
    ...fields,
  };
}

function drain(fields: Partial<DrainInfo["record"]> = {}, alive = true): DrainInfo {
  return {
    record: { color: "green", port: 8002, since: SINCE, timeoutMs: 120_000, pid: 4242, ...fields },
    alive,
  };
}

// Blue serves through a running nginx whose configuration passes; green is stopped.
function facts(fields: Partial<ProxyFacts> = {}): ProxyFacts {
  return {
    upstreamFile: FILE,
    upstreamPort: 8001,
    upstreamError: undefined,
    ports: { blue: 8001, green: 8002 },
    proxy: { unit: "nginx.service", activeState: "active", subState: "running" },
    configTest: { ok: true },
    colors: {
      blue: color("blue", { activeState: "active", subState: "running", connections: 5 }),
      green: color("green"),
    },
    drain: undefined,
    ...fields,
  };
}

const runningGreen = (connections: number) =>
  color("green", { activeState: "active", subState: "running", connections });

describe("judgeProxy", () => {
  test("the serving color's port, nginx up and its configuration passing, green stopped: ok, green idle", () => {
    const outcome = judgeProxy(facts());
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.summary, "blue :8001 serves through nginx.service; green idle");
    assert.deepEqual(outcome.details.serving, { color: "blue", port: 8001 });
    assert.deepEqual(outcome.details.proxy, {
      unit: "nginx.service",
      state: "active",
      subState: "running",
      configTest: "ok",
    });
    assert.deepEqual(outcome.details.other, {
      color: "green",
      unit: "shop@green.service",
      port: 8002,
      state: "inactive",
      subState: "dead",
      connections: 0,
      drain: null,
    });
  });

  test("green serving, blue failed after its stop: still idle, and said so", () => {
    const outcome = judgeProxy(
      facts({
        upstreamPort: 8002,
        colors: { blue: color("blue", { activeState: "failed" }), green: runningGreen(2) },
      }),
    );
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.summary, "green :8002 serves through nginx.service; blue idle (failed)");
  });

  test("the other color running while a live deploy drains it: ok, with its connections and since when", () => {
    const outcome = judgeProxy(
      facts({ colors: { ...facts().colors, green: runningGreen(3) }, drain: drain() }),
    );
    assert.equal(outcome.status, "ok");
    assert.equal(
      outcome.summary,
      "blue :8001 serves through nginx.service; green draining: 3 connections since 12:01",
    );
    const other = outcome.details.other as Record<string, unknown>;
    assert.equal(other.connections, 3);
    assert.deepEqual(other.drain, { since: SINCE, timeoutMs: 120_000, pid: 4242, alive: true });
  });

  test("one connection left is singular", () => {
    const outcome = judgeProxy(
      facts({ colors: { ...facts().colors, green: runningGreen(1) }, drain: drain() }),
    );
    assert.match(outcome.summary, /green draining: 1 connection since 12:01$/);
  });

  test("the other color running after its drainer died: warning, with how to stop it", () => {
    const outcome = judgeProxy(
      facts({ colors: { ...facts().colors, green: runningGreen(2) }, drain: drain({}, false) }),
    );
    assert.equal(outcome.status, "warning");
    assert.equal(
      outcome.summary,
      "green still running after its drain ended (2 connections): agent sync stops it, or systemctl stop shop@green",
    );
    const other = outcome.details.other as Record<string, unknown>;
    assert.deepEqual(other.drain, { since: SINCE, timeoutMs: 120_000, pid: 4242, alive: false });
  });

  test("the other color running with no drain on record at all: warning", () => {
    const outcome = judgeProxy(facts({ colors: { ...facts().colors, green: runningGreen(0) } }));
    assert.equal(outcome.status, "warning");
    assert.match(outcome.summary, /^green still running after its drain ended \(0 connections\)/);
  });

  test("a live drain of the serving color does not excuse the other one running", () => {
    const outcome = judgeProxy(
      facts({
        colors: { ...facts().colors, green: runningGreen(1) },
        drain: drain({ color: "blue" }),
      }),
    );
    assert.equal(outcome.status, "warning");
    assert.equal((outcome.details.other as Record<string, unknown>).drain, null);
  });

  test("a stopped other color with a drain still on record is idle (its stop just ended the drain)", () => {
    const outcome = judgeProxy(facts({ drain: drain() }));
    assert.equal(outcome.status, "ok");
    assert.match(outcome.summary, /green idle$/);
  });

  test("nginx -t failing is critical and quotes nginx's first error line", () => {
    const outcome = judgeProxy(
      facts({
        configTest: {
          ok: false,
          message: "nginx -t refused the configuration (exit 1)",
          lines: [
            'nginx: [emerg] unexpected "}" in /etc/nginx/sites-enabled/shop:12',
            "nginx: configuration file /etc/nginx/nginx.conf test failed",
          ],
        },
      }),
    );
    assert.equal(outcome.status, "critical");
    assert.equal(
      outcome.summary,
      'nginx -t fails: [emerg] unexpected "}" in /etc/nginx/sites-enabled/shop:12',
    );
    const proxy = outcome.details.proxy as Record<string, unknown>;
    assert.deepEqual((proxy.configTest as Record<string, unknown>).lines, [
      'nginx: [emerg] unexpected "}" in /etc/nginx/sites-enabled/shop:12',
      "nginx: configuration file /etc/nginx/nginx.conf test failed",
    ]);
  });

  test("the proxy not running is critical", () => {
    const outcome = judgeProxy(
      facts({ proxy: { unit: "nginx.service", activeState: "inactive", subState: "dead" } }),
    );
    assert.equal(outcome.status, "critical");
    assert.equal(outcome.summary, "nginx.service is inactive (dead): nothing reaches the app");
  });

  test("a reloading proxy still serves", () => {
    const outcome = judgeProxy(
      facts({ proxy: { unit: "nginx.service", activeState: "reloading", subState: "reload" } }),
    );
    assert.equal(outcome.status, "ok");
  });

  test("before the first deploy: critical, no color serves yet", () => {
    const outcome = judgeProxy(facts({ upstreamPort: undefined }));
    assert.equal(outcome.status, "critical");
    assert.equal(outcome.summary, "no color serves yet: run agent sync");
    assert.equal(outcome.details.serving, null);
    assert.equal(outcome.details.other, null);
  });

  test("an upstream file naming neither color's port is critical and names both", () => {
    const outcome = judgeProxy(facts({ upstreamPort: 9000 }));
    assert.equal(outcome.status, "critical");
    assert.equal(
      outcome.summary,
      `${FILE} sends traffic to port 9000, which is neither blue (8001) nor green (8002)`,
    );
    assert.equal(outcome.details.upstreamPort, 9000);
  });

  test("an unreadable upstream file is critical with the reason", () => {
    const outcome = judgeProxy(
      facts({ upstreamPort: undefined, upstreamError: `${FILE} line 2: a second server line` }),
    );
    assert.equal(outcome.status, "critical");
    assert.equal(outcome.summary, `${FILE} line 2: a second server line`);
  });

  test("several problems: every one in the summary, the critical ones first", () => {
    const outcome = judgeProxy(
      facts({
        proxy: { unit: "nginx.service", activeState: "failed", subState: "failed" },
        colors: { ...facts().colors, green: runningGreen(4) },
      }),
    );
    assert.equal(outcome.status, "critical");
    assert.equal(
      outcome.summary,
      "nginx.service is failed (failed): nothing reaches the app; green still running after its drain ended (4 connections): agent sync stops it, or systemctl stop shop@green",
    );
  });
});

describe("firstErrorLine", () => {
  test("the first [emerg], [alert], [crit] or [error] line, without nginx's prefix", () => {
    assert.equal(
      firstErrorLine({
        message: "x",
        lines: [
          'nginx: [warn] the "ssl" directive is deprecated',
          'nginx: [emerg] host not found in upstream "app" in /etc/nginx/sites-enabled/shop:3',
        ],
      }),
      '[emerg] host not found in upstream "app" in /etc/nginx/sites-enabled/shop:3',
    );
  });

  test("nginx's first line when none is marked, our message when it printed nothing", () => {
    assert.equal(firstErrorLine({ message: "x", lines: ["something odd"] }), "something odd");
    assert.equal(
      firstErrorLine({ message: "nginx -t could not be started (is nginx installed?)", lines: [] }),
      "nginx -t could not be started (is nginx installed?)",
    );
  });
});

describe("formatClock", () => {
  test("hours and minutes on the host's clock", () => {
    assert.equal(formatClock("2026-11-23T09:05:59.000Z"), "09:05");
  });

  test("what is not a time is shown as it is", () => {
    assert.equal(formatClock("soon"), "soon");
  });
});
