// The seed's whole health script in `agent check`, on a real machine: endpoints, the .env file,
// the unit's journal and custom checks with the Nagios plugin contract (a real check_procs from
// monitoring-plugins-basic and a shell script). One machine serves every case: each breaks one
// thing, asserts the right check critical (exit 2), puts it back and proves exit 0 again. Then
// bad configs, and the daemon running the new checks on its schedule.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { GUEST_REPO } from "../machine/paths.js";
import {
  AGENT_CONFIG_PATH,
  type ConfigObject,
  provisionShop,
  SHOP_DIR,
  shopConfigYaml,
  waitForHealth,
} from "../machine/sample-app.js";
import { unitPids } from "../machine/units.js";
import {
  type CheckJson,
  checkOf,
  notOk,
  type ReportJson,
  agentCheck as runAgentCheck,
} from "./check-helpers.js";
import {
  entries,
  holdShopLock,
  http,
  isScheduledCheck,
  now,
  TOKEN_FILE,
  UNIT,
  waitForEntry,
} from "./daemon-helpers.js";
import { skipUnlessRoot as skip } from "./sync-helpers.js";

const SHARED = `${SHOP_DIR}/shared`;
const ENV_FILE = `${SHARED}/.env`;
// Where the plugin script records each run, to prove when it ran and when it did not.
const QUEUE_RUNS = "/var/log/check_queue.runs";
const LOG_WINDOW_S = 10;
const CHECK_ICMP = "/usr/lib/nagios/plugins/check_icmp";

// A queue plugin as a team writes one: a shell script with the Nagios contract.
const QUEUE_PLUGIN = `#!/bin/sh
date +%s.%N >> ${QUEUE_RUNS}
if [ -e ${SHARED}/queue-stuck ]; then
  echo "QUEUE CRITICAL: 42 jobs stuck | stuck=42;1;10;0"
  echo "oldest job: 3h"
  exit 2
fi
echo "QUEUE OK: 0 jobs stuck | stuck=0;1;10;0"
exit 0
`;

// The four additions as DESIGN.md configures them.
const MORE: ConfigObject = {
  health: {
    endpoints: [
      { path: "/login", status: 200 },
      { path: "/api/orders", status: 401 },
    ],
  },
  env_file: { path: ENV_FILE, required: ["SECRET_KEY", "DATABASE_URL"] },
  // Not "ERROR": gunicorn logs a killed worker at that level, and one test kills one.
  logs: { window: `${LOG_WINDOW_S}s`, pattern: "^Traceback", warning: 1, critical: 5 },
  checks: [
    { name: "procs", command: "/usr/lib/nagios/plugins/check_procs -C gunicorn -c 4:4" },
    { name: "queue", command: "/usr/local/bin/check_queue", user: "root", timeout: "5s" },
    // A plugin that needs its file capability (cap_net_raw), which the daemon's sandbox would
    // withhold; the shell variable proves the command reaches sh as written ($ not expanded by
    // systemd on the way).
    {
      name: "ping",
      command: `app=shop; [ "$app" = "$DEPLOY_AGENT_APP" ] && ${CHECK_ICMP} -H 127.0.0.1`,
    },
  ],
};

const SECRET = `sekrit-${randomBytes(6).toString("hex")}`;
const GOOD_ENV = `SECRET_KEY=${SECRET}\nDATABASE_URL=sqlite:///${SHARED}/shop.db\n`;

describe("more checks: endpoints, env_file, logs and Nagios plugins", { skip }, () => {
  let machine: Machine;
  let sha = "";
  const agentCheck = (...args: string[]) => runAgentCheck(machine, ...args);

  const writeConfig = (app: ConfigObject = MORE, root: ConfigObject = {}) =>
    machine.writeFile(AGENT_CONFIG_PATH, shopConfigYaml({ app: MORE }, { app, root }), 0o644);

  async function sh(script: string): Promise<string> {
    const result = await machine.sh(script);
    assert.equal(result.exitCode, 0, `${script}\n${result.stderr}`);
    return result.stdout.trim();
  }

  // The fault makes `name` critical and the whole check exit 2; the repair brings back exit 0.
  async function faultAndRepair(
    name: string,
    fault: string,
    repair: string,
    expect: (check: CheckJson) => void,
  ): Promise<void> {
    await sh(fault);
    const broken = await agentCheck();
    const check = checkOf(broken.report, name);
    assert.equal(check.status, "critical", `${name}: ${check.summary}`);
    assert.equal(broken.code, 2, notOk(broken.report));
    expect(check);
    await sh(repair);
    await assertAllOk();
  }

  async function assertAllOk(): Promise<ReportJson> {
    const { code, report } = await agentCheck();
    assert.equal(code, 0, notOk(report));
    return report;
  }

  before(async () => {
    machine = await bootMachine({ name: "more-checks" });
    ({ sha } = await provisionShop(machine, { config: { app: MORE } }));
    await machine.writeFile(ENV_FILE, GOOD_ENV, 0o600, "www-data:www-data");
    await machine.writeFile("/usr/local/bin/check_queue", QUEUE_PLUGIN, 0o755);
    await machine.waitFor(
      async () => ((await unitPids(machine, "shop.service")).length === 4 ? true : undefined),
      20_000,
      { what: "1 master + 3 workers" },
    );
    // A first backup, so the backups check is ok rather than "no backup yet" (warning).
    await sh("agent backup");
  });

  after(async () => {
    await machine?.destroy();
  });

  test("a healthy app with all four configured: exit 0, each in its place", async () => {
    const report = await assertAllOk();
    assert.deepEqual(
      report.checks.map((c) => c.name),
      [
        "release",
        "service",
        "processes",
        "permissions",
        "env_file",
        "database",
        "health",
        "endpoints",
        "backups",
        "disk",
        "drift",
        "logs",
        "procs",
        "queue",
        "ping",
      ],
    );
    assert.equal(checkOf(report, "endpoints").summary, "/login 200, /api/orders 401");
    assert.match(checkOf(report, "env_file").summary, /^mode 600, 2 required keys set/);
    assert.match(checkOf(report, "logs").summary, /^no line matches in the last 10s/);
    const procs = checkOf(report, "procs");
    assert.match(procs.summary, /^PROCS OK: 4 processes with command name 'gunicorn'/);
    assert.equal(procs.details.user, "www-data");
    const ping = checkOf(report, "ping");
    assert.match(ping.summary, /^OK - 127\.0\.0\.1/);
    assert.equal(ping.details.user, "www-data");
    const queue = checkOf(report, "queue");
    assert.equal(queue.summary, "QUEUE OK: 0 jobs stuck");
    assert.equal(queue.details.user, "root");
    assert.deepEqual(queue.details.perfdata, [
      { label: "stuck", value: "0", uom: "", warn: "1", crit: "10", min: "0" },
    ]);
    // The human table shows them by name too.
    const table = await machine.exec(["agent", "check"]);
    assert.equal(table.exitCode, 0, table.stdout);
    for (const name of ["endpoints", "env_file", "logs", "procs", "queue", "ping"]) {
      assert.match(table.stdout, new RegExp(`^${name}\\s+ok\\s`, "m"));
    }
    assert.ok(sha);
  });

  test("a required .env key emptied: env_file critical, the values in no output", async () => {
    await sh(`printf 'SECRET_KEY=\\nDATABASE_URL=${SECRET}\\n' > ${ENV_FILE}`);
    const json = await machine.exec(["agent", "check", "--json"]);
    const human = await machine.exec(["agent", "check"]);
    const history = await machine.exec(["agent", "history", "--json"]);
    const status = await machine.exec(["agent", "status", "--json"]);
    assert.equal(json.exitCode, 2);
    const check = checkOf(JSON.parse(json.stdout) as ReportJson, "env_file");
    assert.equal(check.status, "critical");
    assert.equal(check.summary, `${ENV_FILE}: empty SECRET_KEY`);
    const stateDb = await machine.exec([
      "sh",
      "-c",
      `grep -rl ${SECRET} /var/lib/deploy-agent || true`,
    ]);
    for (const [what, text] of [
      ["check --json", json.stdout + json.stderr],
      ["check", human.stdout + human.stderr],
      ["history --json", history.stdout + history.stderr],
      ["status --json", status.stdout + status.stderr],
      ["state directory", stateDb.stdout],
    ]) {
      assert.ok(!text?.includes(SECRET), `the value shows in ${what}`);
    }
    await machine.writeFile(ENV_FILE, GOOD_ENV, 0o600, "www-data:www-data");
    await assertAllOk();
  });

  test("the .env readable by others: env_file critical, then ok once private", async () => {
    await faultAndRepair("env_file", `chmod 644 ${ENV_FILE}`, `chmod 600 ${ENV_FILE}`, (c) =>
      assert.match(c.summary, /readable by others \(mode 644\)/),
    );
  });

  test("six Tracebacks in the journal within the window: logs critical, ok once it passed", async () => {
    const started = Date.now();
    await sh("for i in 1 2 3 4 5 6; do curl -s -o /dev/null http://127.0.0.1:8000/boom; done");
    // journald takes the lines from the unit's stderr stream a moment after they are written.
    const broken = await machine.waitFor(
      async () => {
        const result = await agentCheck();
        return checkOf(result.report, "logs").status === "critical" ? result : undefined;
      },
      5_000,
      { what: "logs critical", intervalMs: 200 },
    );
    assert.equal(broken.code, 2, notOk(broken.report));
    const logs = checkOf(broken.report, "logs");
    assert.match(logs.summary, /^6 lines in the last 10s match, newest: Traceback \(most recent/);
    assert.deepEqual(logs.details.units, ["shop.service"]);
    // The window moves past them: ok again with nothing repaired by hand.
    const wait = started + LOG_WINDOW_S * 1000 + 1500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await assertAllOk();
  });

  test("a plugin exiting 2: its check critical, its first line the summary", async () => {
    await faultAndRepair(
      "queue",
      `touch ${SHARED}/queue-stuck`,
      `rm ${SHARED}/queue-stuck`,
      (c) => {
        assert.equal(c.summary, "QUEUE CRITICAL: 42 jobs stuck");
        assert.deepEqual(c.details.longText, ["oldest job: 3h"]);
        assert.equal(c.details.exitCode, 2);
      },
    );
  });

  test("check_procs sees a worker missing: procs critical", async () => {
    // gunicorn's own signals: TTOU retires a worker, TTIN adds one back.
    const count = (n: number) =>
      `for i in $(seq 100); do [ "$(pgrep -c -x gunicorn)" = ${n} ] && exit 0; sleep 0.1; done; exit 1`;
    await faultAndRepair(
      "procs",
      `systemctl kill --kill-whom=main --signal=SIGTTOU shop.service; ${count(3)}`,
      `systemctl kill --kill-whom=main --signal=SIGTTIN shop.service; ${count(4)}`,
      (c) => assert.match(c.summary, /^PROCS CRITICAL: 3 processes/),
    );
  });

  test("an endpoint answering 500 where 200 is required: endpoints critical", async () => {
    await faultAndRepair("endpoints", `touch ${SHARED}/login-500`, `rm ${SHARED}/login-500`, (c) =>
      assert.equal(c.summary, "/login answered 500, expected 200, /api/orders 401"),
    );
  });

  test("a protected endpoint answering 200 where 401 is required: endpoints critical", async () => {
    await faultAndRepair("endpoints", `touch ${SHARED}/api-open`, `rm ${SHARED}/api-open`, (c) =>
      assert.equal(c.summary, "/api/orders answered 200, expected 401, /login 200"),
    );
  });

  test("a plugin hanging past its timeout, a child holding its output: unknown in time", async () => {
    await writeConfig({
      checks: [
        ...(MORE.checks as ConfigObject[]),
        { name: "hang", command: "sleep 600 & exec sleep 600", timeout: "2s" },
      ],
    });
    try {
      const started = performance.now();
      const { code, report } = await agentCheck();
      const wallMs = performance.now() - started;
      const hang = checkOf(report, "hang");
      assert.equal(hang.status, "unknown");
      assert.match(hang.summary, /^no result within 2 s/);
      assert.ok(hang.durationMs <= 3_000, `hang took ${hang.durationMs} ms`);
      assert.ok(wallMs < 6_000, `agent check took ${Math.round(wallMs)} ms`);
      assert.equal(code, 3, notOk(report));
      // Nothing it started is left: the scope took both sleeps with it.
      const left = await machine.exec(["pgrep", "-a", "-x", "sleep"]);
      assert.equal(left.stdout.trim(), "", "sleep processes left behind");
    } finally {
      await writeConfig();
    }
    await assertAllOk();
  });

  test("ten bad configs: 78 from sync and 3 from check, with the key named, nothing run", async () => {
    const runsBefore = await machine.readFile(QUEUE_RUNS);
    const bad: [string, ConfigObject, RegExp][] = [
      [
        "endpoint path",
        { health: { endpoints: [{ path: "login", status: 200 }] } },
        /apps\.shop\.health\.endpoints\.0\.path/,
      ],
      [
        "endpoint status",
        { health: { endpoints: [{ path: "/login", status: 99 }] } },
        /apps\.shop\.health\.endpoints\.0\.status/,
      ],
      ["logs pattern", { logs: { pattern: "Traceback[" } }, /apps\.shop\.logs\.pattern/],
      [
        "logs thresholds",
        { logs: { pattern: "ERROR", warning: 10, critical: 3 } },
        /apps\.shop\.logs\.critical/,
      ],
      [
        "check named like a built-in",
        { checks: [{ name: "database", command: "true" }] },
        /apps\.shop\.checks\.0\.name/,
      ],
      [
        "check user missing",
        { checks: [{ name: "deps", command: "true", user: "nobody-here" }] },
        /apps\.shop\.checks\.0\.user.*no such user/,
      ],
      [
        "check timeout",
        { checks: [{ name: "deps", command: "true", timeout: "soon" }] },
        /apps\.shop\.checks\.0\.timeout/,
      ],
      [
        "check unknown key",
        { checks: [{ name: "deps", command: "true", shell: "bash" }] },
        /apps\.shop\.checks\.0.*unknown key "shell"/,
      ],
      ["env_file path", { env_file: { path: "shared/.env" } }, /apps\.shop\.env_file\.path/],
      [
        "env_file key",
        { env_file: { path: ENV_FILE, required: ["SECRET-KEY"] } },
        /apps\.shop\.env_file\.required\.0/,
      ],
    ];
    for (const [what, app, key] of bad) {
      const file = `/etc/deploy-agent/bad-${what.replace(/\W+/g, "-")}.yaml`;
      await machine.writeFile(file, shopConfigYaml({ app: MORE }, { app }), 0o644);
      const sync = await machine.exec(["agent", "sync", "--config", file]);
      assert.equal(sync.exitCode, 78, `${what}: ${sync.stderr}`);
      assert.match(sync.stderr, key, what);
      const check = await machine.exec(["agent", "check", "--config", file]);
      assert.equal(check.exitCode, 3, `${what}: check ${check.stdout}${check.stderr}`);
    }
    assert.equal(await machine.readFile(QUEUE_RUNS), runsBefore, "no plugin ran");
    await assertAllOk();
  });

  test("the daemon: scheduled checks, LB health, metrics and history hold the new checks; none runs during a sync", async () => {
    const token = randomBytes(24).toString("hex");
    await writeConfig({ schedule: "*/3 * * * * *" }, { http: { listen: "127.0.0.1:9107" } });
    await machine.writeFile(TOKEN_FILE, `${token}\n`, 0o600);
    const runsBeforeDaemon = await machine.readFile(QUEUE_RUNS);
    await sh(`for unit in ${GUEST_REPO}/units/*.service; do install -m 0644 "$unit" /etc/systemd/system/; done
      systemctl daemon-reload
      systemctl start ${UNIT}`);
    try {
      const ok = await waitForEntry(
        machine,
        await now(machine),
        (e) => isScheduledCheck(e) && e.status === "ok",
        "an ok scheduled check",
      );
      assert.ok(ok);
      // The scheduled plugin wrote its record in /var/log, read-only inside the daemon's sandbox:
      // it ran as a unit of systemd's (which also makes the hold's "no plugin ran" below mean it).
      assert.notEqual(
        await machine.readFile(QUEUE_RUNS),
        runsBeforeDaemon,
        "the schedule ran no plugin",
      );
      const metrics = (await http(machine, "GET", "/metrics")).body;
      // ping among them: a plugin needing a file capability works on the daemon's schedule too
      // (it runs as a service of systemd's, not inside the daemon's sandbox).
      for (const name of ["endpoints", "env_file", "logs", "procs", "queue", "ping"]) {
        assert.match(
          metrics,
          new RegExp(`deploy_agent_check_status\\{app="shop",check="${name}"\\} 0`),
        );
      }
      // A plugin's fault reaches the schedule, the LB health and the history under its name.
      await sh(`touch ${SHARED}/queue-stuck`);
      const bad = await waitForEntry(
        machine,
        await now(machine),
        (e) => isScheduledCheck(e) && e.status === "critical",
        "a critical scheduled check",
      );
      assert.deepEqual(bad.failing, ["queue"]);
      const lb = await http(machine, "GET", "/v1/apps/shop/health");
      assert.equal(lb.code, 503);
      assert.equal(JSON.parse(lb.body).status, "critical");
      const metricsBad = (await http(machine, "GET", "/metrics")).body;
      assert.match(metricsBad, /deploy_agent_check_status\{app="shop",check="queue"\} 2/);
      const history = await machine.exec(["agent", "history", "--json"]);
      assert.match(history.stdout, /QUEUE CRITICAL: 42 jobs stuck/);
      await sh(`rm ${SHARED}/queue-stuck`);
      await waitForEntry(
        machine,
        await now(machine),
        (e) => isScheduledCheck(e) && e.status === "ok",
        "an ok scheduled check after the repair",
      );
      // A sync holds the app: the schedule says "deploying" and runs no plugin meanwhile.
      const release = await holdShopLock(machine);
      try {
        // A check that started before the lock was taken may still be running its plugin.
        await new Promise((r) => setTimeout(r, 1_500));
        const runsBefore = await machine.readFile(QUEUE_RUNS);
        const since = await now(machine);
        await waitForEntry(
          machine,
          since,
          (e) => isScheduledCheck(e) && e.status === "deploying",
          "a deploying entry",
        );
        await waitForEntry(
          machine,
          await now(machine),
          (e) => isScheduledCheck(e) && e.status === "deploying",
          "a second deploying entry",
        );
        assert.equal(
          await machine.readFile(QUEUE_RUNS),
          runsBefore,
          "a plugin ran during the hold",
        );
      } finally {
        await release();
      }
      assert.ok((await entries(machine)).length > 0);
    } finally {
      await machine.exec(["systemctl", "stop", UNIT]);
      await writeConfig();
    }
    await waitForHealth(machine, sha);
  });
});
