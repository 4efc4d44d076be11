// Telling people, on a real machine: a real receiver (a small HTTP server in the machine) records
// the POSTs of a json target and a slack one; a failed migration, a fault between scheduled
// checks and its repair, a deploy while the receiver is down (the daemon restarted meanwhile),
// `agent notify test`. Then the status page, rendered by a real headless Chromium through its
// sign-in form, screenshot taken.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { NotifyEvent } from "../../src/notify/event.js";
import { bootMachine, type Machine } from "../machine/machine.js";
import { GUEST_REPO } from "../machine/paths.js";
import {
  AGENT_CONFIG_PATH,
  provisionShop,
  pushCommit,
  shopConfigYaml,
  waitForHealth,
} from "../machine/sample-app.js";
import { ENDPOINT, TOKEN_FILE, UNIT } from "./daemon-helpers.js";
import { migrationFiles, skipUnlessRoot } from "./sync-helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = skipUnlessRoot || (!existsSync(CHROMIUM) && "no /usr/bin/chromium on this host");

const RECEIVER_LOG = "/var/lib/receiver/posts.jsonl";
const RECEIVER_UNIT = "receiver.service";
// The secret part of the Slack-style URL: it must show nowhere but in its url_file.
const SECRET = `XOXSECRET${randomBytes(8).toString("hex")}`;
const SLACK_URL_FILE = "/etc/deploy-agent/slack-url";
const TOKEN = randomBytes(24).toString("hex");
// Where the screenshot goes (the README shows a copy of one).
const SCREENSHOT = path.resolve("dist/status-page.png");

// A receiver as small as they come: every POST appended as one JSON line, answered 200.
const RECEIVER = `import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        with open("${RECEIVER_LOG}", "a") as log:
            log.write(json.dumps({"path": self.path, "type": self.headers.get("content-type"), "body": body}) + "\\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
HTTPServer(("127.0.0.1", 9999), Hook).serve_forever()
`;

interface Post {
  path: string;
  type: string;
  body: string;
}

describe("notifications and the status page", { skip }, () => {
  let machine: Machine;
  let sha = "";
  let migration = 1;

  async function sh(script: string): Promise<string> {
    const result = await machine.sh(script);
    assert.equal(result.exitCode, 0, `${script}\n${result.stderr}`);
    return result.stdout.trim();
  }

  async function posts(): Promise<Post[]> {
    const text = await machine.exec(["cat", RECEIVER_LOG]);
    return text.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Post);
  }

  // The json target's events, in order.
  async function events(): Promise<NotifyEvent[]> {
    return (await posts())
      .filter((p) => p.path === "/hook")
      .map((p) => JSON.parse(p.body) as NotifyEvent);
  }

  async function waitForEvents(match: (e: NotifyEvent) => boolean, count: number, what: string) {
    return machine.waitFor(
      async () => {
        const found = (await events()).filter(match);
        return found.length >= count ? found : undefined;
      },
      60_000,
      { what, intervalMs: 250 },
    );
  }

  before(async () => {
    machine = await bootMachine({ name: "notify" });
    ({ sha } = await provisionShop(machine, { config: false }));
    await machine.writeFile(
      "/etc/systemd/system/receiver.service",
      `[Service]\nExecStart=/usr/bin/python3 /usr/local/lib/receiver.py\n`,
      0o644,
    );
    await machine.writeFile("/usr/local/lib/receiver.py", RECEIVER, 0o644);
    await sh(`mkdir -p ${path.dirname(RECEIVER_LOG)}; touch ${RECEIVER_LOG}
      systemctl daemon-reload; systemctl start ${RECEIVER_UNIT}
      for i in $(seq 50); do curl -s -o /dev/null -X POST http://127.0.0.1:9999/ready && exit 0; sleep 0.1; done; exit 1`);
    await machine.writeFile(
      SLACK_URL_FILE,
      `http://127.0.0.1:9999/slack/services/T0/B0/${SECRET}\n`,
      0o600,
    );
    await machine.writeFile(TOKEN_FILE, `${TOKEN}\n`, 0o600);
    await machine.writeFile(
      AGENT_CONFIG_PATH,
      shopConfigYaml({
        app: { schedule: "*/3 * * * * *", verify: { timeout: "15s" } },
        root: {
          http: { listen: "127.0.0.1:9107" },
          notify: [
            { url: "http://127.0.0.1:9999/hook", format: "json" },
            {
              name: "slack",
              url_file: SLACK_URL_FILE,
              format: "slack",
              events: ["rolled-back", "failed", "check-critical"],
            },
          ],
        },
      }),
      0o644,
    );
    await sh(`for unit in ${GUEST_REPO}/units/*.service; do install -m 0644 "$unit" /etc/systemd/system/; done
      systemctl daemon-reload
      agent backup`);
  });

  after(async () => {
    await machine?.destroy();
  });

  test("agent notify test: each receiver's answer printed", async () => {
    const result = await machine.exec(["agent", "notify", "test"]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^notify\.0 \(json\): HTTP 200 in \d+ ms: ok$/m);
    assert.match(result.stdout, /^slack \(slack\): HTTP 200 in \d+ ms: ok$/m);
    assert.ok(!(result.stdout + result.stderr).includes(SECRET));
    const one = await machine.exec(["agent", "notify", "test", "slack"]);
    assert.equal(one.exitCode, 0);
    assert.doesNotMatch(one.stdout, /notify\.0/);
    const unknown = await machine.exec(["agent", "notify", "test", "teams"]);
    assert.equal(unknown.exitCode, 64);
    await sh(`: > ${RECEIVER_LOG}`);
  });

  test("a failed migration: one rolled-back, with the step and its error; slack gets its shape", async () => {
    const bad = await pushCommit(machine, {
      message: "bad migration",
      files: migrationFiles(++migration, "CREATE TABLE broken (;"),
    });
    const sync = await machine.exec(["agent", "sync"]);
    assert.equal(sync.exitCode, 1, sync.stderr);
    const [event] = await waitForEvents((e) => e.event === "rolled-back", 1, "a rolled-back POST");
    assert.ok(event);
    assert.equal(event.app, "shop");
    assert.equal(event.revision, bad);
    assert.equal(event.status, "rolled-back");
    assert.equal(event.step, "migrate");
    assert.match(event.error ?? "", /migrate/);
    assert.match(event.message, /failed at migrate and was rolled back/);
    assert.ok(Date.parse(event.at) > 0);
    assert.equal((await events()).filter((e) => e.event === "rolled-back").length, 1);
    // The slack target: Slack's incoming-webhook payload, at the secret path.
    const slack = await machine.waitFor(
      async () => (await posts()).find((p) => p.path.startsWith("/slack/")),
      20_000,
      { what: "the slack POST" },
    );
    assert.equal(slack.path, `/slack/services/T0/B0/${SECRET}`);
    assert.equal(slack.type, "application/json");
    const body = JSON.parse(slack.body) as { text: string; blocks: { type: string }[] };
    assert.match(body.text, /\*shop\* rolled-back/);
    assert.deepEqual(
      body.blocks.map((b) => b.type),
      ["section", "context"],
    );
    // Revert the bad commit so the branch deploys again.
    await pushCommit(machine, {
      message: "revert bad migration",
      files: { [Object.keys(migrationFiles(migration, ""))[0] as string]: null },
    });
    const fixed = await machine.exec(["agent", "sync"]);
    assert.equal(fixed.exitCode, 0, fixed.stderr);
    await waitForEvents((e) => e.event === "deployed", 1, "a deployed POST");
    sha = (await sh("cat /srv/shop/current/REVISION")) || sha;
  });

  test("a fault between scheduled checks: one check-critical; the repair: one check-recovered", async () => {
    await sh(`systemctl start ${UNIT}`);
    // A first ok scheduled check, so the fault is a change.
    await machine.waitFor(
      async () =>
        (await machine.exec(["journalctl", "-u", UNIT, "-o", "cat", "--grep", "check finished"]))
          .stdout !== "",
      20_000,
      { what: "a scheduled check" },
    );
    await sh("systemctl stop shop.service");
    const [critical] = await waitForEvents(
      (e) => e.event === "check-critical",
      1,
      "check-critical",
    );
    assert.ok(critical);
    assert.equal(critical.status, "critical");
    assert.match(critical.message, /service critical/);
    // Several more critical checks tell no one again.
    await new Promise((r) => setTimeout(r, 7_000));
    assert.equal((await events()).filter((e) => e.event === "check-critical").length, 1);
    await sh("systemctl start shop.service");
    await waitForHealth(machine, sha);
    const [recovered] = await waitForEvents(
      (e) => e.event === "check-recovered",
      1,
      "check-recovered",
    );
    assert.ok(recovered);
    assert.match(recovered.message, /is ok again/);
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal((await events()).filter((e) => e.event === "check-recovered").length, 1);
  });

  test("receiver down during a deploy: usual time; delivered once it is back, across a daemon restart", async () => {
    // The usual time first, receiver up.
    const warm = await pushCommit(machine, { message: "warm", files: { "CHANGES.txt": "w\n" } });
    let started = performance.now();
    assert.equal((await machine.exec(["agent", "sync"])).exitCode, 0);
    const usualMs = performance.now() - started;
    await waitForEvents((e) => e.event === "deployed" && e.revision === warm, 1, "warm deployed");
    await sh(`systemctl stop ${RECEIVER_UNIT}`);
    const next = await pushCommit(machine, {
      message: "while down",
      files: { "CHANGES.txt": "d\n" },
    });
    started = performance.now();
    const sync = await machine.exec(["agent", "sync"]);
    const downMs = performance.now() - started;
    assert.equal(sync.exitCode, 0, sync.stderr);
    assert.ok(
      downMs < usualMs + 1_500,
      `deploy took ${Math.round(downMs)} ms, usually ${Math.round(usualMs)}`,
    );
    const queued = await machine.exec([
      "sqlite3",
      "/var/lib/deploy-agent/state.db",
      "SELECT event, attempts FROM notifications",
    ]);
    assert.match(queued.stdout, /^deployed\|\d+$/m, "the notification waits in the queue");
    await sh(`systemctl restart ${UNIT}`);
    await new Promise((r) => setTimeout(r, 2_000));
    await sh(`systemctl start ${RECEIVER_UNIT}`);
    const delivered = await waitForEvents(
      (e) => e.event === "deployed" && e.revision === next,
      1,
      "the queued deployed POST",
    );
    assert.equal(delivered.length, 1);
    sha = next;
  });

  test("the secret URL is nowhere: not in the journal, the state DB or any output", async () => {
    const journal = await machine.exec(["journalctl", "--no-pager", "-o", "json"]);
    assert.ok(!journal.stdout.includes(SECRET), "in the journal");
    const grep = await machine.exec([
      "grep",
      "-rl",
      SECRET,
      "/var/lib/deploy-agent",
      "/run/deploy-agent",
    ]);
    assert.equal(grep.stdout.trim(), "", "in the agent's state");
    const status = await machine.exec(["agent", "status", "--json"]);
    assert.ok(!status.stdout.includes(SECRET));
  });

  test("the status page through a real Chromium: sign-in form, app, revision, one bar per step", async () => {
    const shot = "/tmp/status-page.png";
    const run = await machine.exec(
      [
        process.execPath,
        `${GUEST_REPO}/dist/test/integration/status-page-browser.js`,
        `${ENDPOINT}/`,
        TOKEN,
        shot,
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(run.exitCode, 0, run.stderr);
    const facts = JSON.parse(run.stdout) as {
      strangerHtml: string;
      cookie: { httpOnly: boolean; sameSite: string; value: string } | null;
      apps: string[];
      revision: string | null;
      deployments: { id: number; bars: number }[];
      runs: number;
      checkRows: number;
      scrollWidth: number;
      requests: string[];
      html: string;
    };
    assert.ok(!facts.strangerHtml.includes("shop"), "no app name without the cookie");
    assert.equal(facts.cookie?.httpOnly, true);
    assert.equal(facts.cookie?.sameSite, "Strict");
    assert.ok(!facts.cookie?.value.includes(TOKEN));
    assert.deepEqual(facts.apps, ["shop"], facts.html);
    assert.equal(facts.revision, sha, facts.html);
    const history = JSON.parse(await sh("agent history --json --limit 10")) as {
      apps: { deployments: { id: number; steps: unknown[] }[] }[];
    };
    const deployments = history.apps[0]?.deployments ?? [];
    assert.ok(facts.deployments.length >= 3, `${facts.deployments.length} deployments drawn`);
    assert.equal(facts.deployments.length, Math.min(10, deployments.length));
    for (const drawn of facts.deployments) {
      const steps = deployments.find((d) => d.id === drawn.id)?.steps.length;
      assert.equal(drawn.bars, steps, `deployment ${drawn.id}: one bar per step`);
    }
    assert.ok(facts.runs > 3, `${facts.runs} check runs charted`);
    assert.ok(facts.checkRows >= 9);
    // Readable at phone width: nothing wider than the viewport but what scrolls in its own box.
    assert.ok(facts.scrollWidth <= 412, `page ${facts.scrollWidth} px wide at 412`);
    // Nothing loaded from anywhere but the endpoint.
    assert.ok(
      facts.requests.every((u) => u.startsWith(ENDPOINT)),
      facts.requests.join(" "),
    );
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    const png = await machine.exec(["base64", "-w0", shot], { reject: true });
    writeFileSync(SCREENSHOT, Buffer.from(png.stdout, "base64"));
    console.log(`# screenshot: ${SCREENSHOT}`);
  });
});
