// Strategy blue-green on a real machine: real nginx in front, gunicorn with threads (a stream and
// normal requests served together), steady load through the proxy while the agent deploys, rolls
// back, refuses, and recovers from power cuts. One machine for every case, in order; each case
// leaves one color serving the head of main behind a valid upstream, as the next one expects.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  BLUE_GREEN_CONFIG,
  BLUE_GREEN_PORTS,
  type Color,
  NGINX_SITE_PATH,
  PUBLIC_BASE_URL,
  PUBLIC_HEALTH_URL,
  provisionBlueGreen,
  UPSTREAM_FILE,
} from "../machine/blue-green.js";
import { startLoad, startStream } from "../machine/load.js";
import { bootMachine, type Machine } from "../machine/machine.js";
import { AGENT_CONFIG_PATH, pushCommit, type ShopConfigOverrides } from "../machine/sample-app.js";
import { shopConfigYaml } from "../machine/shop-config.js";
import { unitProperty, unitState } from "../machine/units.js";
import {
  agent,
  deploymentRows,
  explain,
  installSyncUnit,
  migrationFiles,
  sh,
  skipUnlessRoot,
} from "./sync-helpers.js";

const COLORS: Color[] = ["blue", "green"];
// Marker files in /tmp switch on the slow moments power cuts aim at; a reboot empties /tmp.
const SLOW_APP = `
import os as _os, time as _time
if _os.path.exists("/tmp/slow-start"):
    _time.sleep(120)


@app.before_request
def _slow_behind_proxy():
    from flask import request as _request
    if _os.path.exists("/tmp/slow-public") and _request.headers.get("X-Forwarded-For"):
        _time.sleep(3)
`;

describe("strategy blue-green through a real nginx", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let appPy = "";
  let head = "";
  let n = 0;

  // agent.yaml: the blue-green shop with a test's overrides (short verify, a drain limit...).
  const writeConfig = (app: ShopConfigOverrides["app"] = {}) =>
    machine.writeFile(
      AGENT_CONFIG_PATH,
      shopConfigYaml(BLUE_GREEN_CONFIG, { app: { verify: { timeout: "20s" }, ...app } }),
      0o644,
    );

  // A new commit on main: the app as the fixture has it (plus `extra` Python at its end).
  const push = async (message: string, extra = "") => {
    n += 1;
    head = await pushCommit(machine, {
      message,
      files: { "app.py": `${appPy}${extra}`, "CHANGES.txt": `${message} ${n}\n` },
    });
    return head;
  };

  // Which color the upstream file names, from its port.
  const upstreamColor = async (): Promise<Color> => {
    const text = await machine.readFile(UPSTREAM_FILE);
    const port = Number(/server 127\.0\.0\.1:(\d+);/.exec(text)?.[1]);
    const color = COLORS.find((c) => BLUE_GREEN_PORTS[c] === port);
    assert.ok(color, `upstream file names no color: ${text}`);
    return color;
  };

  // The state every case ends in: one color serving `sha` through nginx, named by the upstream
  // file, `nginx -t` clean, the other color stopped, no deployment left running.
  const assertOneColorServes = async (sha: string): Promise<Color> => {
    const color = await upstreamColor();
    const other = color === "blue" ? "green" : "blue";
    const answer = JSON.parse(await sh(machine, `curl -sf --max-time 5 ${PUBLIC_HEALTH_URL}`));
    assert.equal(answer.version, sha, "the proxy serves the head");
    assert.equal(await unitState(machine, `shop@${color}.service`), "active");
    assert.equal(await unitState(machine, `shop@${other}.service`), "inactive", `${other} stopped`);
    await sh(machine, "nginx -t 2>&1");
    const running = (await deploymentRows(machine)).filter((r) => r.outcome === "running");
    assert.deepEqual(running, [], "no deployment left running");
    const current = await sh(machine, "readlink /srv/shop/current");
    const colorLink = await sh(machine, `readlink /srv/shop/colors/${color}`);
    assert.equal(`../${current}`, colorLink, "current is the serving color's release");
    return color;
  };

  const mainPid = (color: Color) => unitProperty(machine, `shop@${color}.service`, "MainPID");

  before(async () => {
    machine = await bootMachine({ name: "blue-green-sync" });
    head = await provisionBlueGreen(machine, { config: false });
    await writeConfig();
    await installSyncUnit(machine);
    appPy = await machine.readFile("/opt/deploy-agent/test/fixtures/sample-app/app.py");
  });
  after(async () => {
    await machine?.destroy();
  });

  test("first deploy: blue starts, is verified, nginx is started with blue behind it", async () => {
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, /start .* ok .*shop@blue\.service on :8001/);
    assert.match(run.stdout, /switch .* ok .*127\.0\.0\.1:8001 \(blue\), nginx -t ok/);
    assert.equal(await assertOneColorServes(head), "blue");
    assert.equal(await sh(machine, "systemctl is-enabled shop@blue.service"), "enabled");
    const check = await agent(machine, ["check"]);
    assert.equal(check.code, 0, explain(check));
  });

  test("under load with a 30 s stream open: 0 failed, the stream whole, old color stopped after it", async () => {
    const from = head;
    const stream = await startStream(machine, { baseUrl: PUBLIC_BASE_URL, seconds: 30 });
    await stream.waitForEvents(2);
    const load = await startLoad(machine, { url: PUBLIC_HEALTH_URL, clients: 4 });
    const sha = await push("under load");
    const started = Date.now();
    const run = await agent(machine, ["sync"], { timeoutMs: 120_000 });
    const report = await load.stop();
    const streamed = await stream.done();
    assert.equal(run.code, 0, explain(run));
    assert.equal(report.failed, 0, JSON.stringify(report.failedByKind));
    assert.ok((report.answers[sha] ?? 0) > 0, JSON.stringify(report.answers));
    // nginx's reload overlaps its generations of workers for a moment: the new ones accept while
    // the old ones have not yet seen their signal to stop accepting, so a request may still reach
    // the old color just after another reached the new one. The agent waits for that moment to
    // pass before it verifies; after it, no request ever reaches the old color again.
    const firstNew = Math.min(...report.records.filter((r) => r.version === sha).map((r) => r.end));
    const late = report.records.filter((r) => r.version === from && r.start > firstNew);
    const overlap = Math.max(0, ...late.map((r) => r.start - firstNew));
    assert.ok(overlap < 0.5, `old answers ${overlap.toFixed(3)} s after the first new one`);
    assert.equal(streamed.complete, true, `stream cut: ${streamed.cut}`);
    assert.deepEqual(streamed.versions, [from], "every event from the old color");
    // The sync waited for the stream: it ended after the stream did.
    assert.ok(Date.now() - started >= 15_000, "the drain waited for the stream");
    assert.match(run.stdout, /drain .* ok .*blue drained in/);
    assert.equal(await assertOneColorServes(sha), "green");
    const check = await agent(machine, ["check"]);
    assert.equal(check.code, 0, explain(check));
    console.log(
      `# blue-green under load: ${report.total} requests, p99 ${report.latencyMs.p99} ms, max ${report.latencyMs.max} ms; ${report.mixed} mixed within ${(overlap * 1000).toFixed(0)} ms of the switch; stream ${streamed.events.length} events`,
    );
  });

  test("drain_timeout 5s with a 60 s stream: the drain ends at 5 s and says what it cut", async () => {
    await writeConfig({ blue_green: { drain_timeout: "5s" } });
    try {
      const stream = await startStream(machine, { baseUrl: PUBLIC_BASE_URL, seconds: 60 });
      await stream.waitForEvents(2);
      const sha = await push("drain limit");
      const run = await agent(machine, ["sync"], { timeoutMs: 120_000 });
      assert.equal(run.code, 0, explain(run));
      assert.match(
        run.stdout,
        /drain +[\d.]+s +ok +green: drain_timeout of 5\.0s reached, 1 connection cut/,
      );
      const drain = /drain +([\d.]+)s/.exec(run.stdout)?.[1];
      assert.ok(Number(drain) >= 5 && Number(drain) < 8, `drain took ${drain}s`);
      const streamed = await stream.done(30_000);
      assert.equal(streamed.complete, false, "the stream was cut");
      assert.match(run.stderr, /"cut":1/, "the log says how many connections were cut");
      assert.equal(await assertOneColorServes(sha), "blue");
    } finally {
      await writeConfig();
    }
  });

  test("a release that cannot start, fails on its port, or fails through the proxy never serves", async () => {
    const serving = await upstreamColor();
    const pid = await mainPid(serving);
    const good = head;
    const load = await startLoad(machine, { url: PUBLIC_HEALTH_URL, clients: 4 });
    const runs: string[] = [];
    try {
      await push("cannot start", '\nraise SystemExit("broken on purpose")\n');
      const crash = await agent(machine, ["sync"]);
      assert.equal(crash.code, 1, explain(crash));
      runs.push(crash.stdout);

      await push(
        "wrong version on its port",
        '\n@app.after_request\ndef _lie(response):\n    if response.is_json:\n        response.set_data(response.get_data().replace(REVISION.encode(), b"0" * 40))\n    return response\n',
      );
      const lying = await agent(machine, ["sync"]);
      assert.equal(lying.code, 1, explain(lying));
      assert.match(lying.stdout, /verify .* failed/);
      runs.push(lying.stdout);

      // The proxy answers public_url from somewhere else (a stale cache, say): the public
      // verify fails after the switch, and the proxy is switched back.
      await sh(
        machine,
        `sed -i 's|^    location / {|    location = /stale-health { default_type application/json; return 200 \\x27{"status": "ok", "version": "stale"}\\x27; }\\n    location / {|' ${NGINX_SITE_PATH}`,
      );
      await writeConfig({ blue_green: { public_url: `${PUBLIC_BASE_URL}/stale-health` } });
      await push("fails through the proxy");
      const hidden = await agent(machine, ["sync"]);
      assert.equal(hidden.code, 1, explain(hidden));
      assert.match(hidden.stdout, /verify-public .* failed/);
      assert.match(hidden.stdout, /switch .* ok .*\(/);
      runs.push(hidden.stdout);
    } finally {
      await writeConfig();
      const report = await load.stop();
      assert.equal(report.failed, 0, `${JSON.stringify(report.failedByKind)}\n${runs.join("\n")}`);
    }
    assert.equal(await upstreamColor(), serving, "the serving color still serves");
    assert.equal(await mainPid(serving), pid, "and was never restarted");
    const answer = JSON.parse(await sh(machine, `curl -sf ${PUBLIC_HEALTH_URL}`));
    assert.equal(answer.version, good);
    const rows = (await deploymentRows(machine)).slice(0, 3).map((r) => r.outcome);
    assert.deepEqual(rows, ["rolled-back", "failed", "failed"]);
    // The head is a commit that fails only through the stale route: deploy it for real now.
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertOneColorServes(head);
  });

  test("a failed migration is reported with the schema before and after; the DB is not restored", async () => {
    const serving = await upstreamColor();
    const pid = await mainPid(serving);
    n += 1;
    await pushCommit(machine, {
      message: "failing migration",
      files: migrationFiles(
        90,
        "CREATE TABLE refunds (id INTEGER);\nINSERT INTO no_such_table VALUES (1);",
      ),
    });
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 1, explain(run));
    assert.match(run.stdout, /migrate .* failed/);
    assert.match(
      run.stdout,
      /the DB was not restored, as blue-green never does: schema before: user_version \d+, \d+ objects; after: /,
    );
    assert.match(run.stdout, /agent restore shop\.db\.\S+\.bak/);
    assert.equal(await mainPid(serving), pid, "the serving color was never touched");
    // Put the fixture's migrations back, so the next deploys migrate cleanly.
    head = await pushCommit(machine, {
      message: "fix forward",
      files: { "migrations/090_step90.sql": null },
    });
    const again = await agent(machine, ["sync"]);
    assert.equal(again.code, 0, explain(again));
    await assertOneColorServes(head);
  });

  test("agent rollback right after a deploy switches back with 0 failed requests", async () => {
    const before = head;
    const sha = await push("to be rolled back");
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    const load = await startLoad(machine, { url: PUBLIC_HEALTH_URL, clients: 4 });
    const back = await agent(machine, ["rollback"]);
    const report = await load.stop();
    assert.equal(back.code, 0, explain(back));
    assert.match(back.stdout, /rollback .* skipped .*DB kept/);
    assert.equal(report.failed, 0, JSON.stringify(report.failedByKind));
    // As for a deploy: old answers only within nginx's reload overlap, never after it.
    const firstBack = Math.min(
      ...report.records.filter((r) => r.version === before).map((r) => r.end),
    );
    const late = report.records.filter((r) => r.version === sha && r.start > firstBack);
    assert.ok(Math.max(0, ...late.map((r) => r.start - firstBack)) < 0.5, `${late.length} late`);
    await assertOneColorServes(before);
    assert.notEqual(before, sha);
    // Forward again, so the head is live for the next case.
    const again = await agent(machine, ["sync"]);
    assert.equal(again.code, 0, explain(again));
    await assertOneColorServes(sha);
  });

  test("a failing nginx -t (the operator broke the site) refuses the switch and keeps serving", async () => {
    const serving = await upstreamColor();
    const upstream = await machine.readFile(UPSTREAM_FILE);
    const live = head;
    await sh(
      machine,
      `cp ${NGINX_SITE_PATH} /root/site.good && echo 'server { listen' >> ${NGINX_SITE_PATH}`,
    );
    try {
      await push("behind a broken site");
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 1, explain(run));
      assert.match(run.stdout, /switch .* failed/);
      assert.match(run.stdout + run.stderr, /nginx/);
      assert.equal(await machine.readFile(UPSTREAM_FILE), upstream, "upstream file put back");
      const answer = JSON.parse(await sh(machine, `curl -sf ${PUBLIC_HEALTH_URL}`));
      assert.equal(answer.version, live);
      assert.equal(await upstreamColor(), serving);
    } finally {
      await sh(machine, `cp /root/site.good ${NGINX_SITE_PATH}`);
    }
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertOneColorServes(head);
  });

  test("a port held by another process is refused before anything is touched (exit 78)", async () => {
    const idle: Color = (await upstreamColor()) === "blue" ? "green" : "blue";
    const port = BLUE_GREEN_PORTS[idle];
    await sh(
      machine,
      `systemd-run --unit=squatter --quiet python3 -m http.server ${port} --bind 127.0.0.1
       for i in $(seq 50); do ss -ltn | grep -q ':${port} ' && break; sleep 0.1; done`,
    );
    try {
      const releases = await sh(machine, "ls /srv/shop/releases | wc -l");
      await push("port taken");
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 78, explain(run));
      assert.match(
        run.stderr + run.stdout,
        new RegExp(
          `blue_green\\.ports\\.${idle}: port ${port} is in use by pid \\d+ \\(python3\\)`,
        ),
      );
      assert.equal(await sh(machine, "ls /srv/shop/releases | wc -l"), releases, "nothing built");
    } finally {
      await sh(machine, "systemctl stop squatter.service");
    }
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertOneColorServes(head);
  });

  // Start `agent sync`, cut the power once `ready` holds, boot again; the boot sync recovers and
  // deploys the head.
  async function cutWhen(what: string, ready: () => Promise<boolean>): Promise<void> {
    const sync = machine.exec(["agent", "sync"], { timeoutMs: 300_000 });
    let finished = false;
    void sync.then(() => {
      finished = true;
    });
    await machine.waitFor(
      async () => {
        if (finished)
          throw new Error(`sync finished before ${what}: ${JSON.stringify(await sync)}`);
        return ready();
      },
      90_000,
      { what, intervalMs: 50 },
    );
    await machine.powerCut();
    await sync.catch(() => undefined);
    await machine.boot();
    await machine.waitFor(
      async () =>
        (await unitProperty(machine, "deploy-agent-sync.service", "ActiveState")) !== "activating",
      180_000,
      { what: "the boot sync to finish", intervalMs: 500 },
    );
    const result = await unitProperty(machine, "deploy-agent-sync.service", "Result");
    assert.equal(
      result,
      "success",
      await sh(machine, "journalctl -b -u deploy-agent-sync -o cat | tail -40"),
    );
  }

  const step = async () => (await deploymentRows(machine))[0]?.step;

  test("power cut while the idle color starts: the serving color stays, the head deploys at boot", async () => {
    const serving = await upstreamColor();
    await push("slow start", SLOW_APP);
    await sh(machine, "touch /tmp/slow-start");
    await cutWhen("the idle color starting", async () =>
      ["start", "verify"].includes((await step()) ?? ""),
    );
    const color = await assertOneColorServes(head);
    assert.notEqual(color, serving, "the boot sync deployed the head onto the other color");
  });

  test("power cut after the upstream file is written, before the reload: forward at boot", async () => {
    const serving = await upstreamColor();
    const next = serving === "blue" ? "green" : "blue";
    // nginx -t slowed by a wrapper found first on PATH (PID 1's: /usr/local/sbin).
    await sh(
      machine,
      `printf '#!/bin/sh\\n[ -e /tmp/slow-nginx-t ] && sleep 60\\nexec /usr/sbin/nginx "$@"\\n' > /usr/local/sbin/nginx
       chmod 755 /usr/local/sbin/nginx; touch /tmp/slow-nginx-t`,
    );
    try {
      await push("cut before reload");
      await cutWhen("the upstream written, not reloaded", async () =>
        (await machine.readFile(UPSTREAM_FILE)).includes(`:${BLUE_GREEN_PORTS[next]};`),
      );
    } finally {
      await sh(machine, "rm -f /usr/local/sbin/nginx");
    }
    assert.equal(await assertOneColorServes(head), next);
  });

  test("power cut after the reload, during the public verify: forward at boot", async () => {
    const serving = await upstreamColor();
    await push("cut after reload", SLOW_APP);
    await sh(machine, "touch /tmp/slow-public");
    await cutWhen("the public verify", async () => (await step()) === "verify-public");
    assert.notEqual(await assertOneColorServes(head), serving);
  });

  test("power cut while draining: the new color serves at boot, the old one is stopped", async () => {
    const serving = await upstreamColor();
    const stream = await startStream(machine, { baseUrl: PUBLIC_BASE_URL, seconds: 120 });
    await stream.waitForEvents(2);
    await push("cut while draining");
    await cutWhen("the drain", async () => (await step()) === "drain");
    assert.notEqual(await assertOneColorServes(head), serving);
  });

  test("the daemon's poll deploys a push with this strategy", async () => {
    await writeConfig({ poll: "2s" });
    await sh(
      machine,
      `install -m 0644 /opt/deploy-agent/units/deploy-agent.service /etc/systemd/system/
       systemctl daemon-reload && systemctl start deploy-agent.service`,
    );
    try {
      const sha = await push("polled");
      await machine.waitFor(
        async () => {
          const rows = await deploymentRows(machine);
          if (rows[0]?.outcome === "running") return undefined;
          const answer = await machine.exec(["curl", "-sf", "--max-time", "2", PUBLIC_HEALTH_URL]);
          return answer.stdout.includes(sha) ? true : undefined;
        },
        120_000,
        { what: "the poll's deploy", intervalMs: 500 },
      );
      await assertOneColorServes(sha);
    } finally {
      await sh(machine, "systemctl stop deploy-agent.service");
      await writeConfig();
    }
  });
});
