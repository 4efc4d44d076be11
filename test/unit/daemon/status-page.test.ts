// The status page renderer: one bar per step on one scale, everything the app chose escaped, and
// nothing loaded from elsewhere.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PageData } from "../../../src/daemon/page-data.js";
import { renderPage, renderSignIn } from "../../../src/daemon/status-page.js";

const data: PageData = {
  host: "web1",
  version: "0.1.0",
  generatedAt: "2026-12-02T10:00:00.000Z",
  apps: [
    {
      name: "shop",
      strategy: "blue-green",
      serving: "green",
      live: { release: "20261202T095900Z-3f2a1c9b0d1e", revision: "3f2a1c9b0d1e".padEnd(40, "0") },
      activity: "idle",
      lastCheck: {
        at: "2026-12-02T09:59:30.000Z",
        trigger: "schedule",
        status: "critical",
        durationMs: 310,
        checks: [{ name: "health", status: "critical", summary: "<img src=x onerror=alert(1)>" }],
      },
      deployments: [
        {
          id: 2,
          startedAt: "2026-12-02T09:58:00.000Z",
          trigger: "poll",
          revision: "3f2a1c9b0d1e".padEnd(40, "0"),
          outcome: "deployed",
          durationMs: 2000,
          error: null,
          steps: [
            { step: "fetch", durationMs: 100, outcome: "ok" },
            { step: "build", durationMs: 900, outcome: "ok" },
            { step: "switch", durationMs: 1000, outcome: "ok" },
          ],
        },
        {
          id: 1,
          startedAt: "2026-12-02T09:00:00.000Z",
          trigger: "cli",
          revision: null,
          outcome: "rolled-back",
          durationMs: 500,
          error: "migrate failed: <b>exit 1</b>",
          steps: [
            { step: "fetch", durationMs: 200, outcome: "ok" },
            { step: "migrate", durationMs: 300, outcome: "failed" },
          ],
        },
      ],
      checkDurations: [
        { at: "2026-12-02T09:00:00.000Z", durationMs: 300, status: "ok" },
        { at: "2026-12-02T09:59:30.000Z", durationMs: 310, status: "critical" },
      ],
    },
  ],
};

test("one bar per step, widths to one scale across deployments", () => {
  const html = renderPage(data);
  const deployments = html.split('<div class="deployment"').slice(1);
  assert.equal(deployments.length, 2);
  const widths = deployments.map((d) =>
    [
      ...d.matchAll(/<rect class="step" data-step="([a-z-]+)" x="[\d.]+" y="0" width="([\d.]+)"/g),
    ].map((m) => [m[1], Number(m[2])]),
  );
  assert.deepEqual(widths[0], [
    ["fetch", 50],
    ["build", 450],
    ["switch", 500],
  ]);
  assert.deepEqual(widths[1], [
    ["fetch", 100],
    ["migrate", 150],
  ]);
  assert.match(html, /serving <strong class="color">green<\/strong>/);
});

test("what the app chose is escaped; nothing is loaded from elsewhere", () => {
  const html = renderPage(data);
  assert.ok(!html.includes("<img"));
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(html.includes("&lt;b&gt;exit 1&lt;/b&gt;"));
  assert.doesNotMatch(html, /<script|<link|src="|href="http|@import|url\(/);
  assert.match(html, /name="viewport" content="width=device-width/);
});

test("the sign-in page names no app", () => {
  const html = renderSignIn("That is not this host's token.");
  assert.doesNotMatch(html, /shop/);
  assert.match(html, /<input type="password" name="token"/);
});
