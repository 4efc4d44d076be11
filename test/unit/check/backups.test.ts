// The backups check: newest verified, retention respected, none at all.
import "../scratch-state.js";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import {
  backupsCheck,
  judgeBackups,
  REVERIFY_MS,
  stillVerified,
} from "../../../src/check/backups.js";
import type { CheckContext } from "../../../src/check/types.js";
import { appSchema } from "../../../src/config/schema.js";
import { appLayout } from "../../../src/release/layout.js";
import { backupFileName } from "../../../src/sqlite/backup-files.js";

const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-backups-"));
after(() => rmSync(base, { recursive: true, force: true }));

// An app whose backups/ holds `count` real backups, one minute apart, newest last written.
function setup(name: string, count: number): { ctx: CheckContext; files: string[] } {
  const dir = path.join(base, name);
  const db = path.join(dir, "shared", "shop.db");
  mkdirSync(path.join(dir, "backups"), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(Date.now() - (count - i) * 60_000);
    const file = path.join(dir, "backups", backupFileName(db, i + 1, at));
    const copy = new Database(file);
    copy.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)");
    const insert = copy.prepare("INSERT INTO orders (item) VALUES (?)");
    copy.transaction(() => {
      for (let n = 0; n < 300; n++) insert.run("x".repeat(100));
    })();
    copy.close();
    files.push(file);
  }
  const app = {
    ...appSchema.parse({
      dir,
      service: "shop.service",
      repo: { url: "/x.git" },
      database: { path: db, backups: { keep: 3 } },
    }),
    name: "shop",
  };
  return { ctx: { app, layout: appLayout(app), fix: false, changes: [] }, files };
}

describe("backups check", () => {
  test("up to keep verified backups: ok, with the newest's age", async () => {
    const { ctx } = setup("ok", 3);
    const outcome = await backupsCheck.run(ctx);
    assert.equal(outcome.status, "ok", outcome.summary);
    assert.match(outcome.summary, /^3 of 3, newest 1m old \(.*, quick_check ok\)/);
  });

  test("more than keep: warning", async () => {
    const { ctx } = setup("many", 4);
    const outcome = await backupsCheck.run(ctx);
    assert.equal(outcome.status, "warning");
    assert.match(outcome.summary, /4 backups, more than keep=3/);
  });

  test("a truncated newest backup is critical", async () => {
    const { ctx, files } = setup("truncated", 2);
    truncateSync(files[1] as string, 4096);
    const outcome = await backupsCheck.run(ctx);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /is damaged/);
  });

  test("no backup at all (no directory even): warning", async () => {
    const { ctx } = setup("none", 0);
    rmSync(ctx.layout.backups, { recursive: true });
    const outcome = await backupsCheck.run(ctx);
    assert.equal(outcome.status, "warning");
    assert.equal(outcome.summary, "no backup yet");
  });

  test("no database configured: ok, not configured", async () => {
    const { ctx } = setup("nodb", 0);
    ctx.app = { ...ctx.app, database: undefined };
    assert.deepEqual(await backupsCheck.run(ctx), {
      status: "ok",
      summary: "not configured",
      details: {},
    });
  });
});

describe("judgeBackups", () => {
  test("reports age from the name's timestamp", () => {
    const takenAt = new Date("2026-11-23T10:00:00Z");
    const outcome = judgeBackups(
      [{ name: "shop.db.x.bak", path: "/b/shop.db.x.bak", takenAt, sequence: 1, bytes: 2048 }],
      3,
      undefined,
      new Date("2026-11-23T13:30:00Z"),
    );
    assert.equal(outcome.summary, "1 of 3, newest 3h old (2.0 KB, quick_check ok)");
  });
});

describe("a remembered quick_check of the newest backup", () => {
  const identity =
    "/srv/shop/backups/shop.db.x.1.bak|2049|1234|16384|1700000000000000000|1700000000000000000";
  const now = 1_800_000_000_000;
  test("holds for the very same file for a day", () => {
    assert.equal(stillVerified(`${identity}@${now - 60_000}`, identity, now), true);
    assert.equal(stillVerified(`${identity}@${now - REVERIFY_MS + 1}`, identity, now), true);
  });
  test("not after a day, not from the future, not for a changed or other file", () => {
    assert.equal(stillVerified(`${identity}@${now - REVERIFY_MS}`, identity, now), false);
    assert.equal(stillVerified(`${identity}@${now + 1000}`, identity, now), false);
    const changed = identity.replace("|16384|", "|8192|");
    assert.equal(stillVerified(`${identity}@${now}`, changed, now), false);
    assert.equal(stillVerified(undefined, identity, now), false);
    assert.equal(stillVerified("garbage", identity, now), false);
    assert.equal(stillVerified(`${identity}@soon`, identity, now), false);
  });
});
