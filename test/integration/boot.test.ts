// The boot sync unit on a real machine: an on-demand machine that was off while commits landed
// boots straight onto the newest; with the remote away it boots cleanly on its last release.
// The remote lives on the host (bound in at /srv/git), so it can change while the machine is off.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { provisionShop } from "../machine/sample-app.js";
import {
  assertCleanBoot,
  assertServing,
  deploymentRows,
  installSyncUnit,
  skipUnlessRoot,
} from "./sync-helpers.js";

// Commit on the host, as a developer would push while the machine is powered off.
function pushFromHost(remote: string, message: string, file: string, content: string): string {
  const work = mkdtempSync("/var/tmp/deploy-agent-push-");
  const git = (...args: string[]) =>
    execFileSync(
      "git",
      ["-c", "user.name=dev", "-c", "user.email=dev@test.invalid", "-C", work, ...args],
      {
        encoding: "utf8",
      },
    ).trim();
  try {
    execFileSync("git", ["clone", "-q", "-b", "main", remote, work]);
    writeFileSync(path.join(work, file), content);
    git("add", "-A");
    git("commit", "-q", "-m", message);
    git("push", "-q", "origin", "HEAD:refs/heads/main");
    return git("rev-parse", "HEAD");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

describe("boot sync", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  const gitDir = mkdtempSync("/var/tmp/deploy-agent-remote-");
  const remote = path.join(gitDir, "shop.git");
  let live = "";

  before(async () => {
    machine = await bootMachine({ name: "boot", binds: [{ host: gitDir, guest: "/srv/git" }] });
    live = (await provisionShop(machine, { config: { app: { repo: { fetch_timeout: "5s" } } } }))
      .sha;
    await installSyncUnit(machine);
  });
  after(async () => {
    await machine?.destroy();
    rmSync(gitDir, { recursive: true, force: true });
  });

  test("the boot sync unit is valid and enabled", async () => {
    const verify = await machine.exec([
      "systemd-analyze",
      "verify",
      "/etc/systemd/system/deploy-agent-sync.service",
    ]);
    assert.equal(verify.exitCode, 0, verify.stderr);
    assert.doesNotMatch(verify.stderr, /deploy-agent-sync/, verify.stderr);
    assert.equal(
      (await machine.exec(["systemctl", "is-enabled", "deploy-agent-sync.service"])).stdout.trim(),
      "enabled",
    );
    // Locked down like the daemon: the boot sync does the same job (the tests below show the
    // sandbox still lets it fetch, build, back up, chown, migrate and restart).
    const security = await machine.exec([
      "systemd-analyze",
      "security",
      "--no-pager",
      "deploy-agent-sync.service",
    ]);
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout)?.[1]);
    console.log(`# systemd-analyze security deploy-agent-sync.service: ${score}`);
    assert.ok(score <= 5.0, `exposure ${score}\n${security.stdout}`);
  });

  test("powered off through three pushes, the machine boots straight onto the newest", async () => {
    await machine.poweroff();
    const pushed = [1, 2, 3].map((n) =>
      pushFromHost(remote, `while off ${n}`, "CHANGES.txt", `${n}\n`),
    );
    const newest = pushed[2] as string;
    const bootStarted = Date.now();
    await machine.boot();
    await assertCleanBoot(machine);
    await assertServing(machine, newest);
    // One deployment, straight to the newest commit, by the boot sync.
    const rows = await deploymentRows(machine);
    assert.equal(rows[0]?.outcome, "deployed", JSON.stringify(rows));
    const revision = (
      await machine.exec([
        "sqlite3",
        "/var/lib/deploy-agent/state.db",
        "SELECT trigger || ' ' || revision FROM deployments ORDER BY id DESC LIMIT 1",
      ])
    ).stdout.trim();
    assert.equal(revision, `boot ${newest}`);
    assert.ok(Date.now() - bootStarted < 60_000, "boot and sync took over a minute");
    live = newest;
  });

  test("remote away at boot: a clean boot on the last release, with a warning", async () => {
    await machine.poweroff();
    renameSync(remote, `${remote}.away`);
    try {
      await machine.boot();
      await assertCleanBoot(machine);
      await assertServing(machine, live);
      const log = await machine.journal("deploy-agent-sync.service", { currentBoot: true });
      assert.match(log, /fetch failed for shop: .*the live release keeps running/, log);
      assert.equal(
        (await machine.exec(["systemctl", "is-system-running"])).stdout.trim(),
        "running",
      );
    } finally {
      renameSync(`${remote}.away`, remote);
    }
  });
});
