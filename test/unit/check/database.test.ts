// The database check on real SQLite files: healthy, missing table, corrupt, busy.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { inspectDatabase, judgeDatabase } from "../../../src/check/database.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-db-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// A database with an orders table and some rows, in the given journal mode.
function makeDb(name: string, journal: "wal" | "delete" = "wal"): string {
  const file = path.join(dir, name);
  const db = new Database(file);
  db.pragma(`journal_mode = ${journal}`);
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)");
  const insert = db.prepare("INSERT INTO orders (item) VALUES (?)");
  db.transaction(() => {
    for (let i = 0; i < 500; i++) insert.run(`item ${i} ${"x".repeat(100)}`);
  })();
  db.close();
  return file;
}

const config = (file: string, tables = ["orders"]) => ({
  path: file,
  mode: 0o664,
  tables,
  backups: { keep: 3 },
});

describe("database check", () => {
  test("a healthy WAL database is ok and reports its size", async () => {
    const file = makeDb("ok.db");
    const outcome = await inspectDatabase(config(file));
    assert.equal(outcome.status, "ok", outcome.summary);
    assert.match(outcome.summary, /^quick_check ok, wal, \d+(\.\d)? KB/);
  });

  test("reports the WAL size while a writer holds it open", async () => {
    const file = makeDb("wal.db");
    const writer = new Database(file);
    writer.pragma("wal_autocheckpoint = 0");
    writer.prepare("INSERT INTO orders (item) VALUES (?)").run("x".repeat(5000));
    try {
      const outcome = await inspectDatabase(config(file));
      assert.equal(outcome.status, "ok", outcome.summary);
      assert.match(outcome.summary, /\+ WAL \d/);
      assert.ok((outcome.details.walBytes as number) > 0);
    } finally {
      writer.close();
    }
  });

  test("a missing table is critical and named", async () => {
    const file = makeDb("tables.db");
    const outcome = await inspectDatabase(config(file, ["orders", "customers"]));
    assert.equal(outcome.status, "critical");
    assert.equal(outcome.summary, "missing table: customers");
  });

  test("a missing file is critical and is not created", async () => {
    const file = path.join(dir, "absent.db");
    const outcome = await inspectDatabase(config(file));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /missing/);
    assert.equal(existsSync(file), false);
  });

  test("a file that is not a database, or is truncated, is critical", async () => {
    const garbage = path.join(dir, "garbage.db");
    writeFileSync(garbage, "this is not sqlite ".repeat(300));
    const notDb = await inspectDatabase(config(garbage));
    assert.equal(notDb.status, "critical");
    assert.match(notDb.summary, /corrupt/);
    const file = makeDb("truncated.db", "delete");
    truncateSync(file, 8192);
    assert.equal((await inspectDatabase(config(file))).status, "critical");
  });

  test("a view named like a pragma table cannot answer for a corrupt DB", async () => {
    const file = makeDb("view.db", "delete");
    const db = new Database(file);
    db.exec("CREATE VIEW pragma_quick_check AS SELECT 'ok' AS quick_check");
    db.close();
    truncateSync(file, 8192);
    const outcome = await inspectDatabase(config(file));
    assert.equal(outcome.status, "critical", outcome.summary);
  });

  test("a FIFO at -journal (or -wal, -shm) is refused at once, never opened", async () => {
    const file = makeDb("fifo.db", "delete");
    execFileSync("mkfifo", [`${file}-journal`]);
    const started = performance.now();
    const outcome = await inspectDatabase(config(file));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /fifo\.db-journal is a FIFO: not opened/);
    assert.ok(performance.now() - started < 2000);
  });

  test("a DB locked by a writer is waited for, not reported corrupt", async () => {
    const file = makeDb("busy.db", "delete");
    const holder = new Database(file);
    holder.exec("BEGIN EXCLUSIVE");
    holder.prepare("INSERT INTO orders (item) VALUES ('held')").run();
    // Released while the check is retrying: it must then succeed.
    setTimeout(() => holder.exec("COMMIT"), 400);
    try {
      const outcome = await inspectDatabase(config(file), undefined, 5000);
      assert.equal(outcome.status, "ok", outcome.summary);
    } finally {
      holder.close();
    }
  });

  test("a DB locked for longer than the check waits is a warning, not corrupt", async () => {
    const file = makeDb("stuck.db", "delete");
    const holder = new Database(file);
    holder.exec("BEGIN EXCLUSIVE");
    try {
      const outcome = await inspectDatabase(config(file), undefined, 500);
      assert.equal(outcome.status, "warning");
      assert.match(outcome.summary, /busy/);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });
});

describe("judgeDatabase", () => {
  test("quick_check problems are critical and quoted", () => {
    const outcome = judgeDatabase({
      path: "/x.db",
      bytes: 4096,
      walBytes: 0,
      journalMode: "wal",
      quickCheck: ["*** in database main ***", "Page 5: btreeInitPage() returns error code 11"],
      missingTables: [],
    });
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /^quick_check failed: \*\*\* in database main \*\*\*; Page 5/);
  });
});
