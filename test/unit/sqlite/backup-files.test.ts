// Backup names and retention: ordered by sequence, so a wrong clock cannot get a new backup
// pruned; protected backups survive any number of prunes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import {
  backupFileName,
  listBackups,
  nextSequence,
  pruneBackups,
} from "../../../src/sqlite/backup-files.js";

const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-backups-"));
after(() => rmSync(base, { recursive: true, force: true }));
const db = "/srv/shop/shared/shop.db";

function dirWith(name: string, files: string[]): string {
  const dir = path.join(base, name);
  mkdirSync(dir);
  for (const file of files) writeFileSync(path.join(dir, file), "x");
  return dir;
}

test("names carry stamp and sequence; legacy names count as sequence 0", async () => {
  const at = new Date("2026-11-23T10:15:00.123Z");
  assert.equal(backupFileName(db, 42, at), "shop.db.20261123T101500123Z.42.bak");
  const dir = dirWith("names", ["shop.db.20261123T101500123Z.bak", backupFileName(db, 1, at)]);
  const found = await listBackups(dir, db);
  assert.deepEqual(
    found.map((b) => [b.name, b.sequence]),
    [
      ["shop.db.20261123T101500123Z.1.bak", 1],
      ["shop.db.20261123T101500123Z.bak", 0],
    ],
  );
  assert.equal(nextSequence(found), 2);
});

test("a backup taken with the clock set back is still the newest, and pruning keeps it", async () => {
  const good = new Date("2026-11-23T10:00:00.000Z");
  const wrong = new Date("1970-01-01T00:00:10.000Z");
  const dir = dirWith("clock", [
    backupFileName(db, 1, good),
    backupFileName(db, 2, new Date(good.getTime() + 60_000)),
    backupFileName(db, 3, wrong),
  ]);
  const [newest] = await listBackups(dir, db);
  assert.equal(newest?.sequence, 3);
  const pruned = await pruneBackups(dir, db, 2);
  assert.deepEqual(
    pruned.map((p) => path.basename(p)),
    [backupFileName(db, 1, good)],
  );
  assert.ok(readdirSync(dir).includes(backupFileName(db, 3, wrong)));
});

test("a protected backup (an interrupted deployment's) survives any number of prunes", async () => {
  const dir = dirWith("protect", []);
  const needed = path.join(dir, backupFileName(db, 1, new Date("2026-11-23T10:00:00Z")));
  writeFileSync(needed, "x");
  for (let seq = 2; seq < 8; seq++) {
    writeFileSync(path.join(dir, backupFileName(db, seq, new Date())), "x");
    await pruneBackups(dir, db, 2, [needed]);
  }
  assert.ok(readdirSync(dir).includes(path.basename(needed)));
  assert.equal((await listBackups(dir, db)).length, 3);
});

test("kept-aside copies, other DBs, directories and links are not backups", async () => {
  const dir = dirWith("others", [
    "shop.db.failed-20261123T100000000Z",
    "blog.db.20261123T101500123Z.1.bak",
    ".tmp-shop.db.20261123T101500123Z.2.bak-1",
  ]);
  mkdirSync(path.join(dir, "shop.db.20261123T101500123Z.3.bak"));
  symlinkSync("/etc/hostname", path.join(dir, "shop.db.20261123T101500123Z.4.bak"));
  assert.deepEqual(await listBackups(dir, db), []);
});
