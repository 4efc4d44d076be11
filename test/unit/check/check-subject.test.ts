// What the checks judge: a restart app as it is, a blue-green app by the color that serves, and
// before any color serves, why not.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import {
  type BlueGreenSubject,
  checkSubject,
  colorOfPort,
  noServingColor,
  servingProblem,
} from "../../../src/check/check-subject.js";
import { checksFor } from "../../../src/check/registry.js";
import { runChecks } from "../../../src/check/run-checks.js";
import { type BlueGreenApp, isBlueGreen } from "../../../src/config/blue-green.js";
import { blueGreenApp, restartApp } from "./apps.js";

const ports = { blue: 8001, green: 8002 };
const FILE = "/etc/nginx/deploy-agent/shop.upstream";

function subject(fields: Partial<BlueGreenSubject>): BlueGreenSubject {
  return {
    app: blueGreenApp() as BlueGreenApp,
    upstreamPort: undefined,
    upstreamError: undefined,
    serving: undefined,
    ...fields,
  };
}

describe("colorOfPort", () => {
  test("the color whose port the upstream file names", () => {
    assert.equal(colorOfPort(ports, 8001), "blue");
    assert.equal(colorOfPort(ports, 8002), "green");
  });

  test("no port, or a port of neither color, is no color", () => {
    assert.equal(colorOfPort(ports, undefined), undefined);
    assert.equal(colorOfPort(ports, 9000), undefined);
  });
});

describe("servingProblem", () => {
  test("a color serves: no problem", () => {
    assert.equal(servingProblem(FILE, ports, 8002, undefined), undefined);
  });

  test("no upstream file yet: run agent sync", () => {
    assert.equal(
      servingProblem(FILE, ports, undefined, undefined),
      "no color serves yet: run agent sync",
    );
  });

  test("a port of neither color names the file and both ports", () => {
    assert.equal(
      servingProblem(FILE, ports, 9000, undefined),
      `${FILE} sends traffic to port 9000, which is neither blue (8001) nor green (8002)`,
    );
  });

  test("an unreadable file says why", () => {
    assert.equal(servingProblem(FILE, ports, undefined, "names no server"), "names no server");
  });
});

describe("noServingColor", () => {
  test("before the first deploy the color checks are critical", () => {
    assert.deepEqual(noServingColor(subject({})), {
      status: "critical",
      summary: "no color serves yet: run agent sync",
      details: {},
    });
  });

  test("a file the agent did not write leaves them unable to tell", () => {
    const outcome = noServingColor(subject({ upstreamPort: 9000 }));
    assert.equal(outcome.status, "unknown");
    assert.match(
      outcome.summary,
      /^cannot tell which color serves: .* port 9000, which is neither/,
    );
  });
});

describe("checkSubject", () => {
  test("a restart app is judged as it is", async () => {
    const app = restartApp();
    const found = await checkSubject(app);
    assert.equal(found.app, app);
    assert.equal(found.blueGreen, undefined);
  });
});

describe("checksFor", () => {
  const names = (app: Parameters<typeof checksFor>[0]) => checksFor(app).map((c) => c.name);

  test("a restart app's checks are the ones it always had", () => {
    assert.deepEqual(names(restartApp()), [
      "release",
      "service",
      "processes",
      "permissions",
      "database",
      "health",
      "backups",
      "disk",
      "drift",
    ]);
  });

  test("a blue-green app adds the proxy, after the serving color's health", () => {
    assert.ok(isBlueGreen(blueGreenApp()));
    assert.deepEqual(names(blueGreenApp()), [
      "release",
      "service",
      "processes",
      "permissions",
      "database",
      "health",
      "proxy",
      "backups",
      "disk",
      "drift",
    ]);
  });
});

describe("runChecks on a blue-green app before its first deploy", () => {
  // The upstream file's directory is missing, as before the first deploy made it: nothing serves.
  test("service, processes and health say no color serves yet, without asking systemd", {
    skip: !existsSync("/etc/nginx") && "no /etc/nginx on this host",
  }, async () => {
    const app = blueGreenApp("/etc/nginx/deploy-agent-unit-test-missing/shop.upstream");
    const report = await runChecks(app, { only: ["service", "processes", "health"] });
    assert.equal(report.status, "critical");
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status, c.summary]),
      ["service", "processes", "health"].map((name) => [
        name,
        "critical",
        "no color serves yet: run agent sync",
      ]),
    );
  });
});
