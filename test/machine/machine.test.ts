// The harness itself under test: a machine boots, runs the shop app, reboots and survives a power cut.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { runningMachines } from "./lock.js";
import { bootMachine, type Machine } from "./machine.js";
import {
  health,
  provisionShop,
  pushCommit,
  SHOP_DB,
  SHOP_REMOTE,
  shopConfigYaml,
  startWriter,
  waitForHealth,
} from "./sample-app.js";
import { unitPids, unitProperty, unitState } from "./units.js";

const skip =
  process.getuid?.() === 0
    ? false
    : "machine tests need root (namespaces, mounts, systemd as PID 1)";

// The part of apps.shop the YAML test looks at.
interface ShopEntry {
  dir: string;
  database: { mode: string };
  processes: { master: number; workers: number };
  on_critical: string;
  socket?: string;
  schedule?: string;
}

// Order ids in the shop DB, read with the machine's own python (as the app user would).
async function orderIds(machine: Machine): Promise<Set<number>> {
  const py = `import sqlite3, sys
for (i,) in sqlite3.connect(sys.argv[1], timeout=5).execute("SELECT id FROM orders"): print(i)`;
  const result = await machine.exec(["/usr/bin/python3", "-c", py, SHOP_DB], { reject: true });
  return new Set(result.stdout.split("\n").filter(Boolean).map(Number));
}

// The app is up as it should be: unit active, 1 master + 3 workers, /health on the revision.
async function assertShopHealthy(machine: Machine, sha: string): Promise<void> {
  await waitForHealth(machine, sha);
  assert.equal(await unitState(machine, "shop.service"), "active");
  // Workers boot just after the master answers: wait for all of them before counting.
  const pids = await machine.waitFor(
    async () => {
      const found = await unitPids(machine, "shop.service");
      return found.length === 4 ? found : undefined;
    },
    15_000,
    { what: "4 processes in shop.service's cgroup" },
  );
  const master = Number(await unitProperty(machine, "shop.service", "MainPID"));
  assert.ok(pids.includes(master), `MainPID ${master} is in the cgroup ${pids.join(",")}`);
}

test("shop config YAML carries the DESIGN.md keys and takes overrides", () => {
  const text = shopConfigYaml({
    app: { on_critical: "restart", socket: "shop.socket", schedule: null },
  });
  const app = (parse(text) as { apps: { shop: ShopEntry } }).apps.shop;
  assert.equal(app.dir, "/srv/shop");
  assert.equal(app.database.mode, "664");
  assert.deepEqual(app.processes, { master: 1, workers: 3 });
  assert.equal(app.on_critical, "restart");
  assert.equal(app.socket, "shop.socket");
  assert.equal(app.schedule, undefined);
});

test("machine: shop app boots, reboots and survives a power cut", { skip }, async (t) => {
  const started = Date.now();
  const machine = await bootMachine({ name: "machine-test" });
  try {
    t.diagnostic(`boot: ${Date.now() - started} ms`);
    const { sha, releaseDir } = await provisionShop(machine);
    t.diagnostic(`boot + provision: ${Date.now() - started} ms`);

    await t.test("layout follows DESIGN.md", async () => {
      const check = await machine.sh(`
        test "$(readlink /srv/shop/current)" = "releases/$(basename ${releaseDir})"
        test "$(cat /srv/shop/current/REVISION)" = "${sha}"
        test "$(git --git-dir=/srv/shop/repo rev-parse refs/heads/main)" = "${sha}"
        test "$(stat -c '%U:%G %a' /srv/shop/shared)" = "www-data:www-data 775"
        test "$(stat -c '%U:%G %a' ${SHOP_DB})" = "www-data:www-data 664"
        test "$(stat -c '%U %a' /srv/shop/shared/.env)" = "www-data 600"
        test "$(readlink ${releaseDir}/.env)" = "/srv/shop/shared/.env"
        test -d /srv/shop/backups
        sqlite3 ${SHOP_DB} 'PRAGMA journal_mode'`);
      assert.equal(check.exitCode, 0, check.stderr);
      assert.equal(check.stdout.trim(), "wal");
      assert.match(releaseDir, /\/srv\/shop\/releases\/\d{8}T\d{6}Z-[0-9a-f]{12}$/);
    });

    await t.test("shop.service runs 1 master + 3 workers and reports REVISION", async () => {
      await assertShopHealthy(machine, sha);
      const answers = await Promise.all(Array.from({ length: 10 }, () => health(machine)));
      for (const answer of answers) assert.equal(answer?.version, sha);
    });

    await t.test("writer: every acknowledged order is in the database", async () => {
      const writer = await startWriter(machine, { ratePerSec: 50 });
      await machine.waitFor(
        async () => (await machine.exec(["wc", "-l", "/var/lib/shop-writer/acked.log"])).stdout,
        10_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const report = await writer.stop();
      assert.ok(report.count > 10, `writer acknowledged only ${report.count} orders`);
      const ids = await orderIds(machine);
      for (const id of report.ids) assert.ok(ids.has(id), `acknowledged order ${id} is missing`);
    });

    await t.test("pushCommit makes a new commit on the remote", async () => {
      const next = await pushCommit(machine, {
        message: "Bump greeting",
        files: { "NOTES.txt": "hello\n", "requirements.txt": null },
      });
      assert.match(next, /^[0-9a-f]{40}$/);
      assert.notEqual(next, sha);
      const tip = await machine.exec(["git", "--git-dir", SHOP_REMOTE, "rev-parse", "main"]);
      assert.equal(tip.stdout.trim(), next);
    });

    await t.test("reboot keeps /srv/shop and the app comes back", async () => {
      const before = await orderIds(machine);
      const t0 = Date.now();
      await machine.poweroff();
      assert.equal(machine.running, false);
      await machine.boot();
      await assertShopHealthy(machine, sha);
      t.diagnostic(`reboot until healthy: ${Date.now() - t0} ms`);
      assert.deepEqual(await orderIds(machine), before);
    });

    await t.test(
      "power cut with a writer running: the app and every acked row come back",
      async () => {
        const writer = await startWriter(machine, { ratePerSec: 50 });
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const t0 = Date.now();
        await machine.powerCut();
        assert.equal(machine.running, false);
        await machine.boot();
        await assertShopHealthy(machine, sha);
        t.diagnostic(`power cut until healthy: ${Date.now() - t0} ms`);
        const report = await writer.stop();
        assert.ok(report.count > 10, `writer acknowledged only ${report.count} orders`);
        const ids = await orderIds(machine);
        for (const id of report.ids) assert.ok(ids.has(id), `acknowledged order ${id} is missing`);
        const integrity = await machine.exec(["sqlite3", SHOP_DB, "PRAGMA integrity_check"]);
        assert.equal(integrity.stdout.trim(), "ok");
      },
    );
  } finally {
    const t0 = Date.now();
    await machine.destroy();
    t.diagnostic(`teardown: ${Date.now() - t0} ms; total ${Date.now() - started} ms`);
  }
  assert.equal(existsSync(machine.dir), false, "destroy removes the machine dir");
  assert.deepEqual(runningMachines(), [], "no machine left running");
});

test("only one machine at a time per process", { skip }, async () => {
  const machine = await bootMachine({ name: "machine-single" });
  try {
    await assert.rejects(bootMachine({ name: "machine-second" }), /only one may run/);
    await assert.rejects(machine.boot(), /already running/);
  } finally {
    await machine.destroy();
  }
  await assert.rejects(machine.boot(), /destroyed/);
});
