// The rules a config is held to against the host and its own layout: the agent's directories
// may never be given to the app user through `database.path` or `permissions`.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { stringify } from "yaml";
import { loadConfig } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/errors.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-host-rules-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Load a config whose shop app has these extra keys; resolves to the problems (empty when valid).
async function problems(app: Record<string, unknown>): Promise<string[]> {
  const file = path.join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
  const config = {
    apps: {
      shop: {
        dir: "/srv/shop",
        service: "shop.service",
        user: "root",
        group: "root",
        repo: { url: "/srv/git/shop.git" },
        ...app,
      },
    },
  };
  writeFileSync(file, stringify(config));
  try {
    await loadConfig(file);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

test("a DB in shared/ or outside the app directory is fine", async () => {
  assert.deepEqual(await problems({ database: { path: "/srv/shop/shared/shop.db" } }), []);
  assert.deepEqual(await problems({ database: { path: "/var/lib/shop/shop.db" } }), []);
});

test("a DB directly in the app directory, or in repo/, backups/ or .staging/, is refused", async () => {
  for (const db of [
    "/srv/shop/shop.db",
    "/srv/shop/repo/shop.db",
    "/srv/shop/backups/x/shop.db",
    "/srv/shop/.staging/shop.db",
    "/srv/shop/colors/shop.db",
  ]) {
    const found = await problems({ database: { path: db } });
    assert.equal(found.length, 1, db);
    assert.match(found[0] ?? "", /^apps\.shop\.database\.path: must not be in /);
  }
});

test("a DB whose directory holds an app directory (its parent, /srv) is refused", async () => {
  for (const db of ["/srv/shop.db", "/x.db"]) {
    const found = await problems({ database: { path: db } });
    assert.equal(found.length, 1, db);
    assert.match(found[0] ?? "", /^apps\.shop\.database\.path: must not be in /);
  }
});

test("permissions on the agent's directories or inside repo/ are refused; inside shared/ they are fine", async () => {
  assert.deepEqual(
    await problems({ permissions: [{ path: "/srv/shop/shared/.env", mode: "600" }] }),
    [],
  );
  for (const p of [
    "/srv/shop/repo",
    "/srv/shop/repo/config",
    "/srv/shop/releases",
    "/srv/shop/backups",
    "/srv/shop/colors",
    "/srv/shop/colors/blue.env",
  ]) {
    const found = await problems({ permissions: [{ path: p, mode: "644" }] });
    assert.equal(found.length, 1, p);
    assert.match(found[0] ?? "", /must not be one of the agent's own directories/);
  }
});

test("a custom check's user must exist here; root and the app user by default are fine", async () => {
  const found = await problems({
    checks: [
      { name: "deps", command: "true" },
      { name: "procs", command: "true", user: "root" },
      { name: "ghost", command: "true", user: "no-such-user-here" },
    ],
  });
  assert.deepEqual(found, [
    'apps.shop.checks.2.user: no such user "no-such-user-here" on this host',
  ]);
});
