// `deploy-agent daemon` as systemd runs it, in a real machine with the shop app: Type=notify
// with a watchdog, scheduled checks in the journal and the state DB, faults seen and recovered,
// "deploying" instead of a false alarm, the token-protected endpoint, syncs from the API and
// from auto-update, on_critical restart, a clean SIGTERM, and a reboot. One machine serves all
// cases in order; checks run every 10 s (node-cron's seconds field) to keep the run short.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { GUEST_REPO } from "../machine/paths.js";
import {
  AGENT_CONFIG_PATH,
  provisionShop,
  pushCommit,
  SHOP_DB,
  type ShopConfigOverrides,
  shopConfigYaml,
  waitForHealth,
} from "../machine/sample-app.js";
import { unitProperty, unitState } from "../machine/units.js";
import {
  type Entry,
  entries,
  holdShopLock,
  http,
  isScheduledCheck,
  journalText,
  mainPid,
  now,
  postTwice,
  stateRows,
  TOKEN_FILE,
  UNIT,
  waitForEntry,
} from "./daemon-helpers.js";
import { skipUnlessRoot as skip } from "./sync-helpers.js";

const TOKEN = randomBytes(24).toString("hex");
// Idle memory of the daemon, kB. Measured here (execa, node-cron, simple-git loaded lazily):
// VmRSS ~76 MB = RssAnon ~25 MB (its own heap, stacks, JIT code) + RssFile ~51 MB (mostly the
// node binary's pages, ~34 MB in any node process and shared with every other one). The unit's
// cgroup, which is what `systemctl status` shows as Memory:, is charged ~27 MB: private pages
// plus page cache the daemon itself faulted in. The 60 MB holds for that figure, not for
// VmRSS with the node binary's shared pages counted; the bounds below catch growth in either.
const MAX_IDLE_RSS_KB = 90 * 1024;
const MAX_IDLE_ANON_KB = 32 * 1024;
const MAX_IDLE_CGROUP_KB = 60 * 1024;
const SYNC_UNIT = "deploy-agent-sync.service";

// The daemon's config: every 10 s, endpoint on, a short verify so a broken commit fails fast.
function daemonConfig(app: ShopConfigOverrides["app"] = {}): string {
  return shopConfigYaml({
    app: { schedule: "*/10 * * * * *", verify: { timeout: "20s" }, ...app },
    root: { http: { listen: "127.0.0.1:9107" } },
  });
}

describe("deploy-agent daemon under systemd", { skip }, () => {
  let machine: Machine;
  let sha = "";

  before(async () => {
    machine = await bootMachine({ name: "daemon" });
    ({ sha } = await provisionShop(machine, { config: false }));
    await machine.writeFile(AGENT_CONFIG_PATH, daemonConfig(), 0o644);
    await machine.writeFile(TOKEN_FILE, `${TOKEN}\n`, 0o600);
    // The units as install.sh installs them: copied from the checkout.
    const installed = await machine.sh(`
      for unit in ${GUEST_REPO}/units/*.service; do
        install -m 0644 "$unit" /etc/systemd/system/
      done
      ls /etc/systemd/system/${SYNC_UNIT} 2>/dev/null || echo "no sync unit"`);
    if (installed.stdout.includes("no sync unit")) {
      // Stand-in until units/deploy-agent-sync.service lands, so Also= has a unit to enable.
      await machine.writeFile(
        `/etc/systemd/system/${SYNC_UNIT}`,
        "[Unit]\nDescription=stand-in\n[Service]\nType=oneshot\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
        0o644,
      );
    }
    await machine.exec(["systemctl", "daemon-reload"], { reject: true });
    // A first backup, so the backups check is ok rather than "no backup yet" (warning).
    await machine.exec(["agent", "backup"], { reject: true });
  });

  after(async () => {
    await machine?.destroy();
  });

  // The newest scheduled check entry after `since` that satisfies `match`.
  const nextCheck = (since: string, match: (e: Entry) => boolean, what: string) =>
    waitForEntry(machine, since, (e) => isScheduledCheck(e) && match(e), what);

  test("enable --now: Type=notify becomes active with a watchdog and a status text", async () => {
    const started = performance.now();
    const enable = await machine.exec(["systemctl", "enable", "--now", UNIT]);
    assert.equal(enable.exitCode, 0, enable.stderr);
    // systemctl start returns only after READY=1 for Type=notify.
    const readyMs = Math.round(performance.now() - started);
    assert.equal(await unitState(machine, UNIT), "active");
    assert.equal(await unitProperty(machine, UNIT, "Type"), "notify");
    assert.equal(await unitProperty(machine, UNIT, "NotifyAccess"), "main");
    assert.equal(await unitProperty(machine, UNIT, "WatchdogUSec"), "30s");
    assert.match(await unitProperty(machine, UNIT, "StatusText"), /^shop: /);
    // Also= enabled the boot sync unit with it.
    assert.equal((await machine.exec(["systemctl", "is-enabled", SYNC_UNIT])).stdout, "enabled");
    const started2 = (await entries(machine)).find((e) => e.msg === "daemon started");
    assert.ok(started2, "a 'daemon started' entry");
    assert.equal(started2.watchdogMs, 30_000);
    console.log(`# enable --now to READY: ${readyMs} ms`);
  });

  test("a scheduled check lands in the journal, the state DB and STATUS=", async () => {
    const entry = await nextCheck(await now(machine), () => true, "a scheduled check entry");
    assert.equal(entry.status, "ok", JSON.stringify(entry));
    assert.deepEqual(entry.failing, []);
    assert.equal(typeof entry.durationMs, "number");
    const rows = await stateRows(
      machine,
      "SELECT status, trigger FROM checks WHERE app = 'shop' AND trigger = 'schedule' ORDER BY id DESC LIMIT 1",
    );
    assert.deepEqual(rows, [{ status: "ok", trigger: "schedule" }]);
    const history = await machine.exec(["agent", "history", "--json", "--limit", "3"]);
    assert.equal(history.exitCode, 0, history.stderr);
    const checks = (
      JSON.parse(history.stdout) as { apps: { checks: { trigger: string; status: string }[] }[] }
    ).apps[0]?.checks;
    assert.ok(
      checks?.some((c) => c.trigger === "schedule" && c.status === "ok"),
      `a scheduled check in agent history: ${history.stdout}`,
    );
    const status = await unitProperty(machine, UNIT, "StatusText");
    assert.match(status, /^shop: ok (\d+)\/\1 at \d\d:\d\d, next \d\d:\d\d$/);
  });

  test("a fault injected between runs is critical in the next entry, then recovers", async () => {
    await machine.exec(["chmod", "600", SHOP_DB], { reject: true });
    const since = await now(machine);
    const bad = await nextCheck(since, (e) => e.status !== "ok", "a non-ok scheduled check");
    assert.equal(bad.status, "critical", JSON.stringify(bad));
    assert.ok(bad.failing?.includes("permissions"), `permissions failing: ${JSON.stringify(bad)}`);
    const change = await waitForEntry(
      machine,
      since,
      (e) => e.msg === "state changed" && e.to === "critical",
      "a 'state changed' event",
    );
    assert.equal(change.from, "ok");
    assert.equal(change.level, "error");
    assert.match(await unitProperty(machine, UNIT, "StatusText"), /^shop: critical .*permissions/);

    // SQLite gives the -wal and -shm files the DB's mode: they are repaired too.
    await machine.sh(`chmod 664 ${SHOP_DB}*`);
    const back = await now(machine);
    await nextCheck(back, (e) => e.status === "ok", "an ok check after the repair");
    const recovery = await waitForEntry(
      machine,
      back,
      (e) => e.msg === "state changed" && e.to === "ok",
      "a recovery event",
    );
    assert.equal(recovery.from, "critical");
    assert.equal(recovery.recovered, true);
    // Exactly one event each way: a steady state does not repeat the alert.
    const changes = (await entries(machine)).filter((e) => e.msg === "state changed");
    assert.equal(changes.length, 2, JSON.stringify(changes));
  });

  test("a check while another process holds the app's lock says deploying", async () => {
    // A test process inside the machine holds the lock, as `agent sync` would.
    const release = await holdShopLock(machine);
    try {
      const since = await now(machine);
      const entry = await nextCheck(since, () => true, "a scheduled check during the hold");
      assert.equal(entry.status, "deploying", JSON.stringify(entry));
      assert.match(JSON.stringify(entry.holder), /test holder/);
      const row = await stateRows(
        machine,
        "SELECT status FROM checks WHERE app = 'shop' ORDER BY id DESC LIMIT 1",
      );
      assert.deepEqual(row, [{ status: "deploying" }]);
      assert.ok(
        !(await entries(machine)).some((e) => e.time >= since && e.msg === "state changed"),
        "no false alarm",
      );
      const health = await http(machine, "GET", "/v1/apps/shop/health");
      assert.equal(health.code, 503);
      assert.equal(JSON.parse(health.body).status, "deploying");
      const busy = await http(machine, "POST", "/v1/apps/shop/sync", TOKEN);
      assert.equal(busy.code, 409);
      assert.match(JSON.parse(busy.body).holder, /test holder/);
    } finally {
      await release();
    }
  });

  test("status endpoint: public health, 401 without or with a wrong token, 200 with it", async () => {
    const agentHealth = await http(machine, "GET", "/health");
    assert.equal(agentHealth.code, 200);
    assert.equal(JSON.parse(agentHealth.body).status, "ok");
    await machine.waitFor(
      async () => (await http(machine, "GET", "/v1/apps/shop/health")).code === 200,
      20_000,
      { what: "app health 200 once the hold is gone and a check passed" },
    );
    for (const path of ["/v1/status", "/v1/apps/shop"]) {
      assert.equal((await http(machine, "GET", path)).code, 401, `${path} without token`);
      assert.equal((await http(machine, "GET", path, "wrong")).code, 401, `${path} wrong token`);
      assert.equal((await http(machine, "GET", path, TOKEN.slice(1))).code, 401);
      assert.equal((await http(machine, "GET", path, TOKEN)).code, 200, `${path} with token`);
    }
    assert.equal((await http(machine, "POST", "/v1/apps/shop/sync", "wrong")).code, 401);
    assert.equal((await http(machine, "GET", "/v1/apps/blog", TOKEN)).code, 404);
    const status = JSON.parse((await http(machine, "GET", "/v1/apps/shop", TOKEN)).body);
    assert.equal(status.live.revision, sha);
    assert.equal(status.lastCheck.trigger, "schedule");
    const metrics = await http(machine, "GET", "/metrics");
    assert.equal(metrics.code, 200);
    assert.match(metrics.body, /deploy_agent_check_status\{app="shop",check="database"\} 0/);
    assert.match(
      metrics.body,
      new RegExp(`deploy_agent_release_info\\{app="shop",revision="${sha}"\\} 1`),
    );
  });

  test("POST sync deploys a pushed commit: 202, then 409 while it runs", async () => {
    const next = await pushCommit(machine, {
      message: "api deploy",
      files: { "CHANGES.txt": "api\n" },
    });
    const since = await now(machine);
    assert.deepEqual(await postTwice(machine, "/v1/apps/shop/sync", TOKEN), [202, 409]);
    const done = await waitForEntry(
      machine,
      since,
      (e) => e.msg === "sync finished" && e.trigger === "api",
      "the API sync to finish",
      120_000,
    );
    assert.equal(done.outcome, "deployed", JSON.stringify(done));
    assert.equal(done.revision, next);
    await waitForHealth(machine, next);
    sha = next;
    const metrics = (await http(machine, "GET", "/metrics")).body;
    assert.match(metrics, /deploy_agent_deployments_total\{app="shop",outcome="deployed"\} 1/);
    assert.match(
      metrics,
      new RegExp(`deploy_agent_release_info\\{app="shop",revision="${next}"\\} 1`),
    );
  });

  test("SIGHUP reloads the config; on_critical restart brings a stopped app back", async () => {
    await machine.writeFile(AGENT_CONFIG_PATH, daemonConfig({ on_critical: "restart" }), 0o644);
    const since = await now(machine);
    await machine.exec(["systemctl", "reload", UNIT], { reject: true });
    await waitForEntry(machine, since, (e) => e.msg === "configuration reloaded", "the reload");
    // A scheduled check may already be restarting it (the stop job is then canceled): either way
    // the daemon is what brings it back.
    await machine.exec(["systemctl", "stop", "shop.service"]);
    await waitForEntry(machine, since, (e) => e.msg === "restarting after critical", "a restart");
    const recheck = await waitForEntry(
      machine,
      since,
      (e) => e.msg === "check finished" && e.trigger === "restart",
      "the re-check after the restart",
      60_000,
    );
    assert.equal(recheck.status, "ok", JSON.stringify(recheck));
    assert.equal(await unitState(machine, "shop.service"), "active");
    const budget = await stateRows(
      machine,
      "SELECT value FROM app_memory WHERE app = 'shop' AND key = 'on_critical.restarts'",
    );
    assert.equal(JSON.parse(String(budget[0]?.value)).length, 1, "one restart spent");
  });

  test("auto-update deploys a pushed commit and never retries a failing one", async () => {
    await machine.writeFile(AGENT_CONFIG_PATH, daemonConfig({ poll: "2s" }), 0o644);
    let since = await now(machine);
    await machine.exec(["systemctl", "reload", UNIT], { reject: true });
    await waitForEntry(machine, since, (e) => e.msg === "configuration reloaded", "the reload");

    const good = await pushCommit(machine, {
      message: "poll deploy",
      files: { "CHANGES.txt": "poll\n" },
    });
    const deployed = await waitForEntry(
      machine,
      since,
      (e) => e.msg === "sync finished" && e.trigger === "poll",
      "a poll-triggered sync",
      120_000,
    );
    assert.equal(deployed.outcome, "deployed", JSON.stringify(deployed));
    assert.equal(deployed.revision, good);
    await waitForHealth(machine, good);

    since = await now(machine);
    const broken = await pushCommit(machine, {
      message: "broken app",
      files: { "app.py": "raise SystemExit('broken on purpose')\n" },
    });
    const failed = await waitForEntry(
      machine,
      since,
      (e) => e.msg === "sync finished" && e.trigger === "poll",
      "the broken commit's sync",
      120_000,
    );
    assert.equal(failed.outcome, "rolled-back", JSON.stringify(failed));
    assert.equal(failed.revision, broken);
    await waitForHealth(machine, good);
    // Several poll periods later the broken head has still been tried exactly once.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const attempts = (await entries(machine)).filter(
      (e) => e.msg === "sync finished" && e.revision === broken,
    );
    assert.equal(attempts.length, 1, JSON.stringify(attempts));
    const memory = await stateRows(
      machine,
      "SELECT value FROM app_memory WHERE app = 'shop' AND key = 'poll.failed_sha'",
    );
    assert.deepEqual(memory, [{ value: broken }]);
    sha = good;
    // Fix the branch so later tests (and the boot sync) deploy something that works.
    since = await now(machine);
    const fixed = await pushCommit(machine, {
      message: "fix app",
      files: { "app.py": await machine.readFile(`${GUEST_REPO}/test/fixtures/sample-app/app.py`) },
    });
    await waitForEntry(
      machine,
      since,
      (e) => e.msg === "sync finished" && e.revision === fixed && e.outcome === "deployed",
      "the fixed commit to deploy",
      120_000,
    );
    sha = fixed;
    await machine.writeFile(AGENT_CONFIG_PATH, daemonConfig(), 0o644);
    await machine.exec(["systemctl", "reload", UNIT], { reject: true });
  });

  test("kill -STOP: the watchdog restarts the daemon", async () => {
    await machine.writeFile(
      `/etc/systemd/system/${UNIT}.d/test-watchdog.conf`,
      "[Service]\nWatchdogSec=5s\nRestartSec=1s\n",
      0o644,
    );
    await machine.exec(["systemctl", "daemon-reload"], { reject: true });
    await machine.exec(["systemctl", "restart", UNIT], { reject: true });
    const before = await mainPid(machine);
    const restarts = Number(await unitProperty(machine, UNIT, "NRestarts"));
    await machine.exec(["kill", "-STOP", String(before)], { reject: true });
    const after = await machine.waitFor(
      async () => {
        const pid = await mainPid(machine);
        const active = (await unitState(machine, UNIT)) === "active";
        return active && pid !== before && pid !== 0 ? pid : undefined;
      },
      30_000,
      { what: "a new daemon after the watchdog fired", intervalMs: 250 },
    );
    assert.notEqual(after, before);
    assert.equal(Number(await unitProperty(machine, UNIT, "NRestarts")), restarts + 1);
    assert.match(await journalText(machine), /Watchdog timeout/);
    await machine.exec(["rm", `/etc/systemd/system/${UNIT}.d/test-watchdog.conf`], {
      reject: true,
    });
    await machine.exec(["systemctl", "daemon-reload"], { reject: true });
    await machine.exec(["systemctl", "restart", UNIT], { reject: true });
  });

  test("SIGTERM lets a running sync finish, then exits 0", async () => {
    // An install hook that takes 4 s: the stop must wait for it, not kill it.
    await machine.writeFile(
      AGENT_CONFIG_PATH,
      daemonConfig({ hooks: { install: "sleep 4" } }),
      0o644,
    );
    await machine.exec(["systemctl", "reload", UNIT], { reject: true });
    const next = await pushCommit(machine, { message: "slow", files: { "CHANGES.txt": "slow\n" } });
    const since = await now(machine);
    assert.equal((await http(machine, "POST", "/v1/apps/shop/sync", TOKEN)).code, 202);
    await machine.waitFor(
      async () => (await unitProperty(machine, UNIT, "StatusText")).includes("deploying"),
      10_000,
      { what: "STATUS= to say deploying", intervalMs: 100 },
    );
    const started = performance.now();
    const stop = await machine.exec(["systemctl", "stop", UNIT]);
    const stopMs = Math.round(performance.now() - started);
    assert.equal(stop.exitCode, 0, stop.stderr);
    assert.equal(await unitProperty(machine, UNIT, "Result"), "success");
    assert.equal(await unitProperty(machine, UNIT, "ExecMainStatus"), "0");
    const log = (await entries(machine)).filter((e) => e.time >= since);
    const finished = log.findIndex((e) => e.msg === "sync finished" && e.revision === next);
    const stopped = log.findIndex((e) => e.msg === "daemon stopped");
    assert.ok(finished >= 0 && stopped > finished, "the sync finished before the daemon stopped");
    assert.equal(log[finished]?.outcome, "deployed");
    await waitForHealth(machine, next);
    sha = next;
    console.log(`# stop with a sync running: ${stopMs} ms`);
    await machine.writeFile(AGENT_CONFIG_PATH, daemonConfig(), 0o644);
    await machine.exec(["systemctl", "start", UNIT], { reject: true });
  });

  test("hardening: systemd-analyze security exposure is at most 5.0", async () => {
    const result = await machine.exec(["systemd-analyze", "security", "--no-pager", UNIT]);
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1]);
    console.log(`# systemd-analyze security ${UNIT}: ${score}`);
    assert.ok(score <= 5.0, `exposure ${score}\n${result.stdout}`);
    // The sandbox still lets the daemon judge the app: the last check is ok.
    const entry = await nextCheck(await now(machine), () => true, "a check under the sandbox");
    assert.equal(entry.status, "ok", JSON.stringify(entry));
  });

  test("idle memory of the daemon", async () => {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const pid = await mainPid(machine);
    const status = await machine.readFile(`/proc/${pid}/status`);
    const kB = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    const [rss, anon, file] = [kB("VmRSS"), kB("RssAnon"), kB("RssFile")];
    const cgroup = Math.round(Number(await unitProperty(machine, UNIT, "MemoryCurrent")) / 1024);
    console.log(
      `# idle VmRSS ${rss} kB = RssAnon ${anon} kB + RssFile ${file} kB (+ shmem); cgroup MemoryCurrent ${cgroup} kB`,
    );
    assert.ok(rss <= MAX_IDLE_RSS_KB, `VmRSS ${rss} kB > ${MAX_IDLE_RSS_KB} kB`);
    assert.ok(anon <= MAX_IDLE_ANON_KB, `RssAnon ${anon} kB > ${MAX_IDLE_ANON_KB} kB`);
    assert.ok(
      cgroup <= MAX_IDLE_CGROUP_KB,
      `MemoryCurrent ${cgroup} kB > ${MAX_IDLE_CGROUP_KB} kB`,
    );
  });

  test("after a reboot with the unit enabled the daemon is running", async () => {
    await machine.poweroff();
    await machine.boot();
    await machine.waitFor(async () => (await unitState(machine, UNIT)) === "active", 30_000, {
      what: "deploy-agent active after boot",
    });
    assert.match(await unitProperty(machine, UNIT, "StatusText"), /^shop: /);
    await waitForHealth(machine, sha);
  });
});
