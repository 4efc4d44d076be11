// The release check on real directories: a valid, complete live release or why not.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { inspectRelease } from "../../../src/check/release.js";
import { appSchema } from "../../../src/config/schema.js";
import { appLayout } from "../../../src/release/layout.js";

const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-release-"));
after(() => rmSync(base, { recursive: true, force: true }));

const SHA = "3f2a1c9b0d1e4444444444444444444444444444";
const NAME = "20261123T101500Z-3f2a1c9b0d1e";

// An app directory with one release; `current` points at it relatively.
function setup(name: string, options: { revision?: string; linked?: boolean } = {}) {
  const dir = path.join(base, name);
  const release = path.join(dir, "releases", NAME);
  mkdirSync(release, { recursive: true });
  mkdirSync(path.join(dir, "shared"), { recursive: true });
  if (options.revision !== "")
    writeFileSync(path.join(release, "REVISION"), `${options.revision ?? SHA}\n`);
  writeFileSync(path.join(dir, "shared", ".env"), "X=1\n");
  if (options.linked !== false) symlinkSync("../../shared/.env", path.join(release, ".env"));
  symlinkSync(`releases/${NAME}`, path.join(dir, "current"));
  const app = {
    ...appSchema.parse({ dir, service: "shop.service", repo: { url: "/x.git" }, linked: [".env"] }),
    name: "shop",
  };
  return { app, layout: appLayout(app), dir, release };
}

describe("release check", () => {
  test("a complete live release is ok and named", async () => {
    const { app, layout } = setup("ok");
    const outcome = await inspectRelease(app, layout);
    assert.equal(outcome.status, "ok", outcome.summary);
    assert.equal(outcome.summary, NAME);
    assert.equal(outcome.details.revision, SHA);
  });

  test("no current symlink is critical", async () => {
    const { app, layout } = setup("nolink");
    rmSync(layout.current);
    assert.match((await inspectRelease(app, layout)).summary, /missing: no release is live/);
  });

  test("current as a plain directory is critical", async () => {
    const { app, layout } = setup("dir");
    rmSync(layout.current);
    mkdirSync(layout.current);
    assert.match((await inspectRelease(app, layout)).summary, /is not a symlink/);
  });

  test("a dangling current is critical", async () => {
    const { app, layout, release } = setup("dangling");
    rmSync(release, { recursive: true });
    const outcome = await inspectRelease(app, layout);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /does not exist/);
  });

  // Point current somewhere else.
  function repoint(layout: { current: string }, target: string) {
    rmSync(layout.current);
    symlinkSync(target, layout.current);
  }

  test("current pointing outside releases/ is critical, and says so", async () => {
    const { app, layout } = setup("elsewhere");
    for (const target of ["/elsewhere/x", "../x", "shared", "releases", `/${NAME}`]) {
      repoint(layout, target);
      const outcome = await inspectRelease(app, layout);
      assert.equal(outcome.status, "critical", target);
      assert.equal(
        outcome.summary,
        `current points at ${target}, which is not inside ${layout.releases}`,
      );
    }
  });

  test("current pointing deeper inside releases/ is critical, and says so", async () => {
    const { app, layout } = setup("deeper");
    repoint(layout, `releases/${NAME}/static`);
    assert.equal(
      (await inspectRelease(app, layout)).summary,
      `current points at releases/${NAME}/static, which is not directly inside ${layout.releases}`,
    );
  });

  test("current pointing at a badly named directory in releases/ is critical, and says so", async () => {
    const { app, layout, dir } = setup("badname");
    mkdirSync(path.join(dir, "releases", "tmp-build"));
    for (const target of ["releases/tmp-build", `${dir}/releases/tmp-build`]) {
      repoint(layout, target);
      const outcome = await inspectRelease(app, layout);
      assert.equal(outcome.status, "critical");
      assert.equal(
        outcome.summary,
        "current points at releases/tmp-build, which is not a release name (<UTC stamp>-<sha12>, or Capistrano's YYYYmmddHHMMSS)",
      );
    }
  });

  test("a `..` after a directory name is not taken as a release, even if the text says so", async () => {
    const { app, layout, release } = setup("climbs");
    // The release is the app user's: a link there sends the kernel's `..` elsewhere.
    mkdirSync(path.join(base, "far", "away"), { recursive: true });
    symlinkSync(path.join(base, "far", "away"), path.join(release, "sub"));
    for (const target of [`releases/${NAME}/sub/../../${NAME}`, `${release}/sub/../../${NAME}`]) {
      repoint(layout, target);
      const outcome = await inspectRelease(app, layout);
      assert.equal(outcome.status, "critical", target);
      assert.match(outcome.summary, /whose "\.\." after a directory name goes wherever/);
    }
  });

  test("an absolute current is a release however it is spelled", async () => {
    const { app, layout } = setup("absolute");
    const dir = path.dirname(layout.current);
    for (const target of [
      `${dir}/releases/${NAME}`,
      `${dir}/releases/${NAME}/`,
      `/${dir}//releases//${NAME}`,
      `${dir}/./releases/./${NAME}`,
      `../${path.basename(dir)}/releases/${NAME}`,
    ]) {
      repoint(layout, target);
      const outcome = await inspectRelease(app, layout);
      assert.equal(outcome.status, "ok", `${target}: ${outcome.summary}`);
      assert.equal(outcome.summary, NAME);
    }
  });

  test("a Capistrano release (YYYYmmddHHMMSS, absolute current) is ok; any commit is its own", async () => {
    const cap = "20240101123456";
    const { app, layout, dir } = setup("capistrano");
    const release = path.join(dir, "releases", cap);
    mkdirSync(release);
    // Capistrano writes the full commit and a newline; the name carries no commit to compare.
    writeFileSync(path.join(release, "REVISION"), `${SHA}\n`);
    symlinkSync(path.join(dir, "shared", ".env"), path.join(release, ".env"));
    repoint(layout, release);
    const outcome = await inspectRelease(app, layout);
    assert.equal(outcome.status, "ok", outcome.summary);
    assert.equal(outcome.summary, cap);
    assert.equal(outcome.details.revision, SHA);
    rmSync(path.join(release, "REVISION"));
    writeFileSync(path.join(release, "REVISION"), `${"0".repeat(40)}\n`);
    assert.equal((await inspectRelease(app, layout)).status, "ok");
    rmSync(path.join(release, "REVISION"));
    assert.match((await inspectRelease(app, layout)).summary, /no REVISION: it is incomplete/);
  });

  test("a release without REVISION is incomplete", async () => {
    const { app, layout } = setup("norev", { revision: "" });
    assert.match((await inspectRelease(app, layout)).summary, /no REVISION: it is incomplete/);
  });

  test("a missing linked shared path is critical", async () => {
    const { app, layout } = setup("nolinks", { linked: false });
    const outcome = await inspectRelease(app, layout);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /lacks linked \.env/);
  });

  test("a REVISION that is not the release's commit is a warning", async () => {
    const { app, layout } = setup("otherrev", { revision: "0123456789ab".padEnd(40, "0") });
    assert.equal((await inspectRelease(app, layout)).status, "warning");
  });

  test("a REVISION that is a symlink to a secret is refused, and the secret is not read", async () => {
    const { app, layout, release } = setup("revlink", { revision: "" });
    const secret = path.join(base, "token");
    writeFileSync(secret, `${"a".repeat(40)}\n`);
    symlinkSync(secret, path.join(release, "REVISION"));
    const outcome = await inspectRelease(app, layout);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /REVISION is a symlink: refused/);
    assert.equal(outcome.details.revision, null);
    assert.doesNotMatch(JSON.stringify(outcome), /aaaaaaaa/);
  });

  test("a REVISION that is a FIFO does not hang the check; a huge one is not read whole", async () => {
    const { app, layout, release } = setup("revfifo", { revision: "" });
    execFileSync("mkfifo", [path.join(release, "REVISION")]);
    const started = performance.now();
    const fifo = await inspectRelease(app, layout);
    assert.equal(fifo.status, "critical");
    assert.match(fifo.summary, /is a FIFO/);
    assert.ok(performance.now() - started < 2000);
    rmSync(path.join(release, "REVISION"));
    writeFileSync(path.join(release, "REVISION"), `${SHA}\n${"x".repeat(10_000_000)}`);
    const huge = await inspectRelease(app, layout);
    assert.equal(huge.status, "critical");
    assert.match(huge.summary, /does not hold a commit id/);
  });

  test("a linked path that is not the link into shared/ (a copy, a link elsewhere) is critical", async () => {
    const { app, layout, release } = setup("linkelsewhere", { linked: false });
    symlinkSync("/etc/hostname", path.join(release, ".env"));
    assert.match((await inspectRelease(app, layout)).summary, /lacks linked \.env/);
  });
});
