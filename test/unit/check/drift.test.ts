// The drift check against real git repositories: live REVISION versus the fetched branch head.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { inspectDrift } from "../../../src/check/drift.js";
import { appSchema } from "../../../src/config/schema.js";
import { ensureBareRepo } from "../../../src/git/bare-repo.js";
import { fetchWithDeadline } from "../../../src/git/fetch.js";
import { appLayout } from "../../../src/release/layout.js";

const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-drift-"));
const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t.invalid", ...args], {
    encoding: "utf8",
  }).trim();

// An app dir whose live release has REVISION `sha`.
function appAt(name: string, sha?: string) {
  const dir = path.join(base, name);
  mkdirSync(dir, { recursive: true });
  if (sha) {
    const release = path.join(dir, "releases", `20261123T101500Z-${sha.slice(0, 12)}`);
    mkdirSync(release, { recursive: true });
    writeFileSync(path.join(release, "REVISION"), `${sha}\n`);
    symlinkSync(path.relative(dir, release), path.join(dir, "current"));
  }
  const app = {
    ...appSchema.parse({ dir, service: "shop.service", repo: { url: "/x.git" } }),
    name: "shop",
  };
  return { app, layout: appLayout(app) };
}

describe("drift check", () => {
  const remote = path.join(base, "remote.git");
  const shas: string[] = [];

  before(() => {
    git("init", "-q", "--bare", "-b", "main", remote);
    const work = path.join(base, "work");
    git("init", "-q", "-b", "main", work);
    for (const n of [1, 2, 3]) {
      git("-C", work, "commit", "-q", "--allow-empty", "-m", `c${n}`);
      shas.push(git("-C", work, "rev-parse", "HEAD"));
    }
    git("-C", work, "push", "-q", remote, "main");
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  // Fetch the remote's main into the app's repo/, as a sync would.
  async function fetched(layout: ReturnType<typeof appLayout>) {
    await ensureBareRepo(layout.repo);
    await fetchWithDeadline(layout.repo, remote, ["+refs/heads/main:refs/heads/main"], {
      timeoutMs: 20_000,
    });
  }

  test("no repo/ yet: ok, with a note", async () => {
    const { app, layout } = appAt("fresh", shas[0]);
    const outcome = await inspectDrift(app, layout);
    assert.equal(outcome.status, "ok");
    assert.match(outcome.summary, /nothing fetched yet/);
  });

  test("live is the branch head: ok", async () => {
    const { app, layout } = appAt("current", shas[2]);
    await fetched(layout);
    const outcome = await inspectDrift(app, layout);
    assert.equal(outcome.status, "ok", outcome.summary);
    assert.equal(outcome.details.behind, 0);
  });

  test("live behind the head: warning with the count", async () => {
    const { app, layout } = appAt("behind", shas[0]);
    await fetched(layout);
    const outcome = await inspectDrift(app, layout);
    assert.equal(outcome.status, "warning");
    assert.equal(outcome.details.behind, 2);
    assert.match(
      outcome.summary,
      new RegExp(`live ${shas[0]?.slice(0, 12)} is 2 commits behind main`),
    );
  });

  test("live commit unknown to repo/: warning; no live release: unknown", async () => {
    const stranger = appAt("stranger", "f".repeat(40));
    await fetched(stranger.layout);
    assert.equal((await inspectDrift(stranger.app, stranger.layout)).status, "warning");
    const none = appAt("none");
    await fetched(none.layout);
    assert.equal((await inspectDrift(none.app, none.layout)).status, "unknown");
  });
});
