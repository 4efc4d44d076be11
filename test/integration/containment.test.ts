// The app user and the repository cannot steer root: each case is one way a compromised web app
// (anything running as www-data) or a pushed commit made root chown, write or read a file of its
// choosing on earlier versions, tried for real in a machine; every root file it aimed at keeps
// its owner, mode and content. Then the ways a run could be left for a person (a hook's
// leftover descendant, Ctrl-C or a hang-up mid-deploy, kill -9 with the daemon watching, a
// damaged repo/) end with the app serving one verified release. One machine serves every case.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { GUEST_REPO } from "../machine/paths.js";
import {
  AGENT_CONFIG_PATH,
  health,
  provisionShop,
  pushCommit,
  SHOP_DB,
  SHOP_DIR,
  type ShopConfigOverrides,
  shopConfigYaml,
  waitForHealth,
} from "../machine/sample-app.js";
import {
  agent,
  assertNoDebris,
  assertServing,
  deploymentRows,
  explain,
  sh,
  skipUnlessRoot,
} from "./sync-helpers.js";

const SHARED = `${SHOP_DIR}/shared`;
// Root's files the attacks aim at: a unit file (root runs it), the status endpoint's token.
const UNIT_CANARY = "/etc/systemd/system/deploy-agent-canary.service";
const TOKEN = "/etc/deploy-agent/token";
const TOKEN_TEXT = "f00d".repeat(16);

const CONFIG: ShopConfigOverrides = {
  app: {
    verify: { timeout: "20s" },
    repo: { fetch_timeout: "20s" },
    hooks: {
      install: "true",
      migrate: `DB_PATH=${SHOP_DB} /usr/bin/python3 migrate.py && if [ -e /tmp/slow-migrate ]; then sleep 4; fi`,
      timeout: "60s",
    },
  },
};

describe("containing the app user and the repository", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let live = "";

  before(async () => {
    machine = await bootMachine({ name: "containment" });
    live = (await provisionShop(machine, { config: CONFIG })).sha;
    await machine.writeFile(UNIT_CANARY, "[Service]\nExecStart=/bin/true\n", 0o644);
    await machine.writeFile(TOKEN, `${TOKEN_TEXT}\n`, 0o600);
    // A first backup, for the restore case.
    await sh(machine, "agent backup >/dev/null");
  });
  after(async () => {
    await machine?.destroy();
  });

  const asAppUser = (script: string) => sh(machine, `runuser -u www-data -- sh -c '${script}'`);

  // Owner, mode and content of a file, as the kernel has them.
  async function fingerprint(file: string): Promise<string> {
    return sh(machine, `stat -c '%U:%G %a %s' ${file}; sha256sum ${file} | cut -d' ' -f1`);
  }

  const listHolds = async () =>
    (await sh(machine, "ls -A /var/lib/deploy-agent/holds 2>/dev/null || true"))
      .split("\n")
      .filter(Boolean);

  async function configure(app: ShopConfigOverrides["app"] = {}): Promise<void> {
    const merged = { app: { ...CONFIG.app, ...app } };
    await machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(merged), 0o644);
  }

  // Deploy a new commit and expect success; returns its sha.
  async function deployNew(message: string, files: Record<string, string | null> = {}) {
    const sha = await pushCommit(machine, {
      message,
      files: { "CHANGES.txt": `${message}\n`, ...files },
    });
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    live = sha;
    await assertServing(machine, sha);
    return sha;
  }

  test("-wal and -shm symlinked to root's files in a loop by www-data: sync, backup, restore and check --fix leave them untouched", async () => {
    const before = [await fingerprint(UNIT_CANARY), await fingerprint(TOKEN)];
    // The attacker: swaps the DB's companions for links to root's files as fast as it can.
    await sh(
      machine,
      `systemd-run --unit=attacker --uid=www-data --gid=www-data sh -c 'while :; do
        ln -sfn ${UNIT_CANARY} ${SHARED}/.shm.tmp && mv -Tf ${SHARED}/.shm.tmp ${SHOP_DB}-shm
        ln -sfn ${TOKEN} ${SHARED}/.wal.tmp && mv -Tf ${SHARED}/.wal.tmp ${SHOP_DB}-wal
      done'`,
    );
    try {
      await pushCommit(machine, { message: "under attack", files: { "CHANGES.txt": "attack\n" } });
      const runs = [
        await agent(machine, ["sync"]),
        await agent(machine, ["backup"]),
        await agent(machine, ["restore"]),
        await agent(machine, ["check", "--fix", "--json"]),
      ];
      // Whatever the app made of its broken DB, root's files are as they were.
      assert.deepEqual(
        [await fingerprint(UNIT_CANARY), await fingerprint(TOKEN)],
        before,
        runs.map(explain).join("\n"),
      );
      const check = JSON.parse(runs[3]?.stdout ?? "{}") as { changes: string[] };
      assert.ok(
        !check.changes.some((c) => c.includes("canary") || c.includes("token")),
        JSON.stringify(check.changes),
      );
    } finally {
      await sh(machine, "systemctl stop attacker");
    }
    // Back to health: the links go, the app's next deploy is clean.
    await sh(
      machine,
      `systemctl stop shop.service; rm -f ${SHOP_DB}-wal ${SHOP_DB}-shm; systemctl start shop.service`,
    );
    await deployNew("after the attack");
    assert.deepEqual([await fingerprint(UNIT_CANARY), await fingerprint(TOKEN)], before);
  });

  test("a FIFO at -journal planted by www-data: check and sync answer within seconds, the app is never left held", async () => {
    await asAppUser(`mkfifo ${SHOP_DB}-journal`);
    try {
      const started = performance.now();
      const check = await agent(machine, ["check", "--json"], { timeoutMs: 60_000 });
      const database = (
        JSON.parse(check.stdout) as { checks: { name: string; summary: string }[] }
      ).checks.find((c) => c.name === "database");
      assert.match(database?.summary ?? "", /shop\.db-journal is a FIFO: not opened/);
      assert.ok(performance.now() - started < 15_000, "the check hung");
      await pushCommit(machine, { message: "fifo", files: { "CHANGES.txt": "fifo\n" } });
      const t0 = performance.now();
      const run = await agent(machine, ["sync"], { timeoutMs: 120_000 });
      assert.ok(run.code === 1 || run.code === 2, explain(run));
      assert.match(run.stdout, /backup .*failed.*shop\.db-journal is a FIFO/);
      assert.ok(performance.now() - t0 < 90_000, "the sync hung");
      // Whatever the app makes of its own FIFO, it was started again: never left held.
      assert.deepEqual(await listHolds(), []);
      assert.match(
        await sh(machine, "systemctl is-active shop.service || true"),
        /active|activating/,
      );
    } finally {
      // The app may have crash-looped on its FIFO into the start limit: clear it, then start.
      await sh(
        machine,
        `rm -f ${SHOP_DB}-journal; systemctl reset-failed shop.service; systemctl restart shop.service`,
      );
    }
    await waitForHealth(machine, live);
  });

  test("check --fix does not follow a link that stays inside the app directory (-wal -> ../repo/config)", async () => {
    const config = `${SHOP_DIR}/repo/config`;
    const before = await fingerprint(config);
    await asAppUser(
      `ln -sfn ../repo/config ${SHOP_DB}-wal.x && mv -Tf ${SHOP_DB}-wal.x ${SHOP_DB}-wal`,
    );
    await sh(machine, "systemctl stop shop.service");
    try {
      const run = await agent(machine, ["check", "--fix", "--json"]);
      const report = JSON.parse(run.stdout) as {
        changes: string[];
        checks: { name: string; summary: string }[];
      };
      assert.deepEqual(report.changes, []);
      const permissions = report.checks.find((c) => c.name === "permissions");
      assert.match(permissions?.summary ?? "", /shop\.db-wal: is a symlink/);
      assert.equal(await fingerprint(config), before);
    } finally {
      await sh(machine, `rm -f ${SHOP_DB}-wal; systemctl start shop.service`);
    }
    await waitForHealth(machine, live);
  });

  test("a commit whose REVISION is a symlink to a root file: the file is untouched, the release gets its own REVISION", async () => {
    const before = await fingerprint(UNIT_CANARY);
    // git stores the link; the build removes it and writes REVISION itself.
    const work = await sh(machine, "mktemp -d");
    await sh(
      machine,
      `git clone -q /srv/git/shop.git ${work} && cd ${work} && ln -s ${UNIT_CANARY} REVISION &&
       git add -f REVISION && git -c user.name=t -c user.email=t@t.invalid commit -qm "REVISION link" &&
       git push -q origin HEAD:main && rm -rf ${work}`,
    );
    const sha = await sh(machine, "git --git-dir=/srv/git/shop.git rev-parse main");
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    live = sha;
    await assertServing(machine, sha);
    assert.equal(await fingerprint(UNIT_CANARY), before);
    assert.equal(await sh(machine, `stat -c %F ${SHOP_DIR}/current/REVISION`), "regular file");
    assert.equal(await sh(machine, `cat ${SHOP_DIR}/current/REVISION`), sha);
    // The next commit drops the link again.
    await deployNew("no REVISION link", { REVISION: null });
  });

  test("the live REVISION forged or deleted by www-data: the agent still knows what is live", async () => {
    const revision = `${SHOP_DIR}/current/REVISION`;
    // Forged to the branch head: a naive agent would call the head live and never deploy it.
    const head = await pushCommit(machine, {
      message: "forged",
      files: { "CHANGES.txt": "forged\n" },
    });
    await asAppUser(`echo ${head} > ${revision}.x && mv -f ${revision}.x ${revision}`);
    let run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(
      run.stdout,
      new RegExp(`deploying ${head.slice(0, 12)} \\(main\\) over ${live.slice(0, 12)}`),
    );
    live = head;
    await assertServing(machine, head);
    // Deleted: still the live release, never "a first deploy" (which, failing, would leave the
    // app stopped with no release to go back to).
    await asAppUser(`rm -f ${revision}`);
    const next = await pushCommit(machine, {
      message: "after rm",
      files: { "CHANGES.txt": "rm\n" },
    });
    run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, new RegExp(`over ${live.slice(0, 12)}`));
    live = next;
    await assertServing(machine, next);
  });

  test("a nested linked path under a directory the commit made a symlink is refused, nothing written through it", async () => {
    await sh(machine, "mkdir -p /etc/canary-dir && echo keep > /etc/canary-dir/config");
    const before = await fingerprint("/etc/canary-dir/config");
    await configure({ linked: [".env", "instance/config"] });
    await sh(
      machine,
      `install -d -o www-data -g www-data ${SHARED}/instance && echo x=1 > ${SHARED}/instance/config`,
    );
    const work = await sh(machine, "mktemp -d");
    await sh(
      machine,
      `git clone -q /srv/git/shop.git ${work} && cd ${work} && ln -s /etc/canary-dir instance &&
       git add instance && git -c user.name=t -c user.email=t@t.invalid commit -qm "instance link" &&
       git push -q origin HEAD:main && rm -rf ${work}`,
    );
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 1, explain(run));
    assert.match(run.stdout, /linked path instance\/config: .*instance is not a directory/);
    assert.equal(await fingerprint("/etc/canary-dir/config"), before);
    assert.equal(await sh(machine, "ls -A /etc/canary-dir"), "config");
    await assertServing(machine, live);
    // The commit that fixes it deploys, with the link in place.
    await deployNew("instance is a directory again", { instance: null, "instance/.keep": "" });
    assert.equal(
      await sh(machine, `readlink ${SHOP_DIR}/current/instance/config`),
      "../../../shared/instance/config",
    );
    await configure();
    await deployNew("back to .env only");
  });

  test("the live REVISION swapped for a link to the token, /dev/zero or a FIFO: nothing serves the token, nothing hangs", async () => {
    // The daemon with its endpoint, as the public /metrics is where the token leaked.
    await machine.writeFile(
      AGENT_CONFIG_PATH,
      shopConfigYaml({ app: CONFIG.app, root: { http: { listen: "127.0.0.1:9107" } } }),
      0o644,
    );
    await sh(
      machine,
      `install -m 0644 ${GUEST_REPO}/units/deploy-agent.service ${GUEST_REPO}/units/deploy-agent-sync.service /etc/systemd/system/
       systemctl daemon-reload && systemctl start deploy-agent.service`,
    );
    const revision = `${SHOP_DIR}/current/REVISION`;
    try {
      for (const plant of [
        `ln -sfn ${TOKEN} ${revision}`,
        `ln -sfn /dev/zero ${revision}`,
        `rm -f ${revision} && mkfifo ${revision}`,
      ]) {
        await sh(machine, `rm -f ${revision}`);
        await asAppUser(plant);
        const started = performance.now();
        const check = await agent(machine, ["check", "--json"], { timeoutMs: 30_000 });
        const status = await agent(machine, ["status", "--json"], { timeoutMs: 30_000 });
        const metrics = await sh(machine, "curl -sf --max-time 10 http://127.0.0.1:9107/metrics");
        const took = performance.now() - started;
        for (const text of [check.stdout, check.stderr, status.stdout, metrics]) {
          assert.doesNotMatch(text, new RegExp(TOKEN_TEXT.slice(0, 16)), plant);
        }
        assert.equal(check.code, 2, explain(check));
        const release = (
          JSON.parse(check.stdout) as { checks: { name: string; summary: string }[] }
        ).checks.find((c) => c.name === "release");
        assert.match(release?.summary ?? "", /no usable REVISION/, plant);
        assert.ok(took < 20_000, `${plant}: ${Math.round(took)} ms`);
        // The daemon's watchdog (30 s) was never starved: it is the same process as before.
        assert.equal(await sh(machine, "systemctl is-active deploy-agent.service"), "active");
      }
    } finally {
      await sh(
        machine,
        `rm -f ${revision}; echo ${live} > ${revision}; chown www-data: ${revision}`,
      );
      await sh(machine, "systemctl stop deploy-agent.service");
      await machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(CONFIG), 0o644);
    }
    assert.equal(
      await sh(machine, "systemctl show deploy-agent.service -p NRestarts --value"),
      "0",
    );
  });

  test("a hook's descendant in a session of its own neither holds up the deploy nor outlives it", async () => {
    await configure({
      hooks: {
        ...(CONFIG.app?.hooks as object),
        // Also: the hook has no group but the app's (none of root's), and its shell sees its
        // command as written (no $VARIABLE expanded on the way).
        install:
          'id -G > /tmp/hook-id; x=kept; echo "[$x]" >> /tmp/hook-id; setsid sleep 607 & echo started',
      },
    });
    const started = performance.now();
    await deployNew("leaves a daemon behind");
    const took = performance.now() - started;
    assert.ok(took < 30_000, `deploy took ${Math.round(took)} ms`);
    assert.equal(
      (await machine.exec(["pgrep", "-f", "[s]leep 607"])).exitCode,
      1,
      "sleep 607 still runs",
    );
    assert.equal(await sh(machine, "cat /tmp/hook-id"), "33\n[kept]");

    await configure({
      hooks: {
        ...(CONFIG.app?.hooks as object),
        install: "setsid sleep 608 & sleep 609",
        timeout: "3s",
      },
    });
    const sha = await pushCommit(machine, {
      message: "hangs",
      files: { "CHANGES.txt": "hangs\n" },
    });
    const t0 = performance.now();
    const run = await agent(machine, ["sync"]);
    const hung = performance.now() - t0;
    assert.equal(run.code, 1, explain(run));
    assert.match(run.stdout, /install hook timed out after 3s/);
    assert.ok(hung < 20_000, `a 3 s hook timeout took ${Math.round(hung)} ms`);
    assert.equal(
      (await machine.exec(["pgrep", "-f", "[s]leep 60[89]"])).exitCode,
      1,
      "a hook process survived",
    );
    await assertServing(machine, live);
    assert.notEqual(sha, live);
    await configure();
    await deployNew("hooks are quick again");
  });

  // Start `agent sync` and, from inside the machine (a round trip from here takes too long to
  // hit a step of a few seconds), send `signal` to it the moment its deployment reaches `step`.
  async function signalAt(step: string, signal: string) {
    const sync = agent(machine, ["sync"]);
    const sent = await sh(
      machine,
      `step() { sqlite3 -cmd '.timeout 2000' /var/lib/deploy-agent/state.db "SELECT step FROM deployments WHERE outcome = 'running'"; }
       for i in $(seq 600); do [ "$(step)" = ${step} ] && break; sleep 0.05; done
       pkill --signal ${signal} -f '[d]ist/agent/agent.js sync' && step`,
    );
    const run = await sync;
    assert.equal(sent, step, `the signal reached the sync at ${sent}, not at ${step}`);
    return run;
  }

  for (const signal of ["SIGINT", "SIGHUP"] as const) {
    test(`${signal} at stop, migrate and start: the step finishes, then one verified release serves`, async () => {
      // Slow stop and start (drop-ins) and a slow migration give the signal a moment to land in.
      await sh(
        machine,
        `mkdir -p /etc/systemd/system/shop.service.d
         printf '[Service]\\nExecStopPost=/bin/sleep 4\\nExecStartPre=/bin/sleep 4\\n' > /etc/systemd/system/shop.service.d/slow.conf
         systemctl daemon-reload; touch /tmp/slow-migrate`,
      );
      try {
        for (const [step, rolledBack] of [
          ["stop", true],
          ["migrate", true],
          ["start", false],
        ] as const) {
          const sha = await pushCommit(machine, {
            message: `${signal} at ${step}`,
            files: { "CHANGES.txt": `${signal} ${step}\n` },
          });
          const run = await signalAt(step, signal);
          if (rolledBack) {
            assert.equal(run.code, 1, explain(run));
            assert.match(run.stdout, new RegExp(`interrupted by ${signal}`));
            await assertServing(machine, live);
          } else {
            // The new release had started: it is verified and kept (rolling forward).
            assert.equal(run.code, 0, explain(run));
            live = sha;
            await assertServing(machine, sha);
          }
          assert.deepEqual(
            (await deploymentRows(machine)).filter((r) => r.outcome === "running"),
            [],
          );
          await assertNoDebris(machine);
          assert.ok(await health(machine));
        }
      } finally {
        await sh(
          machine,
          "rm -f /etc/systemd/system/shop.service.d/slow.conf /tmp/slow-migrate; systemctl daemon-reload",
        );
      }
    });
  }

  test("a CLI sync killed with -9 mid-migrate: the running daemon recovers the app, no command needed", async () => {
    await sh(
      machine,
      `install -m 0644 ${GUEST_REPO}/units/deploy-agent.service /etc/systemd/system/
       systemctl daemon-reload && systemctl start deploy-agent.service; touch /tmp/slow-migrate`,
    );
    try {
      const sha = await pushCommit(machine, {
        message: "killed",
        files: { "CHANGES.txt": "killed\n" },
      });
      await signalAt("migrate", "KILL");
      // Within the watch period plus a rollback, without anyone running agent.
      await machine.waitFor(
        async () => (await deploymentRows(machine)).every((r) => r.outcome !== "running"),
        60_000,
        { what: "the daemon to recover the killed deployment", intervalMs: 500 },
      );
      await assertServing(machine, live);
      await assertNoDebris(machine);
      const rows = await deploymentRows(machine);
      assert.match(
        rows.find((r) => r.error.includes("interrupted at migrate"))?.outcome ?? "",
        /rolled-back/,
      );
      assert.match(await machine.journal("deploy-agent.service"), /recovering it/);
      // The killed run's migrate hook (sleeping in its scope) was ended, not left to write on:
      // the recovery found its scope among systemd's transient units.
      assert.equal(
        (
          await sh(machine, "ls /run/systemd/transient | grep -c '^deploy-agent-hook-shop' || true")
        ).trim(),
        "0",
      );
      assert.equal((await sh(machine, "pgrep -fx 'sleep 120' || true")).trim(), "");
      assert.notEqual(sha, live);
    } finally {
      await sh(machine, "systemctl stop deploy-agent.service; rm -f /tmp/slow-migrate");
    }
    await deployNew("after the kill");
  });

  test("the backup an interrupted migration needs survives any number of `agent backup` runs", async () => {
    await sh(machine, "touch /tmp/slow-migrate");
    let needed = "";
    try {
      const sha = await pushCommit(machine, { message: "cut", files: { "CHANGES.txt": "cut\n" } });
      await signalAt("migrate", "KILL");
      needed = await sh(
        machine,
        `sqlite3 /var/lib/deploy-agent/state.db "SELECT backup_path FROM deployments WHERE outcome = 'running'"`,
      );
      assert.match(needed, /^\/srv\/shop\/backups\/shop\.db\..*\.bak$/);
      // More backups than `keep` (3), each pruning the oldest: never the one recovery needs.
      for (let i = 0; i < 4; i++) await sh(machine, "agent backup >/dev/null");
      assert.equal(await sh(machine, `test -f ${needed} && echo kept`), "kept");
      await sh(machine, "rm -f /tmp/slow-migrate");
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 0, explain(run));
      assert.match(
        run.stdout,
        new RegExp(`DB restored from ${needed.split("/").pop()?.replace(/\./g, "\\.")}`),
      );
      live = sha;
      await assertServing(machine, sha);
    } finally {
      await sh(machine, "rm -f /tmp/slow-migrate");
    }
  });

  test("a damaged repo/ (garbage HEAD, a lost object, a half-written ref, config of www-data's) is set aside and fetched afresh", async () => {
    const repo = `${SHOP_DIR}/repo`;
    const damages = [
      `echo garbage > ${repo}/HEAD`,
      `git --git-dir=${repo} repack -adq && rm -f ${repo}/objects/pack/*.pack`,
      `printf '\\0\\0\\0' > ${repo}/refs/heads/main; rm -f ${repo}/packed-refs`,
      // The app user owning repo/config could set core.hooksPath (or an fsmonitor) that root runs.
      `git --git-dir=${repo} config core.hooksPath /tmp/evil-hooks && mkdir -p /tmp/evil-hooks &&
       printf '#!/bin/sh\\ntouch /tmp/evil-ran\\n' > /tmp/evil-hooks/reference-transaction && chmod +x /tmp/evil-hooks/reference-transaction &&
       chown www-data: ${repo}/config`,
    ];
    for (const damage of damages) {
      await sh(machine, damage);
      await deployNew(`after: ${damage.slice(0, 40)}`);
      assert.equal(
        (await machine.exec(["test", "-e", "/tmp/evil-ran"])).exitCode,
        1,
        "root ran www-data's hook",
      );
      assert.match(await sh(machine, `ls -d ${repo}.damaged-*`), /repo\.damaged-/);
      assert.equal(await sh(machine, `stat -c %U ${repo}/config`), "root");
    }
  });

  test("an app directory (or repo/, releases/) that www-data can write: sync refuses, check says so, --fix makes it root's", async () => {
    await sh(machine, `chown www-data: ${SHOP_DIR}/releases`);
    const sha = await pushCommit(machine, {
      message: "refused",
      files: { "CHANGES.txt": "refused\n" },
    });
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 1, explain(run));
    assert.match(
      run.stderr,
      /releases is owned by uid 33 .*only root may write the agent's directories/,
    );
    await assertServing(machine, live);
    const check = await agent(machine, ["check", "--json"]);
    assert.equal(check.code, 2);
    const fix = await agent(machine, ["check", "--fix", "--json"]);
    assert.ok(
      (JSON.parse(fix.stdout) as { changes: string[] }).changes.includes(
        `chown root:root ${SHOP_DIR}/releases (was 33:33)`,
      ),
      fix.stdout,
    );
    const again = await agent(machine, ["sync"]);
    assert.equal(again.code, 0, explain(again));
    live = sha;
    await assertServing(machine, sha);
  });
});
