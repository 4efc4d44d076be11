// `agent sync` on a real machine: real systemd, gunicorn, git remote and SQLite in WAL mode.
// One machine serves every case, in order; each leaves the shop healthy on a known commit.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import {
  AGENT_CONFIG_PATH,
  provisionShop,
  pushCommit,
  SHOP_DIR,
  type ShopConfigOverrides,
  shopConfigYaml,
  startWriter,
} from "../machine/sample-app.js";
import { unitProperty } from "../machine/units.js";
import {
  agent,
  assertNoAckedRowLost,
  assertServing,
  currentRelease,
  explain,
  listDir,
  migrationFiles,
  orderIds,
  schemaAndIntegrity,
  sh,
  skipUnlessRoot,
} from "./sync-helpers.js";

// Short verify and fetch budgets keep the failing cases quick; the rest is DESIGN.md's example.
const CONFIG: ShopConfigOverrides = {
  app: { verify: { timeout: "15s" }, repo: { fetch_timeout: "20s" } },
};

describe("agent sync on a real machine", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let live = "";
  let migration = 1;

  before(async () => {
    machine = await bootMachine({ name: "sync" });
    live = (await provisionShop(machine, { config: CONFIG })).sha;
  });
  after(async () => {
    await machine?.destroy();
  });

  // Write agent.yaml with these overrides on top of the test defaults.
  async function configure(app: ShopConfigOverrides["app"] = {}): Promise<void> {
    const merged = { app: { ...CONFIG.app, ...app } };
    await machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(merged), 0o644);
  }

  test("a no-op sync is one fetch and nothing else, in under a second", async () => {
    const pid = await unitProperty(machine, "shop.service", "MainPID");
    const releases = await listDir(machine, `${SHOP_DIR}/releases`);
    await agent(machine, ["sync"]); // warm the page cache: the claim is about a warm host
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, new RegExp(`${live.slice(0, 12)} \\(main\\) is live`));
    assert.ok(run.ms < 1000, `no-op sync took ${run.ms} ms`);
    assert.equal(await unitProperty(machine, "shop.service", "MainPID"), pid, "service restarted");
    assert.deepEqual(await listDir(machine, `${SHOP_DIR}/releases`), releases);
  });

  test("five deploys in a row with a writer running: all on the new REVISION, no row lost", async () => {
    const writer = await startWriter(machine, { ratePerSec: 20 });
    try {
      for (let i = 0; i < 5; i++) {
        migration++;
        const sql = `CREATE TABLE deploy_${migration} (id INTEGER PRIMARY KEY);`;
        const sha = await pushCommit(machine, {
          message: `deploy ${i}`,
          files: migrationFiles(migration, sql),
        });
        const run = await agent(machine, ["sync"]);
        assert.equal(run.code, 0, explain(run));
        for (const step of [
          "fetch",
          "build",
          "precopy",
          "stop",
          "backup",
          "switch",
          "migrate",
          "start",
          "verify",
        ]) {
          assert.match(
            run.stdout,
            new RegExp(`^  ${step} .* ok`, "m"),
            `no ${step} line:\n${run.stdout}`,
          );
        }
        await assertServing(machine, sha);
        live = sha;
      }
    } finally {
      const report = await writer.stop();
      assert.ok(report.count > 50, `writer acknowledged only ${report.count} writes`);
      await assertNoAckedRowLost(machine, report.ids);
    }
    const backups = (await listDir(machine, `${SHOP_DIR}/backups`)).filter((n) =>
      n.endsWith(".bak"),
    );
    assert.equal(backups.length, 3, `backups: ${backups.join(" ")}`);
    for (const name of backups) {
      const { integrity } = await schemaAndIntegrity(machine, `${SHOP_DIR}/backups/${name}`);
      assert.equal(integrity, "ok", name);
    }
    // Provisioned release + 5 deploys, pruned to releases.keep = 5; no temporary debris.
    const releases = await listDir(machine, `${SHOP_DIR}/releases`);
    assert.equal(releases.length, 5, releases.join(" "));
    assert.ok(
      releases.every((n) => /^\d{8}T\d{6}Z-[0-9a-f]{12}$/.test(n)),
      releases.join(" "),
    );
    assert.match(
      await currentRelease(machine),
      new RegExp(`^releases/\\d{8}T\\d{6}Z-${live.slice(0, 12)}$`),
    );
  });

  test("a failing migration while clients write: exit 1, old release, schema and writes kept", async () => {
    const before = await schemaAndIntegrity(machine);
    const writer = await startWriter(machine, { ratePerSec: 20 });
    let bad = "";
    try {
      // A good migration that commits, then a bad one: the DB is changed when the hook fails,
      // so only a restore brings the schema back.
      const good = migrationFiles(++migration, "CREATE TABLE committed_first (id INTEGER);");
      const sql = "CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);";
      const failing = migrationFiles(++migration, sql);
      bad = await pushCommit(machine, {
        message: "bad migration",
        files: { ...good, ...failing },
      });
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 1, explain(run));
      assert.match(
        run.stdout,
        new RegExp(`migrate failed for shop at ${bad.slice(0, 12)}: exit 1`),
      );
      assert.match(run.stdout, /^ {2}rollback .* ok/m, run.stdout);
      await assertServing(machine, live);
    } finally {
      const report = await writer.stop();
      await assertNoAckedRowLost(machine, report.ids);
    }
    const afterwards = await schemaAndIntegrity(machine);
    assert.equal(afterwards.integrity, "ok");
    assert.equal(afterwards.schema, before.schema, "the schema changed");

    // The next good commit (the bad migration replaced) deploys.
    const fixed = await pushCommit(machine, {
      message: "fix migration",
      files: migrationFiles(migration, "CREATE TABLE fixed (id INTEGER PRIMARY KEY);"),
    });
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertServing(machine, fixed);
    assert.match(
      (await schemaAndIntegrity(machine)).schema,
      /committed_first[\s\S]*fixed|fixed[\s\S]*committed_first/,
    );
    live = fixed;
  });

  test("verify fails after a good migration: rolled back, the failed release's DB kept aside", async () => {
    // Every worker answers /health with a version that is not the release's REVISION.
    const original = await machine.readFile("/opt/deploy-agent/test/fixtures/sample-app/app.py");
    const broken = `${original}\nREVISION = "not-the-revision"\n`;
    migration++;
    const sha = await pushCommit(machine, {
      message: "healthy migration, broken health",
      files: {
        ...migrationFiles(migration, "CREATE TABLE doomed (id INTEGER);"),
        "app.py": broken,
      },
    });
    const writer = await startWriter(machine, { ratePerSec: 20 });
    let acked: number[] = [];
    try {
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 1, explain(run));
      assert.match(run.stdout, new RegExp(`verify failed for shop at ${sha.slice(0, 12)}`));
      assert.match(run.stdout, /kept the failed release's DB as shop\.db\.failed-/);
      await assertServing(machine, live);
    } finally {
      acked = (await writer.stop()).ids;
    }
    const { schema } = await schemaAndIntegrity(machine);
    assert.doesNotMatch(schema, /doomed/, "the DB was not restored");
    const kept = (await listDir(machine, `${SHOP_DIR}/backups`)).filter((n) =>
      n.includes(".failed-"),
    );
    assert.equal(kept.length, 1, kept.join(" "));
    // No write is destroyed: each acknowledged order is in the live DB or in the kept copy.
    const copy = `${SHOP_DIR}/backups/${kept[0]}`;
    assert.match((await schemaAndIntegrity(machine, copy)).schema, /doomed/);
    const inCopy = await sh(
      machine,
      `python3 -c 'import sqlite3; [print(i) for (i,) in sqlite3.connect("${copy}").execute("SELECT id FROM orders")]'`,
    );
    const present = new Set([...(await orderIds(machine)), ...inCopy.split("\n").map(Number)]);
    assert.deepEqual(
      acked.filter((id) => !present.has(id)),
      [],
    );
    // Put a healthy commit on top for the next cases.
    live = await pushCommit(machine, { message: "restore health", files: { "app.py": original } });
    assert.equal((await agent(machine, ["sync"])).code, 0);
    await assertServing(machine, live);
  });

  test("three concurrent syncs: one deploys, two exit 75 naming the holder", async () => {
    const sha = await pushCommit(machine, {
      message: "concurrent",
      files: { "CHANGES.txt": "concurrent\n" },
    });
    const runs = await Promise.all([1, 2, 3].map(() => agent(machine, ["sync"])));
    const codes = runs.map((r) => r.code).sort((a, b) => a - b);
    assert.deepEqual(codes, [0, 75, 75], runs.map(explain).join("\n"));
    for (const run of runs.filter((r) => r.code === 75)) {
      assert.match(run.stderr, /shop is locked by sync \(pid \d+, since \d{4}-\d\d-\d\dT/);
      assert.ok(run.ms < 3000, `a locked-out sync took ${run.ms} ms`);
    }
    await assertServing(machine, sha);
    live = sha;
  });

  test("remote gone: bounded time, exit 1 (0 with --boot), the app untouched", async () => {
    await configure({ repo: { url: "/srv/git/gone.git", fetch_timeout: "4s" } });
    const pid = await unitProperty(machine, "shop.service", "MainPID");
    try {
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 1, explain(run));
      assert.match(run.stdout, /fetch failed for shop: .*does not appear to be a git repository/);
      assert.match(run.stdout, /the live release keeps running/);
      assert.ok(run.ms < 8000, `took ${run.ms} ms`);
      const boot = await agent(machine, ["sync", "--all", "--boot"]);
      assert.equal(boot.code, 0, explain(boot));
      assert.equal(await unitProperty(machine, "shop.service", "MainPID"), pid);
      await assertServing(machine, live);
    } finally {
      await configure();
    }
  });

  test("remote hanging: the fetch is cut at fetch_timeout, no git left behind", async () => {
    // A server that accepts connections and never answers: git waits on the socket forever.
    await sh(
      machine,
      `systemd-run --unit=blackhole --collect --quiet /usr/bin/python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9418)); s.listen(16); time.sleep(3600)'`,
    );
    await configure({ repo: { url: "git://127.0.0.1:9418/shop.git", fetch_timeout: "3s" } });
    const pid = await unitProperty(machine, "shop.service", "MainPID");
    try {
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 1, explain(run));
      assert.match(run.stdout, /no answer within 3s/);
      assert.ok(run.ms >= 3000 && run.ms < 7000, `took ${run.ms} ms`);
      // Anchored, so the pattern does not match the pgrep command line itself.
      const leftovers = await machine.exec(["pgrep", "-af", "^git "]);
      assert.equal(leftovers.stdout.trim(), "", "a git fetch survived");
      assert.equal(await unitProperty(machine, "shop.service", "MainPID"), pid);
    } finally {
      await machine.exec(["systemctl", "stop", "blackhole"]);
      await configure();
    }
  });
});
