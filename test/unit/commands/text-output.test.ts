// `agent check`, `agent status` and `agent history` as text: what the app wrote is shown, never
// obeyed by the terminal, and the agent's own colour survives.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { CheckReport } from "../../../src/check/run-checks.js";
import { renderReport } from "../../../src/commands/check.js";
import { type AppHistory, renderHistory } from "../../../src/commands/history.js";
import { type AppStatusWithDaemon, renderStatus } from "../../../src/commands/status.js";
import type { DeploymentJson } from "../../../src/views/deployment-view.js";
import { ESC, unsafeIn, withoutColour } from "../output/terminal-text.js";

const HOSTILE = "\x1b]0;pwned\x07\x1b[2J\u009b1;1H\u202e";
let noColor: string | undefined;
beforeEach(() => {
  noColor = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
});
afterEach(() => {
  if (noColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = noColor;
});

const deployment: DeploymentJson = {
  id: 7,
  trigger: "cli",
  startedAt: "2026-11-23T10:15:00.000Z",
  finishedAt: "2026-11-23T10:15:04.000Z",
  durationMs: 4000,
  fromRelease: `20261122T101500Z-${HOSTILE}`,
  toRelease: `20261123T101500Z-${HOSTILE}`,
  revision: HOSTILE,
  outcome: "rolled-back",
  error: `migrate failed for shop at 3f2a1c9b0d1e: exit 1\n${HOSTILE}`,
  backupPath: null,
  keptCopy: null,
  steps: [
    {
      step: "migrate",
      startedAt: "2026-11-23T10:15:02.000Z",
      durationMs: 300,
      outcome: "failed",
      message: HOSTILE,
    },
  ],
};

describe("renderReport (agent check)", () => {
  const report: CheckReport = {
    app: "shop",
    status: "critical",
    checks: [
      {
        name: "health",
        status: "critical",
        summary: `serving ${HOSTILE}`,
        details: {},
        durationMs: 3,
      },
      { name: "disk", status: "ok", summary: "12% used", details: {}, durationMs: 1 },
    ],
    changes: [`chmod 664 /srv/shop/shared/${HOSTILE} (was 600)`],
    durationMs: 40,
  };

  test("summaries and fixed lines are printable; statuses keep their colour on a terminal", () => {
    const text = renderReport(report, { isTTY: true });
    assert.deepEqual(unsafeIn(withoutColour(text)), []);
    const lines = text.split("\n");
    assert.ok(lines[1]?.startsWith(`health  ${ESC}[31mcritical${ESC}[0m  serving \\x1b]0;pwned`));
    assert.ok(lines[2]?.startsWith(`disk    ${ESC}[32mok${ESC}[0m`));
    assert.ok(lines[3]?.startsWith("fixed: chmod 664 /srv/shop/shared/\\x1b]0;pwned\\x07"));
    assert.equal(lines[4], `shop: ${ESC}[31mCRITICAL${ESC}[0m in 40ms`);
  });

  test("on a pipe the report carries no escape at all", () => {
    assert.ok(!renderReport(report, { isTTY: false }).includes(ESC));
  });
});

describe("renderHistory (agent history)", () => {
  test("release names, revisions, errors and summaries are printable", () => {
    const history: AppHistory = {
      app: "shop",
      deployments: [deployment],
      checks: [
        {
          id: 1,
          app: "shop",
          at: "2026-11-23T10:20:00.000Z",
          trigger: "cli",
          status: "critical",
          durationMs: 40,
          results: [{ name: "health", status: "critical", summary: `serving ${HOSTILE}` }],
        },
      ],
      promotions: [
        {
          revision: "3f2a1c9b0d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a",
          branch: "verified/uat",
          at: "2026-11-23T10:16:00.000Z",
          outcome: "failed",
          attempts: 3,
          message: `the remote refused the push: ${HOSTILE}`,
        },
      ],
    };
    const text = renderHistory(history);
    assert.deepEqual(unsafeIn(withoutColour(text)), []);
    assert.match(text, /migrate failed for shop at 3f2a1c9b0d1e: exit 1 \\x1b\]0;pwned/);
    assert.match(text, /health: serving \\x1b\]0;pwned\\x07\\x1b\[2J\\x9b1;1H\\u202e/);
    assert.match(
      text,
      /3f2a1c9b0d1e +verified\/uat +failed +3 +the remote refused the push: \\x1b/,
    );
  });
});

describe("renderStatus (agent status)", () => {
  test("the live release, lock holder, last deployment and daemon text are printable", () => {
    const status: AppStatusWithDaemon = {
      app: "shop",
      strategy: "restart",
      live: {
        release: `20261123T101500Z-${HOSTILE}`,
        revision: HOSTILE,
        since: "2026-11-23T10:15:04.000Z",
      },
      branch: { name: "main", head: HOSTILE, commitsAhead: 2 },
      service: {
        unit: "shop.service",
        active: "active",
        sub: "running",
        mainPid: 100,
        processes: 4,
      },
      lock: { pid: 42, startTicks: "1", command: `agent sync ${HOSTILE}`, since: "now" },
      held: false,
      interrupted: [],
      lastSync: { at: "2026-11-23T10:15:04.000Z", outcome: "rolled-back", revision: HOSTILE },
      lastDeployment: deployment,
      lastCheck: null,
      signer: `alice@example.com ${HOSTILE}`,
      promotion: {
        branch: "verified/uat",
        due: true,
        last: {
          revision: HOSTILE,
          branch: "verified/uat",
          at: "2026-11-23T10:16:00.000Z",
          outcome: "refused",
          attempts: 0,
          message: `not a fast-forward ${HOSTILE}`,
        },
      },
      daemonSays: `shop: critical 8/9 (${HOSTILE}) at 10:20, next 10:35`,
      nextCheck: "10:35",
    };
    const text = renderStatus(status, true);
    assert.deepEqual(unsafeIn(withoutColour(text)), []);
    assert.match(
      text,
      /live {8}20261123T101500Z-\\x1b\]0;pwned\\x07\\x1b\[2J\\x9b1;1H\\u202e since/,
    );
    assert.match(text, /held by agent sync \\x1b\]0;pwned/);
    assert.match(text, /daemon {6}shop: critical 8\/9 \(\\x1b/);
    assert.match(text, /signed by {3}alice@example.com \\x1b/);
    assert.match(
      text,
      /promotion {3}verified\/uat: pending, last attempt .*refused.* not a fast-forward \\x1b/,
    );
  });
});
