// `agent check` against a real machine: a healthy shop is all ok (exit 0), and each fault an
// operator meets turns the right check critical (exit 2). One machine serves every case: each
// test breaks one thing, asserts, then puts it back and proves the app healthy again.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { provisionShop, SHOP_DB, SHOP_DIR, waitForHealth } from "../machine/sample-app.js";
import { unitPids, unitProperty } from "../machine/units.js";
import { checkOf, notOk, agentCheck as runAgentCheck } from "./check-helpers.js";
import { skipUnlessRoot as skip } from "./sync-helpers.js";

const ORDER = [
  "release",
  "service",
  "processes",
  "permissions",
  "database",
  "health",
  "backups",
  "disk",
  "drift",
];

describe("agent check on a real machine", { skip }, () => {
  let machine: Machine;
  let sha = "";
  const agentCheck = (...args: string[]) => runAgentCheck(machine, ...args);

  // Shell in the machine, failing the test when the script fails.
  async function sh(script: string): Promise<string> {
    const result = await machine.sh(script);
    assert.equal(result.exitCode, 0, `${script}\n${result.stderr}`);
    return result.stdout.trim();
  }

  // Wait until the unit has 1 master + 3 workers again (gunicorn respawns workers after a beat).
  async function waitForProcesses(count = 4): Promise<number[]> {
    return machine.waitFor(
      async () => {
        const pids = await unitPids(machine, "shop.service");
        return pids.length === count ? pids : undefined;
      },
      20_000,
      { what: `${count} processes in shop.service`, intervalMs: 100 },
    );
  }

  // The unit's MainPID (the gunicorn master).
  async function mainPid(): Promise<number> {
    return Number(await unitProperty(machine, "shop.service", "MainPID"));
  }

  // --fix changed the DB first, then possibly its -wal and -shm in that order, nothing else;
  // afterwards all of them are www-data:www-data 664.
  async function assertChanges(changes: string[], line: (file: string) => string): Promise<void> {
    assert.equal(changes[0], line(SHOP_DB));
    const rest = [`${SHOP_DB}-wal`, `${SHOP_DB}-shm`].map(line);
    assert.deepEqual(
      changes.slice(1),
      rest.filter((l) => changes.includes(l)),
    );
    const modes = await sh(
      `stat -c '%U:%G %a' ${SHOP_DB} ${SHOP_DB}-wal ${SHOP_DB}-shm 2>/dev/null || true`,
    );
    for (const mode of modes.split("\n")) assert.equal(mode, "www-data:www-data 664");
  }

  // After putting a fault right: every check is ok again, so the next test starts clean.
  async function assertAllOk(): Promise<void> {
    await waitForHealth(machine, sha);
    await waitForProcesses();
    const { code, report } = await agentCheck();
    assert.equal(code, 0, notOk(report));
  }

  before(async () => {
    machine = await bootMachine({ name: "check" });
    ({ sha } = await provisionShop(machine));
    await waitForProcesses();
    // A fresh install has no backup yet, which is a warning: take one so "healthy" is all ok.
    await sh("agent backup");
  });

  after(async () => {
    await machine?.destroy();
  });

  test("a healthy app: exit 0, every check ok, in display order, --json shape", async (t) => {
    const started = Date.now();
    const { code, report } = await agentCheck();
    t.diagnostic(
      `agent check wall time ${Date.now() - started} ms, checks ${report.durationMs} ms`,
    );
    assert.equal(code, 0, notOk(report));
    assert.deepEqual(Object.keys(report).sort(), [
      "app",
      "changes",
      "checks",
      "durationMs",
      "status",
    ]);
    assert.equal(report.app, "shop");
    assert.equal(report.status, "ok");
    assert.deepEqual(report.changes, []);
    assert.equal(typeof report.durationMs, "number");
    assert.deepEqual(
      report.checks.map((c) => c.name),
      ORDER,
    );
    for (const check of report.checks) {
      assert.deepEqual(Object.keys(check).sort(), [
        "details",
        "durationMs",
        "name",
        "status",
        "summary",
      ]);
      assert.equal(check.status, "ok", `${check.name}: ${check.summary}`);
      assert.equal(typeof check.durationMs, "number");
    }
    const processes = checkOf(report, "processes");
    const pids = await unitPids(machine, "shop.service");
    const master = await mainPid();
    assert.deepEqual(processes.details.masters, [master]);
    assert.deepEqual(
      [...(processes.details.workers as number[])].sort((a, b) => a - b),
      pids.filter((p) => p !== master),
    );
    const health = checkOf(report, "health");
    assert.equal(health.details.expected, sha);
    // 20 requests (the configured count), and more rounds when a worker had not answered yet.
    const versions = health.details.versions as Record<string, number>;
    assert.deepEqual(Object.keys(versions), [sha]);
    assert.ok((versions[sha] ?? 0) >= 20, JSON.stringify(versions));
    assert.equal(versions[sha], health.details.requests);
    assert.equal(checkOf(report, "release").details.revision, sha);
  });

  test("the human output is a table with a verdict line", async () => {
    const result = await machine.exec(["agent", "check"]);
    assert.equal(result.exitCode, 0, result.stdout);
    assert.match(result.stdout, /^CHECK\s+STATUS\s+SUMMARY\n/);
    for (const name of ORDER) assert.match(result.stdout, new RegExp(`^${name}\\s+ok\\s`, "m"));
    assert.match(result.stdout, /^shop: OK in \d+ms$/m);
  });

  test("DB chmod 600: permissions critical; --fix restores 664 and says so", async () => {
    await sh(`chmod 600 ${SHOP_DB}`);
    try {
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const permissions = checkOf(report, "permissions");
      assert.equal(permissions.status, "critical");
      assert.match(
        permissions.summary,
        /shop\.db is www-data:www-data 600, expected www-data:www-data 664/,
      );

      const fixed = await agentCheck("--fix");
      assert.equal(fixed.code, 0, notOk(fixed.report));
      // SQLite creates -wal/-shm with the DB's mode, so they may need the same repair.
      await assertChanges(fixed.report.changes, (file) => `chmod 664 ${file} (was 600)`);
    } finally {
      await sh(`chmod 664 ${SHOP_DB}`);
    }
    await assertAllOk();
  });

  test("DB owned by root: permissions critical; --fix gives it back to www-data", async () => {
    await sh(`chown root:root ${SHOP_DB}`);
    try {
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const permissions = checkOf(report, "permissions");
      assert.equal(permissions.status, "critical");
      assert.match(
        permissions.summary,
        /shop\.db is root:root 664, expected www-data:www-data 664/,
      );

      const fixed = await agentCheck("--fix");
      assert.equal(fixed.code, 0, notOk(fixed.report));
      // A -wal/-shm created meanwhile by a root process got the DB's owner, so root too.
      await assertChanges(
        fixed.report.changes,
        (file) => `chown www-data:www-data ${file} (was root:root)`,
      );
    } finally {
      await sh(`chown www-data:www-data ${SHOP_DB}`);
    }
    await assertAllOk();
  });

  test("--fix refuses a DB that is a symlink, wherever it points", async () => {
    // The DB path itself becomes a symlink to a root file elsewhere: chowning "the DB" would
    // hand that file to www-data. The app is stopped so nothing writes meanwhile.
    await sh(`systemctl stop shop.service
      runuser -u www-data -- sqlite3 ${SHOP_DB} 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
      mv ${SHOP_DB} /root/shop.db.aside
      install -m 600 /dev/null /root/not-the-app
      ln -s /root/not-the-app ${SHOP_DB}`);
    try {
      const { code, report } = await agentCheck("--fix");
      assert.equal(code, 2);
      assert.deepEqual(report.changes, []);
      assert.match(
        checkOf(report, "permissions").summary,
        /shop\.db: is a symlink, expected a regular file: not followed, not fixed/,
      );
      assert.equal(await sh("stat -c '%U:%G %a' /root/not-the-app"), "root:root 600");
    } finally {
      await sh(`rm -f ${SHOP_DB} /root/not-the-app
        mv /root/shop.db.aside ${SHOP_DB}
        systemctl start shop.service`);
    }
    await assertAllOk();
  });

  test("service stopped: service, processes and health critical", async () => {
    await sh("systemctl stop shop.service");
    try {
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      assert.equal(report.status, "critical");
      const service = checkOf(report, "service");
      assert.equal(service.status, "critical");
      assert.match(service.summary, /shop\.service is inactive/);
      assert.equal(checkOf(report, "processes").status, "critical");
      assert.match(checkOf(report, "processes").summary, /no processes in shop\.service/);
      assert.equal(checkOf(report, "health").status, "critical");
      assert.match(checkOf(report, "health").summary, /20 of 20 requests failed: ECONNREFUSED/);
      assert.equal(checkOf(report, "database").status, "ok");
    } finally {
      await sh("systemctl start shop.service");
    }
    await assertAllOk();
  });

  test("a stray gunicorn outside the unit is critical; a shell in /srv/shop is not", async () => {
    // An operator's shell sitting in the app directory: not a stray.
    await sh(`systemd-run --unit=idle-shell --collect --quiet --working-directory=${SHOP_DIR} \
      bash -c 'sleep 600; true'`);
    try {
      const quiet = await agentCheck();
      assert.equal(checkOf(quiet.report, "processes").status, "ok", notOk(quiet.report));
    } finally {
      await sh("systemctl stop idle-shell.service");
    }
    // The lingering-gunicorn case: a copy of the app started from the release, outside the unit.
    await sh(`systemd-run --unit=stray --collect --quiet --uid=www-data --gid=www-data \
      --working-directory=${SHOP_DIR}/current \
      /usr/bin/gunicorn -c gunicorn.conf.py -b 127.0.0.1:8001 -w 1 app:app`);
    try {
      await machine.waitFor(
        async () =>
          (await machine.exec(["curl", "-sf", "http://127.0.0.1:8001/health"])).exitCode === 0,
        20_000,
        { what: "the stray gunicorn to answer on :8001" },
      );
      const strayPids = (await unitPids(machine, "stray.service")).sort((a, b) => a - b);
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const processes = checkOf(report, "processes");
      assert.equal(processes.status, "critical");
      assert.match(
        processes.summary,
        /^2 stray gunicorn outside shop\.service: pid \d+ \(cwd \/srv\/shop\/releases\//,
      );
      const reported = (processes.details.strays as { pid: number }[]).map((s) => s.pid);
      assert.deepEqual(
        reported.sort((a, b) => a - b),
        strayPids,
      );
    } finally {
      await sh("systemctl stop stray.service");
    }
    await assertAllOk();
  });

  test("one worker too few: processes critical, PIDs reported", async () => {
    const master = await mainPid();
    // TTOU: gunicorn's own "one worker fewer".
    await sh(`kill -TTOU ${master}`);
    try {
      await waitForProcesses(3);
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const processes = checkOf(report, "processes");
      assert.equal(processes.status, "critical");
      assert.match(
        processes.summary,
        new RegExp(
          `^1 master \\+ 2 workers, expected 1 \\+ 3 \\(master ${master}, workers \\d+ \\d+\\)$`,
        ),
      );
    } finally {
      await sh(`kill -TTIN ${master}`);
    }
    await assertAllOk();
  });

  test("a newest backup damaged after a check found it sound: backups critical", async () => {
    await sh("agent backup");
    const newest = await sh(`ls -1 ${SHOP_DIR}/backups/*.bak | sort | tail -1`);
    // Checked once (its verdict remembered by the file's identity), then overwritten in place:
    // same size, other pages. The change is seen, the file read again.
    assert.equal(checkOf((await agentCheck()).report, "backups").status, "ok");
    await sh(`dd if=/dev/urandom of=${newest} bs=4096 seek=1 count=2 conv=notrunc status=none`);
    try {
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const backups = checkOf(report, "backups");
      assert.equal(backups.status, "critical");
      assert.match(
        backups.summary,
        /newest backup shop\.db\.\d{8}T\d{9}Z\.\d+\.bak \(\d+s old\) is damaged/,
      );
    } finally {
      await sh(`rm -f ${newest}`);
    }
    await assertAllOk();
  });

  test("a missing table: database critical", async () => {
    const sql = (statement: string) =>
      sh(`runuser -u www-data -- sqlite3 -cmd '.timeout 5000' ${SHOP_DB} '${statement}'`);
    await sql("ALTER TABLE orders RENAME TO orders_old");
    try {
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const database = checkOf(report, "database");
      assert.equal(database.status, "critical");
      assert.equal(database.summary, "missing table: orders");
    } finally {
      await sql("ALTER TABLE orders_old RENAME TO orders");
    }
    await assertAllOk();
  });

  test("mixed versions across workers: health critical, the split in the summary", async () => {
    // The app reads REVISION when a worker boots. Change it, then make gunicorn replace one
    // worker: that worker reports the new revision while its two siblings keep the old one.
    const other = "0123456789abcdef0123456789abcdef01234567";
    const revisionFile = `${SHOP_DIR}/current/REVISION`;
    await sh(`printf '%s\\n' ${other} > ${revisionFile}`);
    try {
      const master = await mainPid();
      const [victim] = (await sh(`pgrep -P ${master}`)).split("\n");
      await sh(`kill -TERM ${victim}`);
      await machine.waitFor(
        async () => {
          const pids = await unitPids(machine, "shop.service");
          return pids.length === 4 && !pids.includes(Number(victim));
        },
        20_000,
        { what: "gunicorn to replace the killed worker" },
      );
      // The probe hears every worker (it goes on until each PID answered), so one check shows
      // the split: no asking twice.
      const { code, report } = await agentCheck();
      assert.equal(code, 2);
      const health = checkOf(report, "health");
      assert.equal(health.status, "critical");
      const split =
        /^mixed versions: (\d+)×([0-9a-f]{12}) (\d+)×([0-9a-f]{12}) \((\d+) requests, 3 of 3 workers heard\)$/.exec(
          health.summary,
        );
      assert.ok(split, health.summary);
      assert.deepEqual([split[2], split[4]].sort(), [other.slice(0, 12), sha.slice(0, 12)].sort());
      assert.equal(Number(split[1]) + Number(split[3]), Number(split[5]));
      assert.ok(Number(split[5]) >= 20);
    } finally {
      await sh(`printf '%s\\n' ${sha} > ${revisionFile}
        systemctl restart shop.service`);
    }
    await assertAllOk();
  });

  test("a crash systemd restarted: service warns once, then it is ok again", async () => {
    await agentCheck(); // remembers the current NRestarts
    const before = Number(await unitProperty(machine, "shop.service", "NRestarts"));
    const master = await mainPid();
    await sh(`kill -KILL ${master}`);
    await machine.waitFor(
      async () =>
        Number(await unitProperty(machine, "shop.service", "NRestarts")) === before + 1 &&
        (await mainPid()) !== master,
      20_000,
      { what: "systemd to restart shop.service" },
    );
    await waitForHealth(machine, sha);
    await waitForProcesses();
    const { code, report } = await agentCheck();
    assert.equal(code, 1, notOk(report));
    const service = checkOf(report, "service");
    assert.equal(service.status, "warning");
    assert.equal(service.summary, "shop.service restarted 1 time since the previous check");
    await assertAllOk();
  });

  test("every worker heard: five checks in a row, each hears all three by PID", async () => {
    for (let run = 0; run < 5; run++) {
      const { code, report } = await agentCheck();
      assert.equal(code, 0, notOk(report));
      const health = checkOf(report, "health");
      assert.match(health.summary, /^[0-9a-f]{12} \(\d+ requests, 3 of 3 workers heard\)$/);
      console.log(`# run ${run}: ${health.summary} in ${health.details.probeMs} ms`);
      const heard = health.details.pids as number[];
      const workers = (health.details.workers as number[]).slice().sort((a, b) => a - b);
      assert.equal(workers.length, 3);
      assert.deepEqual(heard, workers, `run ${run}`);
    }
  });

  test("a stale worker caught by its cwd: re-forked by a master in another release", async () => {
    // A copy of the live release under another name, with the same REVISION: the versions agree,
    // only the processes' working directory can tell. `current` moves to it without a restart
    // (a hand-made "git pull && ln -sfn" deploy), then a worker dies and the master re-forks it:
    // the new worker starts in the master's directory, the old release.
    // `current` as the agent writes it (relative), and the release it names.
    const live = await sh(`readlink ${SHOP_DIR}/current`);
    const liveDir = await sh(`readlink -f ${SHOP_DIR}/current`);
    const liveName = liveDir.split("/").pop() as string;
    // A name the agent could have made (a release names its commit), from a later build.
    const copyName = `20300101T000000Z-${sha.slice(0, 12)}`;
    const copy = `${SHOP_DIR}/releases/${copyName}`;
    await sh(`cp -a ${liveDir} ${copy}
      ln -sfn ${copy} ${SHOP_DIR}/current.tmp && mv -T ${SHOP_DIR}/current.tmp ${SHOP_DIR}/current`);
    try {
      const master = await mainPid();
      const [victim] = (await sh(`pgrep -P ${master}`)).split("\n");
      await sh(`kill -TERM ${victim}`);
      const [fresh] = await machine.waitFor(
        async () => {
          const pids = await unitPids(machine, "shop.service");
          const born = pids.filter((p) => p !== master && p !== Number(victim));
          return pids.length === 4 && !pids.includes(Number(victim)) ? born : undefined;
        },
        20_000,
        { what: "gunicorn to re-fork the worker" },
      );
      assert.ok(fresh);
      const { code, report } = await agentCheck();
      assert.equal(code, 2, notOk(report));
      const health = checkOf(report, "health");
      assert.equal(health.status, "critical");
      assert.match(health.summary, new RegExp(`master ${master} in ${liveName}`));
      assert.match(health.summary, new RegExp(`worker \\d+ in ${liveName}`));
      assert.match(health.summary, new RegExp(`not the live release ${copyName}`));
      const elsewhere = (health.details.elsewhere as { pid: number }[]).map((p) => p.pid);
      assert.ok(elsewhere.includes(master));
      assert.equal(elsewhere.length, 4, "the master and every worker, the re-forked one too");
    } finally {
      await sh(`ln -sfn ${live} ${SHOP_DIR}/current.tmp && mv -T ${SHOP_DIR}/current.tmp ${SHOP_DIR}/current
        rm -rf ${copy}`);
    }
    await waitForProcesses();
    await assertAllOk();
  });

  test("a wedged worker caught by its PID: it never answers", async () => {
    const master = await mainPid();
    const [wedged] = (await sh(`pgrep -P ${master}`)).split("\n");
    await sh(`kill -STOP ${wedged}`);
    try {
      const { code, report } = await agentCheck();
      assert.equal(code, 2, notOk(report));
      const health = checkOf(report, "health");
      assert.equal(health.status, "critical");
      assert.match(
        health.summary,
        new RegExp(`^worker ${wedged} never answered \\(\\d+ requests in \\d+ ms\\): wedged`),
      );
      assert.deepEqual(health.details.unheard, [Number(wedged)]);
    } finally {
      await sh(`kill -CONT ${wedged}`);
    }
    await assertAllOk();
  });

  test("checking as root leaves no root-owned -wal or -shm behind", async () => {
    // Stop the app and let its last connection remove -wal and -shm, so the check's own
    // connection is the one that has to create them.
    await sh(`systemctl stop shop.service
      runuser -u www-data -- sqlite3 ${SHOP_DB} 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
      test ! -e ${SHOP_DB}-wal && test ! -e ${SHOP_DB}-shm`);
    try {
      const { report } = await agentCheck();
      assert.equal(checkOf(report, "database").status, "ok");
      const left = await sh(`cd ${SHOP_DIR}/shared && stat -c '%n %U:%G %a' shop.db-*`);
      assert.match(left, /shop\.db-shm/, "the read-only check created no -shm: nothing proved");
      for (const line of left.split("\n")) assert.match(line, / www-data:www-data 664$/);
    } finally {
      await sh("systemctl start shop.service");
    }
    await assertAllOk();
  });
});
