// A deploy behind a socket unit: systemd keeps the listening socket, so clients queue while the
// service is replaced, and the start hold keeps their traffic from re-activating the app between
// the stop and the start: a request sent mid-migration is answered by the new release.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { provisionShop, pushCommit, SHOP_DB, startWriter } from "../machine/sample-app.js";
import { enableShopSocket, SHOP_SOCKET_APP_CONFIG } from "../machine/shop-socket.js";
import { unitPids, unitProperty } from "../machine/units.js";
import {
  assertNoAckedRowLost,
  assertServing,
  explain,
  migrationFiles,
  sh,
  skipUnlessRoot,
} from "./sync-helpers.js";

describe("sync with socket activation", { skip: skipUnlessRoot }, () => {
  let machine: Machine;

  before(async () => {
    machine = await bootMachine({ name: "sync-socket" });
    const { sha } = await provisionShop(machine, {
      config: {
        app: {
          ...SHOP_SOCKET_APP_CONFIG,
          hooks: {
            migrate: `DB_PATH=${SHOP_DB} /usr/bin/python3 migrate.py && if [ -e /tmp/slow-migrate ]; then touch /tmp/migrating; sleep 4; fi`,
          },
        },
      },
    });
    await enableShopSocket(machine, sha);
  });
  after(async () => {
    await machine?.destroy();
  });

  test("clients queue instead of being refused; a request mid-migration gets the new release", async () => {
    const writer = await startWriter(machine, { ratePerSec: 20 });
    let sha = "";
    try {
      await sh(machine, "touch /tmp/slow-migrate");
      sha = await pushCommit(machine, {
        message: "behind a socket",
        files: migrationFiles(2, "CREATE TABLE socketed (id INTEGER);"),
      });
      const sync = machine.exec(["agent", "sync"], { timeoutMs: 120_000 });
      await machine.waitFor(
        async () => (await machine.exec(["test", "-e", "/tmp/migrating"])).exitCode === 0,
        60_000,
        { what: "the migrate hook", intervalMs: 50 },
      );
      // Traffic now would re-activate the service: the hold keeps it waiting in ExecStartPre.
      const probe = machine.exec([
        "curl",
        "-sf",
        "--max-time",
        "30",
        "http://127.0.0.1:8000/health",
      ]);
      await machine.waitFor(
        async () => (await unitProperty(machine, "shop.service", "SubState")) === "start-pre",
        5000,
        { what: "the socket-activated start to wait in the hold", intervalMs: 50 },
      );
      assert.equal(await unitProperty(machine, "shop.service", "MainPID"), "0");
      assert.ok(
        (await unitPids(machine, "shop.service")).length <= 2,
        "gunicorn started under the hold",
      );
      const run = await sync;
      assert.equal(
        run.exitCode,
        0,
        explain({ code: run.exitCode, stdout: run.stdout, stderr: run.stderr, ms: 0 }),
      );
      const answer = await probe;
      assert.equal(answer.exitCode, 0, answer.stderr);
      assert.equal((JSON.parse(answer.stdout) as { version: string }).version, sha);
      await assertServing(machine, sha);
    } finally {
      await machine.exec(["rm", "-f", "/tmp/slow-migrate", "/tmp/migrating"]);
      const report = await writer.stop();
      await assertNoAckedRowLost(machine, report.ids);
    }
    const failures = await sh(machine, "cat /var/lib/shop-writer/failed.log || true");
    assert.doesNotMatch(failures, /Connection ?Refused/i, failures);
  });
});
