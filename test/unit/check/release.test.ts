// The release check on real directories: a valid, complete live release or why not.
import assert from "node:assert/strict";
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

  test("current pointing outside releases/ or at a badly named directory is critical", async () => {
    const { app, layout, dir } = setup("elsewhere");
    mkdirSync(path.join(dir, "releases", "tmp-build"));
    rmSync(layout.current);
    symlinkSync("releases/tmp-build", layout.current);
    assert.match((await inspectRelease(app, layout)).summary, /not at a release/);
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
    const { app, layout } = setup("otherrev", { revision: "0123456789ab0000" });
    assert.equal((await inspectRelease(app, layout)).status, "warning");
  });
});
