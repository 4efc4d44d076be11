// `agent rollback`, `agent restore`, `agent status`, `agent history` and the drift check on a
// real machine. One machine, cases in order: two migrating deploys, then back and forth.
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
import { agentCheck, checkOf, notOk } from "./check-helpers.js";
import {
  agent,
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

interface StatusJson {
  apps: {
    app: string;
    live: { release: string; revision: string } | null;
    service: { active: string; processes: number };
    lock: unknown;
    held: boolean;
    lastDeployment: { trigger: string; outcome: string } | null;
  }[];
}

interface HistoryJson {
  apps: {
    app: string;
    deployments: {
      trigger: string;
      outcome: string;
      revision: string;
      steps: { step: string; outcome: string; durationMs: number }[];
    }[];
    checks: { status: string }[];
  }[];
}

const CONFIG: ShopConfigOverrides = { app: { verify: { timeout: "15s" } } };

describe("rollback, restore, status, history, drift", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let shaA = "";
  let shaB = "";
  let acked: number[] = [];

  before(async () => {
    machine = await bootMachine({ name: "sync-commands" });
    await provisionShop(machine, { config: CONFIG });
    shaA = await pushCommit(machine, {
      message: "A",
      files: migrationFiles(2, "CREATE TABLE a_table (id INTEGER);"),
    });
    assert.equal((await agent(machine, ["sync"])).code, 0);
    const writer = await startWriter(machine, { ratePerSec: 20 });
    try {
      shaB = await pushCommit(machine, {
        message: "B",
        files: migrationFiles(3, "CREATE TABLE b_table (id INTEGER);"),
      });
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 0, explain(run));
    } finally {
      acked = (await writer.stop()).ids;
    }
  });
  after(async () => {
    await machine?.destroy();
  });

  // Order ids in a DB file other than the live one (a kept copy).
  async function idsIn(file: string): Promise<number[]> {
    const out = await sh(machine, `sqlite3 ${file} "SELECT id FROM orders"`);
    return out.split("\n").filter(Boolean).map(Number);
  }

  test("drift: live behind the fetched branch head is a warning with the count", async () => {
    // Fetch a newer head into repo/ without deploying it, as a failed deploy would leave it.
    const newer = await pushCommit(machine, {
      message: "not deployed",
      files: { "CHANGES.txt": "later\n" },
    });
    await sh(
      machine,
      `git --git-dir=${SHOP_DIR}/repo fetch -q /srv/git/shop.git +refs/heads/main:refs/heads/main`,
    );
    const run = await agent(machine, ["check", "--json"]);
    const drift = (
      JSON.parse(run.stdout) as {
        checks: { name: string; status: string; summary: string; details: { behind?: number } }[];
      }
    ).checks.find((c) => c.name === "drift");
    assert.ok(drift, run.stdout);
    assert.equal(drift.status, "warning", drift.summary);
    assert.equal(drift.details.behind, 1);
    assert.match(
      drift.summary,
      new RegExp(`${shaB.slice(0, 12)} is 1 commit behind main \\(${newer.slice(0, 12)}\\)`),
    );
  });

  test("rollback: the previous release and the DB it left; the newer DB kept aside", async () => {
    const run = await agent(machine, ["rollback"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(
      run.stdout,
      new RegExp(`rolling back to ${shaA.slice(0, 12)} .* from ${shaB.slice(0, 12)}`),
    );
    assert.match(
      run.stdout,
      /^ {2}rollback .* ok +DB restored from shop\.db\.\d{8}T\d{9}Z\.\d+\.bak/m,
    );
    await assertServing(machine, shaA);
    const { schema, integrity } = await schemaAndIntegrity(machine);
    assert.equal(integrity, "ok");
    assert.match(schema, /a_table/);
    assert.doesNotMatch(schema, /b_table/);
    const kept = (await listDir(machine, `${SHOP_DIR}/backups`)).filter((n) =>
      n.includes(".rollback-"),
    );
    assert.equal(kept.length, 1, kept.join(" "));
    const copy = `${SHOP_DIR}/backups/${kept[0]}`;
    assert.match((await schemaAndIntegrity(machine, copy)).schema, /b_table/);
    // Nothing destroyed: every acknowledged write is in the live DB or in the kept copy.
    const present = new Set([...(await orderIds(machine)), ...(await idsIn(copy))]);
    assert.deepEqual(
      acked.filter((id) => !present.has(id)),
      [],
    );
  });

  test("rollback --to an unknown release: usage error, nothing touched", async () => {
    const pid = await unitProperty(machine, "shop.service", "MainPID");
    const run = await agent(machine, ["rollback", "--to", "20990101T000000Z-000000000000"]);
    assert.equal(run.code, 64, explain(run));
    assert.match(run.stderr, /no release 20990101T000000Z-000000000000/);
    assert.equal(await unitProperty(machine, "shop.service", "MainPID"), pid);
  });

  test("restore: the newest backup goes back, the DB it replaces is kept", async () => {
    const posted = JSON.parse(
      await sh(
        machine,
        `curl -sf -X POST -H 'Content-Type: application/json' -d '{"item":"after-rollback"}' http://127.0.0.1:8000/orders`,
      ),
    ) as { id: number };
    const run = await agent(machine, ["restore"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, /restoring shop\.db from shop\.db\.\d{8}T\d{9}Z\.\d+\.bak/);
    await assertServing(machine, shaA);
    assert.equal(
      (await orderIds(machine)).has(posted.id),
      false,
      "the backup should predate the order",
    );
    const replaced = (await listDir(machine, `${SHOP_DIR}/backups`)).filter((n) =>
      n.includes(".replaced-"),
    );
    assert.equal(replaced.length, 1);
    assert.ok((await idsIn(`${SHOP_DIR}/backups/${replaced[0]}`)).includes(posted.id));
    assert.equal((await schemaAndIntegrity(machine)).integrity, "ok");
  });

  test("status --json: live release, running service, last deployment", async () => {
    const run = await agent(machine, ["status", "--json"]);
    assert.equal(run.code, 0, explain(run));
    const [shop] = (JSON.parse(run.stdout) as StatusJson).apps;
    assert.ok(shop);
    assert.equal(shop.live?.revision, shaA);
    assert.equal(shop.service.active, "active");
    assert.equal(shop.service.processes, 4);
    assert.equal(shop.lock, null);
    assert.equal(shop.held, false);
    assert.deepEqual(
      shop.lastDeployment && [shop.lastDeployment.trigger, shop.lastDeployment.outcome],
      ["restore", "deployed"],
    );
    const text = await agent(machine, ["status"]);
    assert.match(
      text.stdout,
      new RegExp(`^ {2}live +\\d{8}T\\d{6}Z-${shaA.slice(0, 12)} since `, "m"),
    );
  });

  test("history: deployments newest first with each step's duration, and check runs", async () => {
    const run = await agent(machine, ["history", "--json", "--limit", "3", "--since", "1h"]);
    assert.equal(run.code, 0, explain(run));
    const [shop] = (JSON.parse(run.stdout) as HistoryJson).apps;
    assert.ok(shop);
    assert.deepEqual(
      shop.deployments.map((d) => [d.trigger, d.outcome]),
      [
        ["restore", "deployed"],
        ["rollback", "deployed"],
        ["cli", "deployed"],
      ],
    );
    assert.deepEqual(
      shop.deployments[1]?.steps.map((s) => `${s.step} ${s.outcome}`),
      ["stop ok", "backup ok", "rollback ok", "switch ok", "start ok", "verify ok"],
    );
    const sync = shop.deployments[2];
    assert.equal(sync?.revision, shaB);
    assert.deepEqual(
      sync?.steps.map((s) => s.step),
      ["fetch", "build", "precopy", "stop", "backup", "switch", "migrate", "start", "verify"],
    );
    assert.ok(sync?.steps.every((s) => typeof s.durationMs === "number" && s.outcome === "ok"));
    assert.ok(shop.checks.length >= 1, "the check run of the drift test is listed");
    const text = await agent(machine, ["history"]);
    assert.match(text.stdout, /^ {2}#\d+ .* rollback .* deployed/m);
    assert.match(text.stdout, /fetch \S+ ok · build \S+ ok · precopy \S+ ok · stop/);
  });

  test("sync --ref deploys the named commit; a plain sync then goes back to the branch head", async () => {
    const run = await agent(machine, ["sync", "--ref", shaB]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, new RegExp(`deploying ${shaB.slice(0, 12)} \\(${shaB}\\)`));
    await assertServing(machine, shaB);
    const head = (
      await sh(machine, "git --git-dir=/srv/git/shop.git rev-parse refs/heads/main")
    ).trim();
    assert.notEqual(head, shaB);
    const back = await agent(machine, ["sync"]);
    assert.equal(back.code, 0, explain(back));
    await assertServing(machine, head);
  });

  test("a deploy right after the app used up systemd's start limit still starts it", async () => {
    // Restart until systemd refuses: the app is down, "start-limit-hit". A runtime drop-in makes
    // the limit 3 starts in 5 minutes, so a loaded machine (a restart taking over 2 s) still hits
    // it, which the default 5 in 10 s did not always.
    const dropIn = "/run/systemd/system/shop.service.d/test-start-limit.conf";
    await machine.writeFile(
      dropIn,
      "[Unit]\nStartLimitIntervalSec=5min\nStartLimitBurst=3\n",
      0o644,
    );
    try {
      await sh(
        machine,
        'systemctl daemon-reload; for i in $(seq 10); do systemctl restart shop.service 2>/dev/null || break; done; test "$(systemctl show -P Result shop.service)" = start-limit-hit',
      );
      const run = await agent(machine, ["sync", "--ref", shaB]);
      assert.equal(run.code, 0, explain(run));
      assert.match(
        run.stderr,
        /shop\.service hit its start limit: resetting it and starting again/,
      );
      await assertServing(machine, shaB);
    } finally {
      await sh(machine, `rm -f ${dropIn}; systemctl daemon-reload`);
    }
  });

  // Last: it leaves releases/ as Capistrano would have, and prunes with releases.keep = 2.
  test("Capistrano releases (releases/YYYYmmddHHMMSS, absolute current): checked, synced from, rolled back to, pruned", async () => {
    const cap = "20240101123456";
    const older = ["20231201090000", "20231215090000"];
    const capDir = `${SHOP_DIR}/releases/${cap}`;
    const live = (await currentRelease(machine)).replace(/^releases\//, "");
    const sha = await sh(machine, `cat ${SHOP_DIR}/releases/${live}/REVISION`);
    // Copies of the live release as Capistrano makes them (cp -a keeps the .env link), the app
    // user's like the agent's releases; `current` swapped to the newest atomically, absolute.
    await sh(
      machine,
      `set -e
       for r in ${[...older, cap].join(" ")}; do
         cp -a ${SHOP_DIR}/releases/${live} ${SHOP_DIR}/releases/$r
         printf '%s\\n' ${sha} > ${SHOP_DIR}/releases/$r/REVISION
         chown -hR www-data:www-data ${SHOP_DIR}/releases/$r
       done
       ln -sfn ${capDir} ${SHOP_DIR}/current.cap
       mv -T ${SHOP_DIR}/current.cap ${SHOP_DIR}/current
       systemctl restart shop.service`,
    );
    await assertServing(machine, sha);
    // As an app Capistrano deployed: none of the agent's releases or records.
    await sh(
      machine,
      `cd ${SHOP_DIR}/releases && for r in *T*Z-*; do rm -rf "$r" "${SHOP_DIR}/.revisions/$r"; done`,
    );
    assert.deepEqual(await listDir(machine, `${SHOP_DIR}/releases`), [...older, cap]);
    const { report } = await agentCheck(machine);
    const release = checkOf(report, "release");
    assert.equal(release.status, "ok", release.summary);
    assert.equal(release.summary, cap);
    assert.equal(release.details.target, capDir);
    assert.equal(release.details.revision, sha);
    assert.equal(checkOf(report, "health").status, "ok", notOk(report));

    const keepTwo = { app: { ...CONFIG.app, releases: { keep: 2 } } };
    await machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(keepTwo), 0o644);
    try {
      const next = await pushCommit(machine, {
        message: "after capistrano",
        files: { "CHANGES.txt": "after capistrano\n" },
      });
      const sync = await agent(machine, ["sync"]);
      assert.equal(sync.code, 0, explain(sync));
      await assertServing(machine, next);
      // The older Capistrano releases go; the one before the live one stays.
      const releases = await listDir(machine, `${SHOP_DIR}/releases`);
      assert.equal(releases.length, 2, releases.join(" "));
      const [first, built = ""] = releases;
      assert.equal(first, cap);
      assert.match(built, new RegExp(`^\\d{8}T\\d{6}Z-${next.slice(0, 12)}$`));
      assert.equal(await currentRelease(machine), `releases/${built}`);

      const back = await agent(machine, ["rollback", "--to", cap]);
      assert.equal(back.code, 0, explain(back));
      assert.match(back.stdout, new RegExp(`rolling back to ${sha.slice(0, 12)} \\(${cap}\\)`));
      await assertServing(machine, sha);
      assert.equal(await currentRelease(machine), `releases/${cap}`);
      const again = await agentCheck(machine);
      assert.equal(checkOf(again.report, "release").summary, cap, notOk(again.report));

      // The next deploy comes after `built`: the Capistrano release is pruned like any other.
      const forward = await agent(machine, ["sync"]);
      assert.equal(forward.code, 0, explain(forward));
      await assertServing(machine, next);
      const left = await listDir(machine, `${SHOP_DIR}/releases`);
      assert.equal(left.length, 2, left.join(" "));
      assert.ok(!left.includes(cap) && left.includes(built), left.join(" "));
    } finally {
      await machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(CONFIG), 0o644);
    }
  });
});
