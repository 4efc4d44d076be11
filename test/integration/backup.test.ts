// `agent backup` against a real machine: consistent under a steady stream of writes, holding
// every row committed before it started, and pruned to `keep`. And a deploy's backup, copied
// while the app serves and brought up to date after the stop: it holds every row the app
// answered before the stop, and restoring it loses none of them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import {
  AGENT_CONFIG_PATH,
  provisionShop,
  pushCommit,
  SHOP_DB,
  SHOP_DIR,
  shopConfigYaml,
  startWriter,
} from "../machine/sample-app.js";
import { skipUnlessRoot as skip } from "./sync-helpers.js";

interface BackupJson {
  app: string;
  path: string;
  bytes: number;
  pages: number;
  durationMs: number;
  pruned: string[];
}

describe("agent backup on a real machine", { skip }, () => {
  let machine: Machine;

  // One SQL statement through the machine's sqlite3, read-only; rows as lines.
  async function query(file: string, sql: string): Promise<string> {
    const result = await machine.exec(["sqlite3", "-readonly", "-cmd", ".timeout 5000", file, sql]);
    assert.equal(result.exitCode, 0, `${sql} on ${file}: ${result.stderr}`);
    return result.stdout.trim();
  }

  // Run `agent backup --json` inside the machine.
  async function backup(): Promise<BackupJson> {
    const result = await machine.exec(["agent", "backup", "--json"]);
    assert.equal(result.exitCode, 0, result.stderr);
    return JSON.parse(result.stdout) as BackupJson;
  }

  // Backups on disk, oldest first.
  async function listBackups(): Promise<string[]> {
    const result = await machine.exec(["sh", "-c", `ls -1 ${SHOP_DIR}/backups/*.bak | sort`]);
    return result.stdout.split("\n").filter(Boolean);
  }

  before(async () => {
    machine = await bootMachine({ name: "backup" });
    await provisionShop(machine);
  });

  after(async () => {
    await machine?.destroy();
  });

  test("a backup taken under steady writes is intact and holds every earlier row", async () => {
    const writer = await startWriter(machine, { ratePerSec: 50 });
    let maxBefore = 0;
    let taken: BackupJson | undefined;
    try {
      // Let rows accumulate, so "every earlier row" is a real set, then back up mid-stream.
      await machine.waitFor(
        async () => Number(await query(SHOP_DB, "SELECT count(*) FROM orders")) >= 50,
        20_000,
        { what: "the writer to commit 50 orders" },
      );
      maxBefore = Number(await query(SHOP_DB, "SELECT max(id) FROM orders"));
      taken = await backup();
      // Writes go on after the backup: the live DB moves past it.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      const report = await writer.stop();
      assert.ok(report.count > 50, `writer acknowledged only ${report.count} orders`);
    }
    assert.ok(taken);
    assert.match(taken.path, /^\/srv\/shop\/backups\/shop\.db\.\d{8}T\d{9}Z\.\d+\.bak$/);
    assert.equal(await query(taken.path, "PRAGMA integrity_check"), "ok");
    const live = await query(
      SHOP_DB,
      `SELECT group_concat(id) FROM orders WHERE id <= ${maxBefore}`,
    );
    const copied = await query(
      taken.path,
      `SELECT group_concat(id) FROM orders WHERE id <= ${maxBefore}`,
    );
    assert.ok(live.split(",").length >= 50);
    assert.equal(copied, live, "the backup lacks rows committed before it started");
    // A self-contained file: no WAL beside it to lose.
    assert.equal(await query(taken.path, "PRAGMA journal_mode"), "delete");
    const liveMax = Number(await query(SHOP_DB, "SELECT max(id) FROM orders"));
    assert.ok(liveMax > maxBefore, "the writer kept writing during the backup");
  });

  test("more backups than keep: exactly keep (3) remain, the newest verified", async () => {
    for (let i = 0; i < 4; i++) await backup();
    const last = await backup();
    const remaining = await listBackups();
    assert.equal(remaining.length, 3, remaining.join("\n"));
    assert.equal(remaining.at(-1), last.path);
    assert.equal(await query(last.path, "PRAGMA quick_check"), "ok");
    assert.equal(last.pruned.length, 1);
    // The check agrees: ok, 3 of 3.
    const check = await machine.exec(["agent", "check", "--json"]);
    const backups = (
      JSON.parse(check.stdout) as { checks: { name: string; status: string; summary: string }[] }
    ).checks.find((c) => c.name === "backups");
    assert.equal(backups?.status, "ok", backups?.summary);
    assert.match(backups?.summary ?? "", /^3 of 3, newest \d+s old/);
  });

  test("a deploy's backup, copied while serving and brought up to date after the stop, holds every row answered before the stop; restoring it loses none", async () => {
    // The migrate hook runs with the app stopped: the newest order then is the last one the old
    // release committed, which the backup must hold.
    await machine.writeFile(
      AGENT_CONFIG_PATH,
      shopConfigYaml({
        app: {
          hooks: {
            migrate: `DB_PATH=${SHOP_DB} /usr/bin/python3 migrate.py && sqlite3 -readonly ${SHOP_DB} "SELECT max(id) FROM orders" > /tmp/max-at-stop`,
          },
        },
      }),
      0o644,
    );
    const writer = await startWriter(machine, { ratePerSec: 50 });
    let acked: number[] = [];
    let stdout = "";
    try {
      const before = Number(await query(SHOP_DB, "SELECT count(*) FROM orders"));
      await machine.waitFor(
        async () => Number(await query(SHOP_DB, "SELECT count(*) FROM orders")) >= before + 50,
        20_000,
        { what: "the writer to commit 50 orders" },
      );
      await pushCommit(machine, { message: "delta backup", files: { "CHANGES.txt": "delta\n" } });
      const sync = await machine.exec(["agent", "sync"], { timeoutMs: 120_000 });
      stdout = sync.stdout;
      assert.equal(sync.exitCode, 0, `${sync.stdout}\n${sync.stderr}`);
      // Writes go on against the new release.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      acked = (await writer.stop()).ids;
    }
    assert.match(stdout, /^ {2}precopy .* ok/m, stdout);
    assert.match(stdout, /^ {2}backup .*-wal applied after the stop/m, stdout);
    const atStop = Number((await machine.readFile("/tmp/max-at-stop")).trim());
    const backupFile = (await listBackups()).at(-1) as string;
    assert.equal(await query(backupFile, "PRAGMA quick_check"), "ok");
    assert.equal(await query(backupFile, "PRAGMA journal_mode"), "delete");
    // Exactly the DB the old release left: every row up to the stop, none after.
    assert.equal(await query(backupFile, "SELECT max(id) FROM orders"), String(atStop));
    const upToStop = `SELECT group_concat(id || ':' || item) FROM orders WHERE id <= ${atStop}`;
    assert.equal(await query(backupFile, upToStop), await query(SHOP_DB, upToStop));
    const answeredBefore = acked.filter((id) => id <= atStop);
    const answeredAfter = acked.filter((id) => id > atStop);
    assert.ok(answeredBefore.length >= 50, `only ${answeredBefore.length} answered before`);
    assert.ok(answeredAfter.length > 0, "no write answered by the new release");
    // Restoring it puts back exactly that: every row answered before the stop is there.
    const restore = await machine.exec(["agent", "restore", "shop", backupFile], {
      timeoutMs: 120_000,
    });
    assert.equal(restore.exitCode, 0, `${restore.stdout}\n${restore.stderr}`);
    assert.equal(await query(SHOP_DB, "SELECT max(id) FROM orders"), String(atStop));
    const present = new Set(
      (await query(SHOP_DB, "SELECT group_concat(id) FROM orders")).split(",").map(Number),
    );
    const lost = answeredBefore.filter((id) => !present.has(id));
    assert.deepEqual(lost, [], "rows answered before the stop are missing after the restore");
  });

  test("the app user stops the shell that holds the snapshot: the deploy goes on and backs up whole after the stop", async () => {
    const holder = `^sqlite3 -readonly -batch -bail -noheader -list -init /dev/null ${SHOP_DB}$`;
    await pushCommit(machine, { message: "stopped holder", files: { "CHANGES.txt": "held\n" } });
    // What www-data can do to a process of its own: SIGSTOP it once the copy is made.
    const freezer = machine.exec(
      [
        "runuser",
        "-u",
        "www-data",
        "--",
        "timeout",
        "60",
        "bash",
        "-c",
        `until [ "$(pgrep -f '${holder}' | wc -l)" = 1 ] && sleep 0.2; do :; done; pkill -STOP -f '${holder}'`,
      ],
      { timeoutMs: 70_000 },
    );
    const started = Date.now();
    const sync = await machine.exec(["agent", "sync"], { timeoutMs: 120_000 });
    assert.equal((await freezer).exitCode, 0, "the holder was never seen");
    assert.equal(sync.exitCode, 0, `${sync.stdout}\n${sync.stderr}`);
    // Whole after the stop, not from the lost snapshot; and no wait on the stopped shell beyond
    // its few seconds' grace.
    assert.match(sync.stdout, /^ {2}backup .*quick_check ok\)/m, sync.stdout);
    assert.doesNotMatch(sync.stdout, /-wal applied/);
    assert.ok(Date.now() - started < 30_000, `the deploy took ${Date.now() - started} ms`);
    assert.equal((await machine.exec(["pgrep", "-f", holder])).stdout.trim(), "");
    const newest = (await listBackups()).at(-1) as string;
    assert.equal(await query(newest, "PRAGMA quick_check"), "ok");
  });
});
