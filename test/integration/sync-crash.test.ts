// Power cuts in the middle of `agent sync`: after the next boot the boot sync has brought the
// shop to one verified REVISION, the DB is intact and no row is lost. One machine, cut and
// booted again for each case; the slow moments come from hooks and the app itself, switched on
// by marker files in /tmp, which a reboot empties (so the redeploy after the boot is fast).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import {
  provisionShop,
  pushCommit,
  SHOP_DB,
  SHOP_DIR,
  type ShopConfigOverrides,
  startWriter,
} from "../machine/sample-app.js";
import {
  assertCleanBoot,
  assertNoAckedRowLost,
  assertNoDebris,
  assertServing,
  currentRelease,
  deploymentRows,
  installSyncUnit,
  migrationFiles,
  schemaAndIntegrity,
  sh,
  skipUnlessRoot,
} from "./sync-helpers.js";

const CONFIG: ShopConfigOverrides = {
  app: {
    hooks: {
      install: "if [ -e /tmp/slow-install ]; then touch /tmp/install-sleeping; sleep 120; fi",
      migrate: `DB_PATH=${SHOP_DB} /usr/bin/python3 migrate.py && if [ -e /tmp/slow-migrate ]; then touch /tmp/migrate-sleeping; sleep 120; fi`,
    },
    verify: { timeout: "40s" },
  },
};

describe("power cut during a sync", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let migration = 1;
  let appPy = "";

  before(async () => {
    machine = await bootMachine({ name: "sync-crash" });
    await provisionShop(machine, { config: CONFIG });
    await installSyncUnit(machine);
    appPy = await machine.readFile("/opt/deploy-agent/test/fixtures/sample-app/app.py");
  });
  after(async () => {
    await machine?.destroy();
  });

  // Start `agent sync`, cut the power once `ready` holds, boot again; the boot sync runs.
  async function cutWhen(
    what: string,
    ready: () => Promise<boolean>,
    atCut: () => Promise<void> = async () => {},
  ): Promise<void> {
    const sync = machine.exec(["agent", "sync"], { timeoutMs: 300_000 });
    let finished = false;
    void sync.then(() => {
      finished = true;
    });
    // A sync that ends first fails the test at once: waitFor takes a throw for "not yet".
    const seen = await machine.waitFor(
      async () => (finished ? "finished" : (await ready()) ? "ready" : undefined),
      60_000,
      { what, intervalMs: 50 },
    );
    if (seen === "finished")
      throw new Error(`sync finished before ${what}: ${JSON.stringify(await sync)}`);
    await atCut();
    await machine.powerCut();
    await sync.catch(() => undefined);
    await machine.boot();
  }

  const exists = async (file: string) => (await machine.exec(["test", "-e", file])).exitCode === 0;

  // What the boot sync logged in this boot (pino JSON lines).
  async function bootSyncLog(): Promise<string> {
    return machine.journal("deploy-agent-sync.service", { currentBoot: true });
  }

  // The deployment the power cut interrupted, as recovery closed it.
  async function interrupted(step: string) {
    const row = (await deploymentRows(machine)).find((r) =>
      r.error.includes(`interrupted at ${step}`),
    );
    assert.ok(
      row,
      `no deployment interrupted at ${step}: ${JSON.stringify(await deploymentRows(machine))}`,
    );
    return row;
  }

  test("cut while building (slow install hook): the old release served, then the new one deploys at boot", async () => {
    const writer = await startWriter(machine, { ratePerSec: 20 });
    await sh(machine, "touch /tmp/slow-install");
    const sha = await pushCommit(machine, {
      message: "build cut",
      files: { "CHANGES.txt": "build cut\n" },
    });
    await cutWhen("the install hook to sleep", async () => exists("/tmp/install-sleeping"));
    await assertCleanBoot(machine);
    const log = await bootSyncLog();
    assert.match(log, /"plan":"nothing"/, log);
    assert.match(log, /removed debris of an interrupted run/, log);
    await assertServing(machine, sha);
    assert.equal((await interrupted("build")).outcome, "failed");
    assert.equal((await deploymentRows(machine))[0]?.outcome, "deployed");
    const report = await writer.stop();
    assert.ok(report.count > 0);
    await assertNoAckedRowLost(machine, report.ids);
    assert.equal((await schemaAndIntegrity(machine)).integrity, "ok");
    await assertNoDebris(machine);
  });

  test("cut right after switch, mid-migrate: DB restored, old release back, then the new one deploys", async () => {
    const writer = await startWriter(machine, { ratePerSec: 20 });
    await sh(machine, "touch /tmp/slow-migrate");
    migration++;
    const table = `cut_${migration}`;
    const files = migrationFiles(migration, `CREATE TABLE ${table} (id INTEGER PRIMARY KEY);`);
    const sha = await pushCommit(machine, { message: "migrate cut", files });
    // Cut with `current` on the new release and the DB migrated: the mixture recovery must undo.
    await cutWhen(
      "the migrate hook to sleep",
      async () => exists("/tmp/migrate-sleeping"),
      async () => {
        assert.match(await currentRelease(machine), new RegExp(`${sha.slice(0, 12)}$`));
        assert.match((await schemaAndIntegrity(machine)).schema, new RegExp(table));
      },
    );
    await assertCleanBoot(machine);
    const log = await bootSyncLog();
    assert.match(log, /"plan":"back"/, log);
    assert.match(log, /DB restored from shop\.db\.\d{8}T\d{9}Z\.\d+\.bak/, log);
    await assertServing(machine, sha);
    assert.equal((await interrupted("migrate")).outcome, "rolled-back");
    const report = await writer.stop();
    await assertNoAckedRowLost(machine, report.ids);
    const { integrity, schema } = await schemaAndIntegrity(machine);
    assert.equal(integrity, "ok");
    assert.match(schema, new RegExp(`CREATE TABLE ${table}`));
    const applied = await sh(
      machine,
      `sqlite3 ${SHOP_DB} "SELECT count(*) FROM schema_migrations WHERE version = '${String(migration).padStart(3, "0")}'"`,
    );
    assert.equal(applied, "1");
    await assertNoDebris(machine);
  });

  test("cut during verify (slow app start): the started release is verified and kept", async () => {
    const writer = await startWriter(machine, { ratePerSec: 20 });
    await sh(machine, "touch /tmp/slow-start");
    migration++;
    // Workers import the app slowly while /tmp/slow-start exists: verify polls for seconds.
    const slow = `import os, time\nif os.path.exists("/tmp/slow-start"):\n    time.sleep(8)\n${appPy}`;
    const files = {
      ...migrationFiles(migration, `CREATE TABLE verify_${migration} (id INTEGER);`),
      "app.py": slow,
    };
    const sha = await pushCommit(machine, { message: "verify cut", files });
    const step = async () =>
      (await sh(
        machine,
        `sqlite3 /var/lib/deploy-agent/state.db "SELECT step FROM deployments WHERE outcome = 'running'"`,
      )) === "verify";
    await cutWhen("the sync to reach verify", step);
    await assertCleanBoot(machine);
    const log = await bootSyncLog();
    if (!/"plan":"forward"/.test(log)) {
      // Seen once: recovery found the run at "stop" though "verify" had been read before the
      // cut. Which step rows the state DB kept tells a lost commit from a misread one.
      const steps = await sh(
        machine,
        `sqlite3 /var/lib/deploy-agent/state.db "SELECT deployment_id, step, outcome FROM deployment_steps ORDER BY id DESC LIMIT 20"`,
      );
      assert.fail(`no "plan":"forward" in the boot sync's log; steps recorded:\n${steps}\n${log}`);
    }
    await assertServing(machine, sha);
    assert.equal((await interrupted("verify")).outcome, "deployed");
    assert.match(await currentRelease(machine), new RegExp(`${sha.slice(0, 12)}$`));
    const report = await writer.stop();
    await assertNoAckedRowLost(machine, report.ids);
    assert.equal((await schemaAndIntegrity(machine)).integrity, "ok");
    await assertNoDebris(machine);
    const releases = await sh(machine, `ls ${SHOP_DIR}/releases | grep -c ${sha.slice(0, 12)}`);
    assert.equal(releases, "1", "the release was built again instead of kept");
  });

  // Freeze a process the moment `condition` (a shell test) holds, from a tight loop inside the
  // machine: the moments below last milliseconds, too short to catch by polling from outside.
  const freezeWhen =
    (condition: string, ...pgreps: string[]) =>
    async () => {
      const stops = pgreps.map((pattern) => `pkill -STOP -f "${pattern}"`).join("; ");
      await sh(machine, `timeout 60 bash -c 'until ${condition}; do :; done; ${stops}'`);
      return true;
    };

  test("cut during the pre-copy (the app serving): nothing to undo, the copy is swept, then the new one deploys", async () => {
    // About 250 MB, so the copy lasts long enough (most of a second) to be caught in the middle.
    await sh(
      machine,
      `runuser -u www-data -- sqlite3 ${SHOP_DB} "CREATE TABLE IF NOT EXISTS bulk (payload BLOB);
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250000)
       INSERT INTO bulk SELECT zeroblob(1000) FROM n; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null`,
    );
    const writer = await startWriter(machine, { ratePerSec: 20 });
    const sha = await pushCommit(machine, {
      message: "precopy cut",
      files: { "CHANGES.txt": "precopy cut\n" },
    });
    // The agent and the sqlite3 shell holding the snapshot, frozen the moment the shell appears:
    // the deploy stays in "precopy". (Freezing the shell alone raced: a copy that had already
    // finished let the agent go on to the stop before the cut.)
    const holder = `^sqlite3 -readonly -batch -bail -noheader -list -init /dev/null ${SHOP_DB}$`;
    await cutWhen(
      "the pre-copy to begin",
      freezeWhen(`pgrep -f "${holder}" >/dev/null`, "[a]gent.js sync", holder),
      async () => {
        const step = await sh(
          machine,
          `sqlite3 /var/lib/deploy-agent/state.db "SELECT step FROM deployments WHERE outcome = 'running'"`,
        );
        assert.equal(step, "precopy");
        // A pre-copy under way: its staging directory (the shell copying), or root's copy (being
        // copied or checked).
        assert.match(
          await sh(
            machine,
            `ls -d ${SHOP_DIR}/.staging/*/ 2>/dev/null || true; ls -a ${SHOP_DIR}/backups/`,
          ),
          /\.staging\/\d+-[0-9a-f]+\/|\.tmp-shop\.db-/,
        );
      },
    );
    await assertCleanBoot(machine);
    const log = await bootSyncLog();
    assert.match(log, /"plan":"nothing"/, log);
    await assertServing(machine, sha);
    assert.equal((await interrupted("precopy")).outcome, "failed");
    const report = await writer.stop();
    await assertNoAckedRowLost(machine, report.ids);
    assert.equal((await schemaAndIntegrity(machine)).integrity, "ok");
    await assertNoDebris(machine);
  });

  test("cut while the copy is brought up to date (the app stopped): the old release back, then the new one deploys", async () => {
    // A writer a failed case before this one left running would hold the unit's name.
    await machine.exec(["systemctl", "stop", "shop-writer.service"]);
    const writer = await startWriter(machine, { ratePerSec: 20 });
    const sha = await pushCommit(machine, {
      message: "delta cut",
      files: { "CHANGES.txt": "delta cut\n" },
    });
    // The agent frozen as it copies the -wal beside the pre-copy, the app stopped (the app's -wal
    // has frames; reading the pre-copy, earlier, leaves only an empty one for a moment).
    await cutWhen(
      "the -wal to be copied after the stop",
      freezeWhen(
        `( for f in ${SHOP_DIR}/backups/.tmp-*-wal; do [ -s "$f" ] && exit 0; done; exit 1 )`,
        "[a]gent.js sync",
      ),
      async () => {
        assert.equal(await sh(machine, "systemctl is-active shop.service || true"), "inactive");
      },
    );
    await assertCleanBoot(machine);
    const log = await bootSyncLog();
    assert.match(log, /"plan":"back"/, log);
    await assertServing(machine, sha);
    assert.equal((await interrupted("backup")).outcome, "rolled-back");
    const report = await writer.stop();
    assert.ok(report.count > 0);
    await assertNoAckedRowLost(machine, report.ids);
    assert.equal((await schemaAndIntegrity(machine)).integrity, "ok");
    await assertNoDebris(machine);
    // The boot deploy's own backup is whole and sound.
    const newest = await sh(machine, `ls -1 ${SHOP_DIR}/backups/*.bak | sort -t. -k4 -n | tail -1`);
    assert.equal(await sh(machine, `sqlite3 -readonly ${newest} "PRAGMA quick_check"`), "ok");
  });
});
