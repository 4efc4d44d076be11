// The pure parts of the checks added for the seed's whole health script: the .env reader, the
// Nagios plugin contract, the journal count, the endpoints verdict, and which checks an app gets.
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { BUILT_IN_CHECKS } from "../../../src/check/check-names.js";
import { judgePlugin } from "../../../src/check/custom.js";
import { envKeys, missingKeys } from "../../../src/check/dotenv.js";
import { askStatus, endpointUrl, judgeEndpoints } from "../../../src/check/endpoints.js";
import { inspectEnvFile } from "../../../src/check/env-file.js";
import { countMatches, formatWindow, judgeLogs, mask } from "../../../src/check/logs.js";
import { parsePerfdata, parsePluginOutput } from "../../../src/check/plugin-output.js";
import { proxyCheck } from "../../../src/check/proxy.js";
import { allChecks, checksFor } from "../../../src/check/registry.js";
import { parseConfigText } from "../../../src/config/parse.js";
import type { AppConfig } from "../../../src/config/schema.js";

describe("envKeys", () => {
  test("reads keys as python-dotenv does, values only as set or empty", () => {
    const keys = envKeys(
      [
        "# a comment",
        "SECRET_KEY=s3cret",
        "export DATABASE_URL = sqlite:///x.db",
        "EMPTY=",
        "QUOTED_EMPTY=''",
        'DOUBLE="a # not a comment"',
        "COMMENT_ONLY= # nothing here",
        'MULTI="line one',
        'line two"',
        "AFTER=1",
        "not an assignment",
        "TWICE=1",
        "TWICE=",
      ].join("\n"),
    );
    assert.deepEqual(Object.fromEntries(keys), {
      SECRET_KEY: true,
      DATABASE_URL: true,
      EMPTY: false,
      QUOTED_EMPTY: false,
      DOUBLE: true,
      COMMENT_ONLY: false,
      MULTI: true,
      AFTER: true,
      TWICE: false,
    });
  });

  test("missingKeys names the missing and the empty, in the order required", () => {
    const keys = envKeys("A=1\nB=\n");
    assert.deepEqual(missingKeys(keys, ["C", "B", "A"]), { missing: ["C"], empty: ["B"] });
  });
});

describe("inspectEnvFile", () => {
  async function withDir(fn: (dir: string) => Promise<void>) {
    const dir = await mkdtemp(path.join(tmpdir(), "envfile-"));
    try {
      await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("ok when private and complete; an emptied key is named, its value never shown", () =>
    withDir(async (dir) => {
      const file = path.join(dir, ".env");
      await writeFile(file, "SECRET_KEY=hunter2-value\nDATABASE_URL=sqlite:///x\n", {
        mode: 0o640,
      });
      await chmod(file, 0o640);
      const ok = await inspectEnvFile({ path: file, required: ["SECRET_KEY", "DATABASE_URL"] });
      assert.equal(ok.status, "ok", ok.summary);
      await writeFile(file, "SECRET_KEY=\nDATABASE_URL=sqlite:///hunter2-value\n");
      const bad = await inspectEnvFile({
        path: file,
        required: ["SECRET_KEY", "DATABASE_URL", "X"],
      });
      assert.equal(bad.status, "critical");
      assert.match(bad.summary, /missing X; empty SECRET_KEY/);
      assert.doesNotMatch(JSON.stringify(bad), /hunter2|sqlite/);
    }));

  test("readable by others, a symlink, a FIFO's place and a missing file are critical", () =>
    withDir(async (dir) => {
      const file = path.join(dir, ".env");
      await writeFile(file, "A=1\n");
      await chmod(file, 0o644);
      const open = await inspectEnvFile({ path: file, required: [] });
      assert.equal(open.status, "critical");
      assert.match(open.summary, /readable by others \(mode 644\)/);
      const link = path.join(dir, "link.env");
      await symlink(file, link);
      const linked = await inspectEnvFile({ path: link, required: [] });
      assert.equal(linked.status, "critical");
      assert.match(linked.summary, /symlink/);
      const missing = await inspectEnvFile({ path: path.join(dir, "none"), required: [] });
      assert.equal(missing.status, "critical");
      assert.match(missing.summary, /missing/);
    }));
});

describe("the Nagios plugin contract", () => {
  const config = { command: "check_thing", timeout: 10_000 };
  const ran = (exitCode: number, stdout: string, extra: object = {}) =>
    judgePlugin(config, "www-data", {
      exitCode,
      stdout,
      stderr: "",
      timedOut: false,
      durationMs: 5,
      ...extra,
    });

  test("exit 0-3 map to ok, warning, critical, unknown; the first line is the summary", () => {
    const statuses = [0, 1, 2, 3].map((code) => ran(code, `THING ${code} | x=1\nmore\n`).status);
    assert.deepEqual(statuses, ["ok", "warning", "critical", "unknown"]);
    const outcome = ran(2, "PROCS CRITICAL: 0 processes | procs=0;;1:;0;\n");
    assert.equal(outcome.summary, "PROCS CRITICAL: 0 processes");
    assert.deepEqual(outcome.details.perfdata, [
      { label: "procs", value: "0", uom: "", crit: "1:", min: "0" },
    ]);
  });

  test("another exit code, no output, or a time-out is unknown with the reason", () => {
    const other = ran(4, "weird\n");
    assert.equal(other.status, "unknown");
    assert.match(other.summary, /exit 4 is not a plugin status/);
    const silent = judgePlugin(config, "www-data", {
      exitCode: 127,
      stdout: "",
      stderr: "sh: 1: check_thing: not found\n",
      timedOut: false,
      durationMs: 3,
    });
    assert.equal(silent.status, "unknown");
    assert.match(silent.summary, /printed nothing \(exit 127\); stderr: .*not found/);
    const late = ran(0, "OK\n", { timedOut: true, exitCode: 143 });
    assert.equal(late.status, "unknown");
    assert.match(late.summary, /no result within 10 s/);
  });

  test("the summary is one printable line: escapes shown, not obeyed", () => {
    const outcome = ran(0, "OK \u001b]0;pwned\u0007 done\n");
    assert.ok(!outcome.summary.includes("\u001b"));
    assert.match(outcome.summary, /\\x1b/);
  });

  test("long text and performance data on later lines", () => {
    const out = parsePluginOutput(
      "DISK OK - free space | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%); | /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n",
    );
    assert.equal(out.summary, "DISK OK - free space");
    assert.deepEqual(out.longText, ["/ 15272 MB (77%);", "/boot 68 MB (69%); "]);
    assert.deepEqual(
      out.perfdata.map((p) => `${p.label}=${p.value}${p.uom}`),
      ["/=2643MB", "/boot=68MB", "/home=69357MB"],
    );
  });

  test("quoted labels with spaces and doubled quotes; junk skipped", () => {
    assert.deepEqual(parsePerfdata("'in use'=5%;80;90 'it''s'=1 junk ok=2s"), [
      { label: "in use", value: "5", uom: "%", warn: "80", crit: "90" },
      { label: "it's", value: "1", uom: "" },
      { label: "ok", value: "2", uom: "s" },
    ]);
  });
});

describe("the logs check", () => {
  const logs = { window: 900_000, pattern: "Traceback|ERROR", warning: 1, critical: 5 };
  const entry = (message: unknown, micros = 1_700_000_000_000_000) =>
    JSON.stringify({ MESSAGE: message, __REALTIME_TIMESTAMP: String(micros) });

  test("counts matching entries and quotes the newest on one cut, printable line", () => {
    const out = [
      entry("GET /health 200"),
      entry("Traceback (most recent call last):"),
      entry([69, 82, 82, 79, 82, 32, 98, 121, 116, 101, 115]), // "ERROR bytes", not UTF-8 text
      entry(`ERROR \u001b[2J${"x".repeat(400)}`, 1_700_000_001_000_000),
      "{cut mid-line",
      entry(null),
    ].join("\n");
    const scan = countMatches(out, new RegExp(logs.pattern));
    assert.equal(scan.matches, 3);
    assert.equal(scan.entries, 5);
    assert.ok(scan.newest);
    assert.ok(scan.newest.message.length <= 160);
    assert.ok(!scan.newest.message.includes("\u001b"));
    assert.equal(scan.newest.at, "2023-11-14T22:13:21.000Z");
  });

  test("entries older than the window's start are not counted", () => {
    const out = [
      entry("Traceback old", 1_700_000_000_000_000),
      entry("Traceback new", 1_700_000_000_900_000),
    ].join("\n");
    const scan = countMatches(out, /Traceback/, 1_700_000_000_500_000);
    assert.equal(scan.matches, 1);
    assert.equal(scan.entries, 1);
  });

  test("the quoted line masks the values of the env_file's required keys", () => {
    assert.equal(
      mask('config SECRET_KEY=abc DATABASE_URL: "sqlite:///x" SECRET_KEYS=1', [
        "SECRET_KEY",
        "DATABASE_URL",
      ]),
      "config SECRET_KEY=*** DATABASE_URL: *** SECRET_KEYS=1",
    );
    const out = entry("Traceback: SECRET_KEY=hunter2");
    const scan = countMatches(out, /Traceback/, 0, ["SECRET_KEY"]);
    assert.equal(scan.newest?.message, "Traceback: SECRET_KEY=***");
  });

  test("matching has a time budget: past it the count says 'at least', newest lines first", () => {
    const out = [entry("Traceback old"), entry("Traceback new")].join("\n");
    const scan = countMatches(out, /Traceback/, 0, [], -1);
    assert.equal(scan.capped, true);
    assert.equal(scan.matches, 0);
    const full = countMatches(out, /Traceback/);
    assert.equal(full.newest?.message, "Traceback new");
  });

  test("thresholds: under warning ok, from warning a warning, from critical critical", () => {
    const at = (matches: number) =>
      judgeLogs({ ...logs, warning: 2 }, ["shop.service"], {
        entries: 10,
        matches,
        capped: false,
        newest: { message: "Traceback", at: "" },
      }).status;
    assert.deepEqual([0, 1, 2, 4, 5, 6].map(at), [
      "ok",
      "ok",
      "warning",
      "warning",
      "critical",
      "critical",
    ]);
    const failed = judgeLogs(logs, ["shop.service"], "journal not read within 10 s");
    assert.equal(failed.status, "unknown");
  });

  test("windows read as an operator writes them", () => {
    assert.deepEqual([900_000, 5_400_000, 10_000, 90_061_000].map(formatWindow), [
      "15m",
      "1h30m",
      "10s",
      "1d1h1m1s",
    ]);
  });
});

describe("the endpoints check", () => {
  test("the endpoint keeps health.url's origin and brings its own path and query", () => {
    assert.equal(
      endpointUrl("http://127.0.0.1:8000/health?x=1", "/api/orders?page=2"),
      "http://127.0.0.1:8000/api/orders?page=2",
    );
  });

  test("askStatus: the status as soon as headers arrive, a trickled body does not matter", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("a");
      // Never ends: a body trickling forever.
      const tick = setInterval(() => res.write("a"), 50);
      res.on("close", () => clearInterval(tick));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await askStatus(`http://127.0.0.1:${port}/login`, 300);
      assert.equal(answer.status, 200);
      assert.equal(answer.error, null);
      const silent = net.createServer(() => {});
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      const quiet = await askStatus(
        `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
        200,
      );
      silent.close();
      assert.equal(quiet.status, null);
      assert.match(quiet.error ?? "", /no answer within 200 ms/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test("critical names the wrong answers first, each with what it answered", () => {
    const outcome = judgeEndpoints([
      { path: "/login", expected: 200, status: 200, error: null, ms: 3 },
      { path: "/api/orders", expected: 401, status: 200, error: null, ms: 3 },
      { path: "/down", expected: 200, status: null, error: "ECONNREFUSED", ms: 1 },
    ]);
    assert.equal(outcome.status, "critical");
    assert.equal(
      outcome.summary,
      "/api/orders answered 200, expected 401, /down no answer (ECONNREFUSED), expected 200, /login 200",
    );
    const ok = judgeEndpoints([{ path: "/login", expected: 200, status: 200, error: null, ms: 3 }]);
    assert.equal(ok.status, "ok");
  });
});

describe("checksFor with the optional checks", () => {
  function app(extra: string): AppConfig {
    const config = parseConfigText(
      "agent.yaml",
      `
apps:
  shop:
    dir: /srv/shop
    service: shop.service
    repo: { url: /srv/git/shop.git }
    health:
      url: http://127.0.0.1:8000/health
      endpoints: [{ path: /login, status: 200 }]
${extra}`,
    );
    return { ...(config.apps.shop as AppConfig), name: "shop" };
  }

  test("each configured one joins in its place, custom checks last by their names", () => {
    const names = checksFor(
      app(`    env_file: { path: /srv/shop/shared/.env, required: [SECRET_KEY] }
    logs: { window: 15m, pattern: "Traceback" }
    checks:
      - { name: deps, command: "venv/bin/pip check" }
      - { name: celery, command: "check_procs -C celery -c 1:", user: root }
`),
    ).map((c) => c.name);
    assert.deepEqual(names, [
      "release",
      "service",
      "processes",
      "permissions",
      "env_file",
      "database",
      "health",
      "endpoints",
      "backups",
      "disk",
      "drift",
      "logs",
      "deps",
      "celery",
    ]);
  });

  test("every built-in check is named in BUILT_IN_CHECKS, which custom names may not take", () => {
    const builtIn = [...allChecks, proxyCheck].map((c) => c.name);
    const all = checksFor(
      app(`    env_file: { path: /srv/shop/shared/.env }
    logs: { pattern: "x" }
`),
    ).map((c) => c.name);
    for (const name of new Set([...builtIn, ...all])) {
      assert.ok((BUILT_IN_CHECKS as readonly string[]).includes(name), name);
    }
  });
});
