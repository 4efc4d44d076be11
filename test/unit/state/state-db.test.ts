// The state DB's schema set-up, when several agent processes open a fresh DB at once: at first
// boot the boot sync and the daemon start together (and an operator may run `agent check`).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { openStateDb } from "../../../src/state/state-db.js";

const MODULE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../src/state/state-db.js",
);
const root = mkdtempSync(path.join(tmpdir(), "deploy-agent-state-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("processes opening a fresh state DB at the same instant all succeed, schema applied once", async () => {
  for (let round = 0; round < 5; round++) {
    const dir = path.join(root, `round-${round}`);
    // Every child loads the module first, then spins until the same instant and opens the DB.
    const at = Date.now() + 1500;
    const script = `const { openStateDb } = await import(${JSON.stringify(MODULE)});
      while (Date.now() < ${at});
      openStateDb(${JSON.stringify(dir)}).close();`;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        execa("node", ["--input-type=module", "-e", script], { reject: false }),
      ),
    );
    for (const run of runs) assert.equal(run.exitCode, 0, run.stderr);
    const db = openStateDb(dir);
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      assert.deepEqual(tables, [
        "app_memory",
        "checks",
        "deployment_steps",
        "deployments",
        "notifications",
        "promotions",
      ]);
      const columns = db.prepare("SELECT name FROM pragma_table_info('deployments')").pluck().all();
      assert.ok(columns.includes("kept_copy"), columns.join(" "));
    } finally {
      db.close();
    }
  }
});
