// The staging directory a copy is made in: root takes it back before it touches what is in it,
// and the backup it keeps is a new file, which a descriptor kept on the staged one cannot write.
import assert from "node:assert/strict";
import {
  chownSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { withPinnedDir } from "../../../src/fs/pinned-dir.js";
import { appLayout } from "../../../src/release/layout.js";
import { openStaging } from "../../../src/sqlite/staging.js";

const isRoot = process.getuid?.() === 0;

describe("staging", { skip: isRoot ? false : "needs root to chown" }, () => {
  const base = mkdtempSync(path.join("/var/tmp", "deploy-agent-staging-"));
  after(() => rmSync(base, { recursive: true, force: true }));

  test("a descriptor kept on the staged file cannot write the backup root keeps", async () => {
    const layout = appLayout({ dir: path.join(base, "app") });
    mkdirSync(layout.backups, { recursive: true, mode: 0o700 });
    const staging = await openStaging(layout, { uid: 65534, gid: 65534 });
    const staged = staging.pathOf("copy.db");
    const db = new Database(staged);
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    db.pragma("journal_mode = DELETE");
    db.close();
    chownSync(staged, 65534, 65534);
    // What the app user would do through the shell's /proc/PID/fd: keep the file open, and grow
    // it (a sparse 100 MB here; a terabyte would fill the disk with root's copy).
    const kept = openSync(staged, "r+");
    const header = statSync(staged).size;
    ftruncateSync(kept, 100 * 1024 * 1024);
    const name = "shop.db.20261201T000000000Z.1.bak";
    const bytes = await withPinnedDir(layout.backups, (backups) =>
      staging.copyOut("copy.db", backups, name, 0o600),
    );
    writeSync(kept, Buffer.from("OWNED BY THE APP USER"), 0, 21, 0);
    await staging.remove();
    const backup = path.join(layout.backups, name);
    assert.equal(statSync(backup).size, bytes);
    assert.equal(bytes, header, "exactly the pages the header declares");
    assert.equal(statSync(backup).uid, 0);
    assert.equal(statSync(backup).mode & 0o777, 0o600);
    assert.equal(readFileSync(backup).subarray(0, 15).toString(), "SQLite format 3");
    const check = new Database(backup, { readonly: true });
    assert.deepEqual(check.prepare("SELECT x FROM t").all(), [{ x: 1 }]);
    check.close();
  });
});
