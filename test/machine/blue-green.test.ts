// The blue-green harness itself under test: real nginx in front of one color of the shop app,
// streams delivered unbuffered through it, and the recorders that the strategy's tests rely on.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import {
  BLUE_GREEN_CONFIG,
  PUBLIC_BASE_URL,
  PUBLIC_HEALTH_URL,
  provisionBlueGreen,
  startBlueGreenByHand,
  UPSTREAM_FILE,
} from "./blue-green.js";
import { startLoad, startStream } from "./load.js";
import { bootMachine, type Machine } from "./machine.js";
import { AGENT_CONFIG_PATH, shopConfigYaml } from "./shop-config.js";
import { unitPids, unitProperty, unitState } from "./units.js";

const skip =
  process.getuid?.() === 0
    ? false
    : "machine tests need root (namespaces, mounts, systemd as PID 1)";

test("blue-green config: DESIGN.md's keys over the shop's, a test's overrides on top", () => {
  const text = shopConfigYaml(BLUE_GREEN_CONFIG, { app: { blue_green: { drain_timeout: "0" } } });
  const app = (parse(text) as { apps: { shop: Record<string, unknown> } }).apps.shop;
  assert.equal(app.strategy, "blue-green");
  assert.equal(app.service, "shop@.service");
  assert.deepEqual(app.blue_green, {
    ports: { blue: 8001, green: 8002 },
    upstream_file: "/etc/nginx/deploy-agent/shop.upstream",
    proxy: "nginx.service",
    drain_timeout: "0",
    public_url: "http://127.0.0.1/health",
  });
  assert.deepEqual(app.health, {
    url: "http://127.0.0.1:{port}/health",
    version_field: "version",
    requests: 20,
  });
});

describe("blue-green harness on a real machine", { skip }, () => {
  let machine: Machine;
  let sha = "";

  before(async () => {
    machine = await bootMachine({ name: "blue-green" });
  });
  after(async () => {
    await machine?.destroy();
  });

  test("a fresh machine runs no nginx: deps.sh left it installed, disabled, stopped", async () => {
    assert.equal(await unitState(machine, "nginx.service"), "inactive");
    assert.equal(await unitProperty(machine, "nginx.service", "UnitFileState"), "disabled");
  });

  test("provisioning starts nothing and deploys nothing: that is the agent's first sync", async () => {
    sha = await provisionBlueGreen(machine);
    const layout = await machine.sh(`
      test "$(git --git-dir=/srv/shop/repo rev-parse refs/heads/main)" = "${sha}"
      test -z "$(ls -A /srv/shop/releases)"
      test ! -e /srv/shop/current
      test ! -e /srv/shop/colors
      test ! -e ${UPSTREAM_FILE}
      # As the app user: a root connection could leave root-owned -wal/-shm files behind.
      db() { runuser -u www-data -- sqlite3 /srv/shop/shared/shop.db "$1"; }
      test "$(db 'PRAGMA journal_mode')" = wal
      db 'SELECT COUNT(*) FROM orders' >/dev/null
      test "$(readlink /etc/nginx/sites-enabled/shop)" = /etc/nginx/sites-available/shop
      test ! -e /etc/nginx/sites-enabled/default
      grep -q 'strategy: blue-green' ${AGENT_CONFIG_PATH}`);
    assert.equal(layout.exitCode, 0, layout.stderr);
    assert.equal(await unitState(machine, "nginx.service"), "inactive");
    assert.equal(await unitProperty(machine, "nginx.service", "UnitFileState"), "enabled");
    assert.equal(await unitState(machine, "shop@blue.service"), "inactive");
  });

  test("by hand, blue serves through nginx: /health answers via the proxy", async () => {
    const release = await startBlueGreenByHand(machine, "blue");
    const links = await machine.sh(`
      test "$(readlink /srv/shop/colors/blue)" = "../releases/$(basename ${release})"
      test "$(readlink /srv/shop/current)" = "releases/$(basename ${release})"
      test "$(cat /srv/shop/colors/blue.env)" = PORT=8001`);
    assert.equal(links.exitCode, 0, links.stderr);
    const answer = await machine.exec(["curl", "-sfi", "--max-time", "5", PUBLIC_HEALTH_URL], {
      reject: true,
    });
    assert.match(answer.stdout, /^Server: nginx/im);
    assert.match(answer.stdout, new RegExp(`"version":"${sha}"`));
    assert.equal((await machine.readFile(UPSTREAM_FILE)).trim(), "server 127.0.0.1:8001;");
  });

  test("shop@blue is 1 master + 3 workers, threads not counted, with streams open", async () => {
    const stream = await startStream(machine, { baseUrl: PUBLIC_BASE_URL, seconds: 5 });
    await stream.waitForEvents(1);
    const pids = await machine.waitFor(
      async () => {
        const found = await unitPids(machine, "shop@blue.service");
        return found.length === 4 ? found : undefined;
      },
      15_000,
      { what: "4 processes in shop@blue.service's cgroup" },
    );
    const master = Number(await unitProperty(machine, "shop@blue.service", "MainPID"));
    assert.ok(pids.includes(master), `MainPID ${master} is in the cgroup ${pids.join(",")}`);
    const threads = await machine.exec(["ps", "-o", "nlwp=", "-p", pids.join(",")]);
    const total = threads.stdout.split("\n").reduce((sum, n) => sum + Number(n || 0), 0);
    assert.ok(total > 4, `the workers run threads (${total} in all)`);
    assert.equal((await stream.done()).complete, true);
  });

  test("a stream through nginx is delivered as it is written, not when it ends", async () => {
    const stream = await startStream(machine, {
      baseUrl: PUBLIC_BASE_URL,
      seconds: 3,
      intervalMs: 200,
    });
    const report = await stream.done();
    assert.equal(report.status, 200);
    assert.equal(report.complete, true, `cut: ${report.cut}`);
    assert.equal(report.events.length, 15);
    assert.deepEqual(report.versions, [sha]);
    const first = report.events[0]?.at ?? Number.NaN;
    const last = report.events.at(-1)?.at ?? Number.NaN;
    assert.ok(first - report.startedAt < 1, `first event after ${first - report.startedAt} s`);
    assert.ok(last - first > 2.5, `events spread over ${last - first} s, not one burst`);
    assert.ok((report.endedAt ?? 0) - report.startedAt >= 3, "the end event closes the stream");
  });

  test("normal requests are served alongside long streams, every answer recorded", async () => {
    // More streams than workers, all under way at once: a sync worker serves one request at a
    // time, so there the fourth stream would wait for a worker, and so would the load below.
    const streams = await Promise.all(
      [1, 2, 3, 4].map(() => startStream(machine, { baseUrl: PUBLIC_BASE_URL, seconds: 6 })),
    );
    await Promise.all(streams.map((s) => s.waitForEvents(1, 3000)));
    const load = await startLoad(machine, { url: PUBLIC_HEALTH_URL, clients: 4 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const report = await load.stop();
    const ends = await Promise.all(streams.map((s) => s.done()));
    for (const end of ends) assert.equal(end.complete, true, `cut: ${end.cut}`);
    const lastAnswer = Math.max(...report.records.map((r) => r.end));
    assert.ok(lastAnswer < Math.min(...ends.map((e) => e.endedAt ?? 0)), "load ran during streams");
    assert.ok(report.total > 20, `only ${report.total} requests`);
    assert.deepEqual(report.failedByKind, {});
    assert.deepEqual(report.versions, [sha]);
    assert.equal(report.mixed, 0);
    assert.ok(report.latencyMs.max < 1000, `max latency ${report.latencyMs.max} ms`);
  });
});
