// The permissions check on real files: reporting, --fix, and refusing symlinks out of the app.
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { permissionsCheck } from "../../../src/check/permissions.js";
import type { CheckContext } from "../../../src/check/types.js";
import { appSchema } from "../../../src/config/schema.js";
import { appLayout } from "../../../src/release/layout.js";

const isRoot = process.getuid?.() === 0;
const base = realpathSync(mkdtempSync(path.join(tmpdir(), "deploy-agent-perms-")));
after(() => rmSync(base, { recursive: true, force: true }));

// A fresh app directory with a DB file and an .env, owned by nobody:nogroup as configured.
function setup(name: string) {
  const dir = path.join(base, name);
  const shared = path.join(dir, "shared");
  mkdirSync(shared, { recursive: true });
  const db = path.join(shared, "shop.db");
  const env = path.join(shared, ".env");
  writeFileSync(db, "");
  writeFileSync(env, "SECRET=1\n");
  for (const p of [shared, db, env]) chownSync(p, 65534, 65534);
  chmodSync(db, 0o664);
  chmodSync(env, 0o600);
  chmodSync(shared, 0o755);
  const app = {
    ...appSchema.parse({
      dir,
      service: "shop.service",
      user: "nobody",
      group: "nogroup",
      repo: { url: "/nowhere.git" },
      database: { path: db, mode: "664" },
      permissions: [{ path: env, mode: "600" }],
    }),
    name: "shop",
  };
  const ctx = (fix: boolean): CheckContext => ({ app, layout: appLayout(app), fix, changes: [] });
  return { dir, shared, db, env, ctx };
}

describe("permissions check", { skip: isRoot ? false : "needs root to chown" }, () => {
  test("right owner and modes: ok", async () => {
    const { ctx } = setup("healthy");
    const outcome = await permissionsCheck.run(ctx(false));
    assert.equal(outcome.status, "ok", outcome.summary);
    assert.equal(outcome.summary, "3 paths ok");
  });

  test("DB chmod 600 and owned by root: critical, and --fix restores it, saying what changed", async () => {
    const { db, ctx } = setup("broken");
    chownSync(db, 0, 0);
    chmodSync(db, 0o600);
    const before = await permissionsCheck.run(ctx(false));
    assert.equal(before.status, "critical");
    assert.match(before.summary, /shop\.db is root:root 600, expected nobody:nogroup 664/);

    const fixing = ctx(true);
    const fixed = await permissionsCheck.run(fixing);
    assert.equal(fixed.status, "ok", fixed.summary);
    assert.match(fixed.summary, /1 fixed/);
    assert.deepEqual(fixing.changes, [
      `chown nobody:nogroup ${db} (was root:root)`,
      `chmod 664 ${db} (was 600)`,
    ]);
    const info = statSync(db);
    assert.equal(info.mode & 0o7777, 0o664);
    assert.equal(info.uid, 65534);
    assert.equal((await permissionsCheck.run(ctx(false))).status, "ok");
  });

  test("-wal and -shm are judged when present", async () => {
    const { db, ctx } = setup("wal");
    writeFileSync(`${db}-wal`, "");
    chmodSync(`${db}-wal`, 0o644);
    chownSync(`${db}-wal`, 65534, 65534);
    const outcome = await permissionsCheck.run(ctx(false));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /shop\.db-wal is nobody:nogroup 644/);
  });

  test("a DB directory the owner cannot write is critical; --fix adds u+wx only", async () => {
    const { shared, ctx } = setup("dir");
    chmodSync(shared, 0o555);
    assert.equal((await permissionsCheck.run(ctx(false))).status, "critical");
    const fixing = ctx(true);
    assert.equal((await permissionsCheck.run(fixing)).status, "ok");
    assert.deepEqual(fixing.changes, [`chmod 755 ${shared} (was 555)`]);
  });

  test("a missing extra path is a warning, a missing DB critical", async () => {
    const { db, env, ctx } = setup("missing");
    rmSync(env);
    const outcome = await permissionsCheck.run(ctx(false));
    assert.equal(outcome.status, "warning");
    assert.match(outcome.summary, /\.env: missing/);
    rmSync(db);
    assert.equal((await permissionsCheck.run(ctx(false))).status, "critical");
  });

  test("--fix never follows a symlink, not even one that stays inside the app directory", async () => {
    const { dir, db, env, ctx } = setup("escape");
    const outside = path.join(base, "outside-secret");
    writeFileSync(outside, "not the app's\n");
    chmodSync(outside, 0o640);
    rmSync(env);
    symlinkSync(outside, env);
    // -wal -> ../repo/config: giving that to the app user would let it set core.hooksPath.
    const config = path.join(dir, "repo", "config");
    mkdirSync(path.dirname(config), { recursive: true });
    writeFileSync(config, "[core]\n");
    chmodSync(config, 0o644);
    symlinkSync("../repo/config", `${db}-wal`);
    const fixing = ctx(true);
    const outcome = await permissionsCheck.run(fixing);
    assert.equal(outcome.status, "critical");
    assert.match(
      outcome.summary,
      /\.env: is a symlink, expected a regular file: not followed, not fixed/,
    );
    assert.match(outcome.summary, /shop\.db-wal: is a symlink/);
    assert.deepEqual(fixing.changes, []);
    for (const file of [outside, config]) {
      const info = statSync(file);
      assert.equal(info.uid, 0);
      assert.notEqual(info.mode & 0o7777, 0o664);
    }
  });

  test("--fix refuses a file with a second name (a hard link to a file of root's)", async () => {
    const { db, ctx } = setup("hardlink");
    const rootFile = path.join(base, "root-owned-unit");
    writeFileSync(rootFile, "[Service]\n");
    chmodSync(rootFile, 0o644);
    rmSync(`${db}`);
    linkSync(rootFile, db);
    const fixing = ctx(true);
    const outcome = await permissionsCheck.run(fixing);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /has 2 hard links: refused/);
    assert.equal(statSync(rootFile).uid, 0);
    assert.equal(statSync(rootFile).mode & 0o7777, 0o644);
  });

  test("--fix never gives a directory of root's outside the app directory to the app user", async () => {
    const { ctx, dir } = setup("outside-db");
    const elsewhere = path.join(base, "outside-db-dir");
    mkdirSync(elsewhere);
    chmodSync(elsewhere, 0o755);
    const db = path.join(elsewhere, "shop.db");
    writeFileSync(db, "");
    chownSync(db, 65534, 65534);
    chmodSync(db, 0o664);
    const fixing = ctx(true);
    fixing.app = {
      ...fixing.app,
      dir,
      database: { ...(fixing.app.database as NonNullable<typeof fixing.app.database>), path: db },
    };
    const outcome = await permissionsCheck.run(fixing);
    assert.equal(outcome.status, "critical");
    assert.match(
      outcome.summary,
      /outside-db-dir is root's and outside .*: --fix does not give it to nobody/,
    );
    assert.equal(statSync(elsewhere).uid, 0);
  });

  test("the app directory and its repo/ must be root's: critical, and --fix makes them so", async () => {
    const { dir, ctx } = setup("agentdirs");
    mkdirSync(path.join(dir, "repo"));
    chownSync(path.join(dir, "repo"), 65534, 65534);
    chmodSync(dir, 0o777);
    const outcome = await permissionsCheck.run(ctx(false));
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /repo: is owned by uid 65534/);
    assert.match(outcome.summary, /writable by group or others \(mode 777\)/);
    const fixing = ctx(true);
    assert.equal((await permissionsCheck.run(fixing)).status, "ok");
    assert.equal(statSync(path.join(dir, "repo")).uid, 0);
    assert.equal(statSync(dir).mode & 0o777, 0o755);
  });
});
