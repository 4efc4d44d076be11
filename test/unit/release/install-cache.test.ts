// Environments built once per content: a real git repository and shared/ in a temporary
// directory; the "hook" is a function that writes what pip would.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { AppConfig } from "../../../src/config/schema.js";
import {
  COMPLETE_MARKER,
  ensureEnvironment,
  environmentKey,
  environmentLinkTarget,
  pruneEnvironments,
  recordEnvironment,
} from "../../../src/release/install-cache.js";
import { appLayout } from "../../../src/release/layout.js";
import { openStateDb } from "../../../src/state/state-db.js";
import type { RunAs } from "../../../src/system/accounts.js";

const dir = mkdtempSync(path.join(tmpdir(), "install-cache-"));
const app = {
  name: "shop",
  dir,
  hooks: {
    install: "python3 -m venv venv && venv/bin/pip install -r requirements.txt",
    timeout: 60_000,
    install_cache: { key: ["requirements.txt", "constraints.txt"], path: "venv" },
  },
} as unknown as AppConfig;
const layout = appLayout(app);
const me: RunAs = {
  name: "me",
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  home: "/root",
};
const commits: string[] = [];

before(() => {
  const work = path.join(dir, "work");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-C", work, ...args], {
      encoding: "utf8",
    }).trim();
  execFileSync("git", ["init", "-q", "-b", "main", work]);
  for (const [requirements, code] of [
    ["flask\n", "a"],
    ["flask\n", "b"],
    ["flask\ngunicorn\n", "b"],
  ]) {
    writeFileSync(path.join(work, "requirements.txt"), requirements as string);
    writeFileSync(path.join(work, "app.py"), code as string);
    git("add", "-A");
    git("commit", "-q", "-m", "c");
    commits.push(git("rev-parse", "HEAD"));
  }
  execFileSync("git", ["clone", "-q", "--bare", work, layout.repo]);
  mkdirSync(layout.shared, { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("the key follows the key files' contents and the command, not the code", async () => {
  const [a, b, c] = await Promise.all(
    commits.map((sha) =>
      environmentKey(layout.repo, sha, ["requirements.txt", "constraints.txt"], "x"),
    ),
  );
  assert.equal(a?.key, b?.key, "a code-only change keeps the environment");
  assert.notEqual(b?.key, c?.key);
  assert.deepEqual(
    a?.present,
    ["requirements.txt"],
    "a key file the commit lacks counts as absent",
  );
  const other = await environmentKey(
    layout.repo,
    commits[0] as string,
    ["requirements.txt", "constraints.txt"],
    "y",
  );
  assert.notEqual(other.key, a?.key, "another install command builds another environment");
});

test("built once, reused when complete, half-built ones discarded, a failed build leaves nothing", async () => {
  let builds = 0;
  const build = async (cwd: string) => {
    builds++;
    // The hook runs where the environment lives, with the key files there.
    assert.ok(existsSync(path.join(cwd, "requirements.txt")));
    mkdirSync(path.join(cwd, "venv", "bin"), { recursive: true });
    writeFileSync(path.join(cwd, "venv", "bin", "python"), "");
  };
  const first = await ensureEnvironment(app, layout, commits[0] as string, me, build);
  assert.equal(first.built, true);
  assert.ok(existsSync(path.join(first.dir, COMPLETE_MARKER)));
  const again = await ensureEnvironment(app, layout, commits[1] as string, me, build);
  assert.deepEqual([again.built, again.key, builds], [false, first.key, 1]);

  // A power cut mid-hook left a directory without the marker: removed, built again.
  const { key } = await environmentKey(
    layout.repo,
    commits[2] as string,
    ["requirements.txt", "constraints.txt"],
    app.hooks.install as string,
  );
  const half = path.join(layout.shared, "cache", key);
  mkdirSync(path.join(half, "venv"), { recursive: true });
  writeFileSync(path.join(half, "venv", "half-written"), "");
  await assert.rejects(
    ensureEnvironment(app, layout, commits[2] as string, me, async () => {
      throw new Error("pip: no network");
    }),
    /pip: no network/,
  );
  assert.equal(existsSync(half), false, "a failed build leaves no environment behind");
  mkdirSync(path.join(half, "venv"), { recursive: true });
  writeFileSync(path.join(half, "venv", "half-written"), "");
  const rebuilt = await ensureEnvironment(app, layout, commits[2] as string, me, build);
  assert.equal(rebuilt.built, true);
  assert.deepEqual(readdirSync(path.join(half, "venv")).sort(), ["bin"]);
  assert.deepEqual(readdirSync(path.join(layout.shared, "cache")).sort(), [first.key, key].sort());
});

test("the release's link is relative and survives the build's rename", () => {
  assert.equal(
    environmentLinkTarget(layout, "venv", "0123456789abcdef01234567"),
    "../../shared/cache/0123456789abcdef01234567/venv",
  );
  assert.equal(
    environmentLinkTarget(layout, "deps/venv", "0123456789abcdef01234567"),
    "../../../shared/cache/0123456789abcdef01234567/deps/venv",
  );
});

test("pruning keeps what a release on disk uses (recorded or linked), removes the rest, and only the agent's names", async () => {
  const db = openStateDb(path.join(dir, "state"));
  try {
    const cache = path.join(layout.shared, "cache");
    const keys = readdirSync(cache).sort();
    assert.equal(keys.length, 2);
    const [kept, linked] = keys as [string, string];
    mkdirSync(path.join(layout.releases, "r1"), { recursive: true });
    mkdirSync(path.join(layout.releases, "r2"), { recursive: true });
    recordEnvironment(db, "shop", "r1", kept);
    recordEnvironment(db, "shop", "gone", linked);
    // r2 was built before records existed: its link says which one it uses.
    symlinkSync(
      environmentLinkTarget(layout, "venv", linked),
      path.join(layout.releases, "r2", "venv"),
    );
    mkdirSync(path.join(cache, "the-apps-own"));
    const stray = "f".repeat(24);
    mkdirSync(path.join(cache, stray, "venv"), { recursive: true });
    writeFileSync(path.join(cache, stray, COMPLETE_MARKER), "");
    assert.deepEqual(await pruneEnvironments(app, layout, db), [stray]);
    assert.deepEqual(readdirSync(cache).sort(), [kept, linked, "the-apps-own"].sort());
    // Once r2's link goes, so does its environment; a record of a release that is gone is dropped.
    rmSync(path.join(layout.releases, "r2"), { recursive: true });
    assert.deepEqual(await pruneEnvironments(app, layout, db), [linked]);
  } finally {
    db.close();
  }
});
