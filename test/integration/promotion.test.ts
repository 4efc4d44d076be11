// Promotion across hosts and trust in what is pulled, on real machines sharing one remote (a
// directory of the host bound in at /srv/git). The promoting host ("scheduler") deploys and
// pushes what it verified to verified/uat; a follower tracking that branch runs beside it as a
// second agent in the same machine (its own config, state and lock directories), and, as a
// second machine powered off through three pushes, boots onto the newest verified commit.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { addExtraHost, type ExtraHost, hostAgent, stopHostDaemon } from "../machine/extra-host.js";
import { bootMachine, type Machine } from "../machine/machine.js";
import {
  AGENT_CONFIG_PATH,
  provisionShop,
  pushCommit,
  type ShopConfigOverrides,
  shopConfigYaml,
  waitForHealth,
} from "../machine/sample-app.js";
import { agentCheck, checkOf } from "./check-helpers.js";
import {
  agent,
  assertCleanBoot,
  assertServing,
  explain,
  installSyncUnit,
  migrationFiles,
  sh,
  skipUnlessRoot,
} from "./sync-helpers.js";

const VERIFIED = "verified/uat";
const REMOTE_IN_MACHINE = "/srv/git/shop.git";

// The remote's ref as git on the host sees it (the remote is a host directory).
function remoteRef(remote: string, branch: string): string | undefined {
  try {
    return execFileSync(
      "git",
      ["--git-dir", remote, "rev-parse", "--verify", "-q", `refs/heads/${branch}`],
      {
        encoding: "utf8",
      },
    ).trim();
  } catch {
    return undefined;
  }
}

// What the agent printed, in the test log (the README quotes it from a real run).
function quote(text: string): void {
  console.log(text.trimEnd().replace(/^/gm, "# | "));
}

describe("promotion across hosts and trust in what is pulled", { skip: skipUnlessRoot }, () => {
  const gitDir = mkdtempSync("/var/tmp/deploy-agent-remote-");
  const remote = path.join(gitDir, "shop.git");
  let machine: Machine | undefined;
  let scheduler: Machine;
  const schedulerConfig: ShopConfigOverrides = {
    app: { repo: { fetch_timeout: "10s" }, promote: { branch: VERIFIED } },
  };
  const writeConfig = (...more: ShopConfigOverrides[]) =>
    scheduler.writeFile(AGENT_CONFIG_PATH, shopConfigYaml(schedulerConfig, ...more), 0o644);
  let follower: ExtraHost;

  before(async () => {
    scheduler = machine = await bootMachine({
      name: "promote",
      binds: [{ host: gitDir, guest: "/srv/git" }],
    });
    await provisionShop(scheduler, { config: schedulerConfig });
  });
  after(async () => {
    await machine?.destroy();
    rmSync(gitDir, { recursive: true, force: true });
  });

  async function deploy(message: string, files: Record<string, string> = {}, expectCode = 0) {
    const sha = await pushCommit(scheduler, {
      message,
      files: { "CHANGES.txt": `${message}\n`, ...files },
    });
    const run = await agent(scheduler, ["sync"]);
    assert.equal(run.code, expectCode, explain(run));
    return { sha, run };
  }

  test("a verified deploy is pushed to promote.branch; status, history and check show it", async () => {
    const { sha, run } = await deploy("first promoted");
    quote(run.stdout);
    assert.match(
      run.stdout,
      new RegExp(`promoted ${sha.slice(0, 12)} to ${VERIFIED} \\(new branch\\)`),
    );
    assert.equal(remoteRef(remote, VERIFIED), sha);
    const status = JSON.parse((await agent(scheduler, ["status", "--json"])).stdout);
    assert.equal(status.apps[0].promotion.branch, VERIFIED);
    assert.equal(status.apps[0].promotion.due, false);
    assert.equal(status.apps[0].promotion.last.outcome, "promoted");
    assert.equal(status.apps[0].promotion.last.revision, sha);
    const history = JSON.parse((await agent(scheduler, ["history", "--json"])).stdout);
    assert.equal(history.apps[0].promotions[0].revision, sha);
    const { code, report } = await agentCheck(scheduler);
    assert.equal(code, 0, JSON.stringify(report.checks));
    assert.equal(checkOf(report, "promotion").status, "ok");
    // A no-op sync pushes nothing again.
    const again = await agent(scheduler, ["sync"]);
    assert.equal(again.code, 0, explain(again));
    assert.doesNotMatch(again.stdout, /promot/);
  });

  test("a follower tracking the branch deploys each promotion within poll + jitter, never main's head", async () => {
    follower = await addExtraHost(scheduler, {
      name: "uat",
      port: 8001,
      branch: VERIFIED,
      poll: "2s",
    });
    const first = remoteRef(remote, VERIFIED) as string;
    await waitForHealth(scheduler, first, 60_000, follower.healthUrl);
    // A commit on main that the scheduler has not verified stays away from the follower.
    const unverified = await pushCommit(scheduler, {
      message: "not verified yet",
      files: { "CHANGES.txt": "unverified\n" },
    });
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(
      (await waitForHealth(scheduler, undefined, 5000, follower.healthUrl)).version,
      first,
    );
    // The scheduler deploys and promotes it: the follower's next poll (2 s + up to 10 %) sees it.
    const run = await agent(scheduler, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    const promotedAt = Date.now();
    assert.equal(remoteRef(remote, VERIFIED), unverified);
    await waitForHealth(scheduler, unverified, 60_000, follower.healthUrl);
    const tookMs = Date.now() - promotedAt;
    console.log(`# follower serving the promoted commit ${tookMs} ms after the promotion`);
    // One poll period (2 s) plus its jitter (10 %) to see it, then one deploy (about 3 s here).
    assert.ok(tookMs < 2200 + 15_000, `${tookMs} ms`);
    const journal = await scheduler.journal(follower.daemonUnit);
    const polls = journal.split("\n").filter((l) => l.includes("poll: branch moved"));
    assert.ok(polls.length >= 1, journal);
    // Its deployments: straight from one verified commit to the next, by the poll (the app
    // answers on the new commit while the deploy still verifies it: wait for the record).
    const deployed = async () => {
      const rows = (await hostAgent(scheduler, follower, ["history", "--json"])).stdout;
      const deployments = JSON.parse(rows).apps[0].deployments as {
        revision: string;
        outcome: string;
        trigger: string;
      }[];
      return deployments
        .filter((d) => d.outcome === "deployed")
        .map((d) => [d.trigger, d.revision]);
    };
    await scheduler.waitFor(async () => (await deployed()).length === 2 || undefined, 30_000, {
      what: "the follower's second deployment to be recorded",
    });
    assert.deepEqual(await deployed(), [
      ["poll", unverified],
      ["poll", first],
    ]);
    await stopHostDaemon(scheduler, follower);
  });

  test("a push the remote refuses: the deploy stays, a warning, check warns, the next sync and poll retry", async () => {
    const hook = path.join(remote, "hooks", "pre-receive");
    await sh(
      scheduler,
      `cat > ${REMOTE_IN_MACHINE}/hooks/pre-receive <<'EOF'
#!/bin/sh
while read old new ref; do
  case "$ref" in refs/heads/verified/*) echo "verified/* is read-only for this key" >&2; exit 1;; esac
done
EOF
chmod 755 ${REMOTE_IN_MACHINE}/hooks/pre-receive`,
    );
    const { sha, run } = await deploy("promotion refused");
    quote(run.stdout);
    assert.match(run.stdout, /deployed/);
    assert.match(
      run.stdout,
      /promotion of [0-9a-f]{12} to verified\/uat on \/srv\/git\/shop\.git failed: the remote refused the push: .*verified\/\* is read-only for this key; the deploy stays/,
    );
    await assertServing(scheduler, sha);
    assert.notEqual(remoteRef(remote, VERIFIED), sha);
    const { code, report } = await agentCheck(scheduler);
    assert.equal(code, 1, JSON.stringify(report.checks));
    assert.equal(checkOf(report, "promotion").status, "warning");
    assert.match(
      checkOf(report, "promotion").summary,
      /read-only for this key; the next sync or poll tries again/,
    );
    // A no-op sync tries again (still refused), and says so.
    const retry = await agent(scheduler, ["sync"]);
    assert.equal(retry.code, 0, explain(retry));
    assert.match(retry.stdout, /is live/);
    assert.match(retry.stdout, /promotion of [0-9a-f]{12} to verified\/uat .*failed/);
    const status = JSON.parse((await agent(scheduler, ["status", "--json"])).stdout);
    assert.equal(status.apps[0].promotion.due, true);
    assert.equal(status.apps[0].promotion.last.outcome, "failed");
    // The remote takes it again: the daemon's next poll pushes it although the head did not move.
    rmSync(hook);
    await writeConfig({ app: { poll: "2s" } });
    // The daemon as install.sh installs it, sandbox and all: the push works from inside it.
    await sh(
      scheduler,
      `install -m 0644 /opt/deploy-agent/units/deploy-agent.service /etc/systemd/system/
       systemctl daemon-reload && systemctl start deploy-agent.service`,
    );
    await scheduler.waitFor(() => remoteRef(remote, VERIFIED) === sha, 30_000, {
      what: "the daemon's poll to push the pending promotion",
    });
    const daemonLog = await scheduler.journal("deploy-agent.service");
    assert.match(daemonLog, /poll: promotion of the live commit pending, syncing to push it/);
    await sh(scheduler, "systemctl stop deploy-agent.service");
    await writeConfig();
    assert.equal(checkOf((await agentCheck(scheduler)).report, "promotion").status, "ok");
  });

  test("promote.branch moved by someone else: not a fast-forward, refused with both commits, never forced", async () => {
    const elsewhere = await sh(
      scheduler,
      `cd ${REMOTE_IN_MACHINE} && git -c user.name=x -c user.email=x@x commit-tree -m elsewhere "$(git rev-parse 'main^{tree}')"`,
    );
    const before = remoteRef(remote, VERIFIED) as string;
    await sh(
      scheduler,
      `git --git-dir=${REMOTE_IN_MACHINE} update-ref refs/heads/${VERIFIED} ${elsewhere}`,
    );
    const { sha, run } = await deploy("over a moved branch");
    assert.match(
      run.stdout,
      new RegExp(
        `promotion of ${sha.slice(0, 12)} to verified/uat .* refused: verified/uat is at ${elsewhere.slice(0, 12)}, which is not an ancestor of ${sha.slice(0, 12)}: not a fast-forward, and a promotion is never forced`,
      ),
    );
    assert.equal(remoteRef(remote, VERIFIED), elsewhere);
    await sh(
      scheduler,
      `git --git-dir=${REMOTE_IN_MACHINE} update-ref refs/heads/${VERIFIED} ${before}`,
    );
    const retry = await agent(scheduler, ["sync"]);
    assert.match(retry.stdout, new RegExp(`promoted ${sha.slice(0, 12)} to verified/uat \\(was`));
  });

  test("a force push is refused (exit 1, app untouched, both commits named) unless allow_rewrites", async () => {
    const live = remoteRef(remote, "main") as string;
    const rewritten = await sh(
      scheduler,
      `cd ${REMOTE_IN_MACHINE} && c=$(git -c user.name=x -c user.email=x@x commit-tree -p "$(git rev-parse main~2)" -m rewritten "$(git rev-parse 'main^{tree}')") && git update-ref refs/heads/main "$c" && echo "$c"`,
    );
    const pids = await assertServing(scheduler, live);
    const run = await agent(scheduler, ["sync"]);
    quote(run.stdout);
    assert.equal(run.code, 1, explain(run));
    assert.match(
      run.stdout + run.stderr,
      new RegExp(
        `main on /srv/git/shop.git is at ${rewritten.slice(0, 12)}, which does not descend from the live ${live.slice(0, 12)} .*refused, nothing changed`,
      ),
    );
    assert.deepEqual(await assertServing(scheduler, live), pids);
    const history = JSON.parse((await agent(scheduler, ["history", "--json"])).stdout);
    assert.equal(history.apps[0].deployments[0].outcome, "refused");
    // The operator accepts rewritten history: the same commit is deployed.
    await writeConfig({ app: { repo: { allow_rewrites: true } } });
    const allowed = await agent(scheduler, ["sync"]);
    assert.equal(allowed.code, 0, explain(allowed));
    await assertServing(scheduler, rewritten);
    // The rewrite does not reach the followers by itself: its promotion is no fast-forward.
    assert.match(allowed.stdout, /not an ancestor of [0-9a-f]{12}: not a fast-forward/);
    // The operator moves the followers' branch too, deliberately; the next sync sees it there.
    await sh(
      scheduler,
      `git --git-dir=${REMOTE_IN_MACHINE} update-ref refs/heads/${VERIFIED} ${rewritten}`,
    );
    await writeConfig();
    const settled = await agent(scheduler, ["sync"]);
    assert.match(settled.stdout, /verified\/uat already at/);
  });

  test("allowed_signers: unsigned and wrongly signed commits refused, a signed one deployed, its signer shown", async () => {
    await sh(
      scheduler,
      `mkdir -p /root/keys && cd /root/keys
       ssh-keygen -q -t ed25519 -N '' -C alice -f alice && ssh-keygen -q -t ed25519 -N '' -C mallory -f mallory
       echo "alice@example.com $(cut -d' ' -f1,2 alice.pub)" > /etc/deploy-agent/allowed_signers`,
    );
    await writeConfig({ app: { repo: { allowed_signers: "/etc/deploy-agent/allowed_signers" } } });
    const live = remoteRef(remote, "main") as string;
    const unsigned = await pushCommit(scheduler, {
      message: "unsigned",
      files: { "CHANGES.txt": "u\n" },
    });
    let run = await agent(scheduler, ["sync"]);
    assert.equal(run.code, 1, explain(run));
    assert.match(
      run.stdout + run.stderr,
      new RegExp(`${unsigned.slice(0, 12)} \\(main\\) refused: the commit is not signed`),
    );
    const wrong = await pushCommit(scheduler, {
      message: "signed by mallory",
      files: { "CHANGES.txt": "m\n" },
      signingKey: "/root/keys/mallory",
    });
    run = await agent(scheduler, ["sync"]);
    assert.equal(run.code, 1, explain(run));
    assert.match(
      run.stdout + run.stderr,
      new RegExp(
        `${wrong.slice(0, 12)} \\(main\\) refused: signed by a key that is not an allowed signer \\(ED25519 key SHA256:`,
      ),
    );
    await assertServing(scheduler, live);
    const good = await pushCommit(scheduler, {
      message: "signed by alice",
      files: { "CHANGES.txt": "a\n" },
      signingKey: "/root/keys/alice",
    });
    run = await agent(scheduler, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertServing(scheduler, good);
    quote((await agent(scheduler, ["status"])).stdout);
    const status = JSON.parse((await agent(scheduler, ["status", "--json"])).stdout);
    assert.match(status.apps[0].signer, /^alice@example\.com \(ED25519 SHA256:\S+\)$/);
    await writeConfig();
  });

  test("a follower powered off through three pushes (the last failing its migration on the scheduler) boots onto the newest verified commit", async () => {
    const verifiedBefore = remoteRef(remote, VERIFIED) as string;
    const pushed: string[] = [];
    for (const n of [1, 2]) pushed.push((await deploy(`while uat is off ${n}`)).sha);
    const bad = await deploy(
      "a migration that fails",
      migrationFiles(90, "CREATE TABLE broken (;"),
      1,
    );
    assert.match(bad.run.stdout, /rolled back|back on/);
    assert.doesNotMatch(bad.run.stdout, /promoted/);
    const newestVerified = pushed[1] as string;
    assert.equal(remoteRef(remote, VERIFIED), newestVerified);
    // The scheduler's part is done; the UAT machine, last up at `verifiedBefore`, boots.
    await scheduler.destroy();
    machine = undefined;
    machine = await bootMachine({ name: "uat", binds: [{ host: gitDir, guest: "/srv/git" }] });
    const uat = machine;
    await provisionShop(uat, {
      existingRemote: true,
      rev: verifiedBefore,
      config: {
        app: { repo: { branch: VERIFIED, fetch_timeout: "10s" }, hooks: { migrate: null } },
      },
    });
    await installSyncUnit(uat);
    await uat.poweroff();
    await uat.boot();
    await assertCleanBoot(uat);
    await assertServing(uat, newestVerified);
    const rows = await sh(
      uat,
      `sqlite3 /var/lib/deploy-agent/state.db "SELECT trigger || ' ' || outcome || ' ' || revision FROM deployments ORDER BY id"`,
    );
    assert.equal(rows, `boot deployed ${newestVerified}`);
  });
});
