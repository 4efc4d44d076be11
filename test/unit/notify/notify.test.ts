// Telling people: the payloads (json and Slack's incoming-webhook shape), the durable queue with
// its claims, backoff and bounds, check alerts on change only, url_file rules, and delivery to a
// real HTTP receiver that is down, then up.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { CheckReport } from "../../../src/check/run-checks.js";
import { parseConfigText } from "../../../src/config/parse.js";
import { ConfigError } from "../../../src/errors.js";
import { logger } from "../../../src/log.js";
import { noteVerdict } from "../../../src/notify/check-alerts.js";
import { deliverDue } from "../../../src/notify/deliver.js";
import { checkEvent, promotionEvent, syncEvent } from "../../../src/notify/event.js";
import { Notifications } from "../../../src/notify/notifications.js";
import { payload } from "../../../src/notify/payload.js";
import { backoffMs, claimNext, enqueue, MAX_QUEUED, nextDue } from "../../../src/notify/queue.js";
import { type NotifyTarget, resolveTargets, targetKey } from "../../../src/notify/targets.js";
import { openStateDb, type StateDb } from "../../../src/state/state-db.js";

const root = mkdtempSync(path.join(tmpdir(), "deploy-agent-notify-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dbs = 0;
function freshDb(): StateDb {
  return openStateDb(path.join(root, `db-${dbs++}`));
}

function target(url: string, extra: Partial<NotifyTarget> = {}): NotifyTarget {
  return {
    label: "notify.0",
    key: targetKey(url),
    url,
    format: "json",
    events: new Set(["deployed", "rolled-back", "failed", "check-critical", "check-recovered"]),
    ...extra,
  };
}

function report(status: CheckReport["status"]): CheckReport {
  return {
    app: "shop",
    status,
    durationMs: 12,
    changes: [],
    checks: [
      { name: "service", status: "ok", summary: "active", details: {}, durationMs: 1 },
      {
        name: "health",
        status,
        summary:
          status === "ok" ? "3f2a1c9b0d1e (20 requests, 3 pids)" : "20 of 20 requests failed",
        details: {},
        durationMs: 5,
      },
    ],
  };
}

describe("events and payloads", () => {
  test("a rolled-back sync names the step that failed and its error", () => {
    const event = syncEvent(
      { app: "shop", outcome: "rolled-back", revision: "a".repeat(40), message: "migrate failed" },
      { step: "migrate", error: "migrate failed for shop at aaaaaaaaaaaa: exit 1" },
      new Date("2026-12-02T10:00:00Z"),
    );
    assert.ok(event);
    assert.equal(event.event, "rolled-back");
    assert.equal(event.step, "migrate");
    assert.equal(event.error, "migrate failed for shop at aaaaaaaaaaaa: exit 1");
    assert.match(event.message, /failed at migrate and was rolled back: migrate failed/);
    assert.deepEqual(Object.keys(JSON.parse(payload("json", event))).slice(0, 7), [
      "event",
      "app",
      "host",
      "revision",
      "status",
      "message",
      "at",
    ]);
    assert.equal(syncEvent({ app: "shop", outcome: "noop" }), undefined);
    assert.equal(syncEvent({ app: "shop", outcome: "unreachable" }), undefined);
  });

  test("a refused commit is a failed deploy to listeners; a promotion that did not land is its own event", () => {
    const refused = syncEvent({
      app: "shop",
      outcome: "refused",
      revision: "d".repeat(40),
      message: "shop: dddddddddddd (main) refused: the commit is not signed",
    });
    assert.equal(refused?.event, "failed");
    assert.equal(refused?.status, "refused");
    assert.match(refused?.message ?? "", /refused: the commit is not signed/);
    const base = { app: "shop", revision: "e".repeat(40) };
    assert.equal(
      promotionEvent({
        ...base,
        promotion: { branch: "verified/uat", outcome: "promoted", message: "ok" },
      }),
      undefined,
    );
    assert.equal(promotionEvent(base), undefined);
    const failed = promotionEvent({
      ...base,
      promotion: {
        branch: "verified/uat",
        outcome: "failed",
        message: "the remote refused the push",
      },
    });
    assert.equal(failed?.event, "promotion-failed");
    assert.equal(failed?.status, "failed");
    assert.equal(
      failed?.message,
      "shop: promotion of eeeeeeeeeeee to verified/uat failed: the remote refused the push",
    );
  });

  test("slack: Slack's incoming-webhook shape, text escaped, blocks within limits", () => {
    const event = checkEvent("check-critical", report("critical"), "b".repeat(40));
    event.message = "<!channel> & <script>";
    const body = JSON.parse(payload("slack", event)) as {
      text: string;
      blocks: { type: string; text?: { type: string; text: string }; elements?: unknown[] }[];
    };
    assert.equal(typeof body.text, "string");
    assert.ok(body.text.length > 0 && body.text.length <= 3000);
    assert.ok(body.text.includes("&lt;!channel&gt; &amp; &lt;script&gt;"));
    assert.ok(!body.text.includes("<!channel>"));
    assert.equal(body.blocks[0]?.type, "section");
    assert.equal(body.blocks[0]?.text?.type, "mrkdwn");
    assert.equal(body.blocks[1]?.type, "context");
    assert.ok(Array.isArray(body.blocks[1]?.elements));
  });
});

describe("the queue", () => {
  test("enqueue for the targets that want the event; a claimed row is not claimed twice", () => {
    const db = freshDb();
    const a = target("http://127.0.0.1:1/a");
    const b = target("http://127.0.0.1:1/b", { events: new Set(["failed"]) });
    const c = target("http://127.0.0.1:1/c", { apps: new Set(["blog"]) });
    const event = syncEvent({ app: "shop", outcome: "deployed", revision: "c".repeat(40) });
    assert.ok(event);
    assert.deepEqual(enqueue(db, [a, b, c], event), { queued: 1, dropped: 0 });
    const keys = [a.key, b.key, c.key];
    const first = claimNext(db, keys, new Set());
    assert.equal(first?.target, a.key);
    assert.equal(claimNext(db, keys, new Set()), undefined, "claimed by the first caller");
    // A row of a target this process does not know is left alone.
    enqueue(db, [a], event);
    assert.equal(claimNext(db, [b.key], new Set()), undefined);
    assert.equal(claimNext(db, keys, new Set([a.key])), undefined, "a failed target is skipped");
    // The URL is nowhere in the state DB.
    const dump = JSON.stringify(db.prepare("SELECT * FROM notifications").all());
    assert.ok(!dump.includes("127.0.0.1:1/a"));
    db.close();
  });

  test("backoff doubles from 5 s to at most 5 min", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 7, 20].map(backoffMs),
      [5_000, 10_000, 20_000, 40_000, 300_000, 300_000],
    );
  });

  test("bounded: past MAX_QUEUED rows the oldest drop, counted", () => {
    const db = freshDb();
    const a = target("http://127.0.0.1:1/a");
    const event = checkEvent("check-critical", report("critical"), null);
    for (let i = 0; i < MAX_QUEUED; i++) enqueue(db, [a], event);
    const over = enqueue(db, [a], event);
    assert.deepEqual(over, { queued: 1, dropped: 1 });
    assert.equal(db.prepare("SELECT COUNT(*) FROM notifications").pluck().get(), MAX_QUEUED);
    db.close();
  });
});

describe("check alerts", () => {
  test("critical once on the change, recovered once, reminders only for targets that ask", () => {
    const db = freshDb();
    const plain = target("http://127.0.0.1:1/plain");
    const reminded = target("http://127.0.0.1:1/remind", { remindMs: 3_600_000 });
    const t0 = Date.parse("2026-12-02T10:00:00Z");
    assert.equal(noteVerdict(db, [plain, reminded], report("ok"), null, t0), undefined);
    const critical = noteVerdict(db, [plain, reminded], report("critical"), "d".repeat(40), t0);
    assert.equal(critical?.event.event, "check-critical");
    assert.equal(critical?.targets.length, 2);
    assert.match(critical?.event.message ?? "", /health critical: 20 of 20 requests failed/);
    assert.equal(
      noteVerdict(db, [plain, reminded], report("critical"), null, t0 + 60_000),
      undefined,
    );
    const reminder = noteVerdict(db, [plain, reminded], report("critical"), null, t0 + 3_600_000);
    assert.equal(reminder?.event.event, "check-critical");
    assert.deepEqual(
      reminder?.targets.map((t) => t.key),
      [reminded.key],
    );
    assert.match(reminder?.event.message ?? "", /\(still\)/);
    const recovered = noteVerdict(db, [plain, reminded], report("ok"), null, t0 + 3_700_000);
    assert.equal(recovered?.event.event, "check-recovered");
    assert.equal(noteVerdict(db, [plain, reminded], report("ok"), null, t0 + 3_800_000), undefined);
    // A warning is not critical: no alert.
    assert.equal(noteVerdict(db, [plain], report("warning"), null, t0 + 3_900_000), undefined);
    db.close();
  });
});

describe("config", () => {
  const base = `apps:
  shop:
    dir: /srv/shop
    service: shop.service
    repo: { url: /srv/git/shop.git }
`;
  const problems = (notify: string) => {
    try {
      parseConfigText("agent.yaml", `${base}notify:\n${notify}`);
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  test("bad targets are refused with the key named", () => {
    const cases: [string, RegExp][] = [
      ["  - { url: ftp://x/hook }", /^notify\.0\.url/],
      ["  - { url: http://x/hook, events: [deployed, exploded] }", /^notify\.0\.events\.1/],
      ["  - { url: http://x/hook, format: teams }", /^notify\.0\.format/],
      ["  - { format: json }", /^notify\.0.*exactly one of url and url_file/],
      ["  - { url: http://x/, url_file: /etc/x }", /^notify\.0.*exactly one of url and url_file/],
      ["  - { url: http://x/, apps: [blog] }", /^notify\.0\.apps\.0.*no app "blog"/],
      ["  - { url: http://x/, remind: often }", /^notify\.0\.remind/],
      ["  - { url_file: relative/file }", /^notify\.0\.url_file/],
    ];
    for (const [yaml, expected] of cases) {
      const found = problems(yaml);
      assert.ok(
        found.some((p) => expected.test(p)),
        `${yaml}: ${found.join(" | ")}`,
      );
    }
    assert.deepEqual(
      problems("  - { url: https://hooks.slack.com/services/T/B/X, format: slack }"),
      [],
    );
  });

  test("url_file: missing, readable by others, or not a URL is refused; the URL is never quoted", async () => {
    const file = path.join(root, "hook-url");
    const resolve = () =>
      resolveTargets({
        notify: [{ url_file: file, format: "json", events: ["deployed"] }],
      });
    const missing = await resolve();
    assert.match(missing.problems[0]?.message ?? "", /missing/);
    writeFileSync(file, "https://hooks.slack.com/services/T000/B000/SECRETSECRET\n");
    chmodSync(file, 0o644);
    const open = await resolve();
    assert.equal(open.problems[0]?.path, "notify.0.url_file");
    assert.match(open.problems[0]?.message ?? "", /mode 644/);
    chmodSync(file, 0o600);
    const ok = await resolve();
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.targets[0]?.url, "https://hooks.slack.com/services/T000/B000/SECRETSECRET");
    writeFileSync(file, "SECRETSECRET not a url");
    const bad = await resolve();
    assert.match(bad.problems[0]?.message ?? "", /expected one http/);
    assert.ok(!JSON.stringify(bad.problems).includes("SECRETSECRET"));
  });
});

describe("delivery to a real receiver", () => {
  test("receiver down: kept with backoff; back up: delivered once; a 5 s bound per attempt", async () => {
    const received: { body: string; type: string | undefined }[] = [];
    let answer = 503;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (answer === 200) {
          received.push({
            body: Buffer.concat(chunks).toString(),
            type: req.headers["content-type"],
          });
        }
        res.writeHead(answer).end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    const db = freshDb();
    try {
      const hook = target(`http://127.0.0.1:${port}/hook`);
      const event = syncEvent(
        { app: "shop", outcome: "failed", revision: "e".repeat(40) },
        {
          step: "verify",
          error: "not healthy after 20s",
        },
      );
      assert.ok(event);
      enqueue(db, [hook], event);
      const pass = () => deliverDue(db, [hook], logger, { deadline: Date.now() + 10_000 });
      const down = await pass();
      assert.deepEqual(down, { sent: 0, failed: 1, dropped: 0 });
      const row = db.prepare("SELECT attempts, last_error FROM notifications").get() as {
        attempts: number;
        last_error: string;
      };
      assert.deepEqual(row, { attempts: 1, last_error: "HTTP 503" });
      assert.ok((nextDue(db) ?? 0) > Date.now() + 3_000, "not due again before its backoff");
      answer = 200;
      db.prepare("UPDATE notifications SET next_ms = 0").run();
      const up = await pass();
      assert.deepEqual(up, { sent: 1, failed: 0, dropped: 0 });
      assert.equal(received.length, 1);
      assert.equal(received[0]?.type, "application/json");
      const sent = JSON.parse(received[0]?.body ?? "{}") as { event: string; step: string };
      assert.equal(sent.event, "failed");
      assert.equal(sent.step, "verify");
      assert.equal(db.prepare("SELECT COUNT(*) FROM notifications").pluck().get(), 0);
    } finally {
      db.close();
      server.close();
    }
  });
});

describe("a hanging receiver never holds a run", () => {
  test("flush gives up at its bound, close aborts the post in flight; an upper-case scheme works", async () => {
    const sockets: import("node:net").Socket[] = [];
    const hanging = http.createServer(() => {});
    hanging.on("connection", (s) => sockets.push(s));
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    const { port } = hanging.address() as AddressInfo;
    const db = freshDb();
    const hook = target(`HTTP://127.0.0.1:${port}/hook`);
    const notifications = new Notifications([hook], logger, db);
    try {
      const started = performance.now();
      notifications.syncFinished({ app: "shop", outcome: "deployed", revision: "f".repeat(40) });
      await notifications.flush(300);
      const flushed = performance.now() - started;
      assert.ok(flushed < 1_000, `flush took ${Math.round(flushed)} ms`);
      await notifications.close();
      assert.ok(performance.now() - started < 1_500, "close aborted the post");
      assert.equal(sockets.length, 1, "the post reached the receiver");
      // Still queued for the next run.
      assert.equal(db.prepare("SELECT COUNT(*) FROM notifications").pluck().get(), 1);
    } finally {
      db.close();
      for (const s of sockets) s.destroy();
      hanging.close();
    }
  });
});
