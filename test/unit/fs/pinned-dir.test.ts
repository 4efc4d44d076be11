// Pinned directories and no-follow entries on real files: root's own symlinks are followed, ones
// in directories others can write are refused, and an entry is only ever the kind asked for.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { readSmallPath } from "../../../src/fs/bounded-read.js";
import { lstatPath, openPath } from "../../../src/fs/entry.js";
import { pinDir, UnsafePathError, withPinnedDir } from "../../../src/fs/pinned-dir.js";
import { removeTree } from "../../../src/fs/remove-tree.js";

const isRoot = process.getuid?.() === 0;
// A root-owned base outside /tmp (sticky, world-writable: nothing in it is root's alone).
const base = realpathSync(
  mkdtempSync(path.join(isRoot ? "/var/tmp" : tmpdir(), "deploy-agent-fs-")),
);
chmodSync(base, 0o755);
after(() => rmSync(base, { recursive: true, force: true }));

describe("pinned directories", { skip: isRoot ? false : "needs root to chown" }, () => {
  const secret = path.join(base, "secret");
  writeFileSync(secret, "root's\n");
  chmodSync(secret, 0o600);

  test("a symlink of root's in a directory of root's is followed, to its real path", async () => {
    mkdirSync(path.join(base, "real", "app"), { recursive: true });
    symlinkSync("real", path.join(base, "alias"));
    const dir = await pinDir(path.join(base, "alias", "app"));
    try {
      assert.equal(dir.path, path.join(base, "real", "app"));
    } finally {
      await dir.close();
    }
  });

  test("a symlink in a directory another user can write is refused, wherever it points", async () => {
    const shared = path.join(base, "shared");
    mkdirSync(shared);
    chownSync(shared, 65534, 65534);
    symlinkSync(base, path.join(shared, "db"));
    await assert.rejects(
      pinDir(path.join(shared, "db")),
      (error: Error) =>
        error instanceof UnsafePathError &&
        /shared\/db is a symlink in a directory that others can write/.test(error.message),
    );
  });

  test("entries: a symlink, a FIFO or a second hard link is refused; nothing is opened through them", async () => {
    const dir = path.join(base, "entries");
    mkdirSync(dir);
    chownSync(dir, 65534, 65534);
    symlinkSync(secret, path.join(dir, "link"));
    execFileSync("mkfifo", [path.join(dir, "fifo")]);
    linkSync(secret, path.join(dir, "hard"));
    for (const [name, why] of [
      ["link", /is a symlink: refused/],
      ["fifo", /is a FIFO/],
      ["hard", /has 2 hard links/],
    ] as const) {
      const started = performance.now();
      await assert.rejects(
        openPath(path.join(dir, name), "file"),
        (error: Error) => error instanceof UnsafePathError && why.test(error.message),
      );
      assert.ok(performance.now() - started < 1000, `${name} blocked`);
    }
    await assert.rejects(readSmallPath(path.join(dir, "link"), 100), UnsafePathError);
    assert.equal((await lstatPath(path.join(dir, "link")))?.isSymbolicLink(), true);
    assert.equal(await lstatPath(path.join(dir, "absent")), undefined);
  });

  test("a bounded read reads no more than asked of a huge file", async () => {
    const big = path.join(base, "big");
    writeFileSync(big, "x".repeat(5_000_000));
    assert.equal((await readSmallPath(big, 200)).length, 200);
  });

  test("a tree is removed without following a link inside it out of the tree", async () => {
    const victim = path.join(base, "victim");
    mkdirSync(victim);
    writeFileSync(path.join(victim, "keep"), "keep\n");
    const tree = path.join(base, "tree");
    mkdirSync(path.join(tree, "sub", "deeper"), { recursive: true });
    symlinkSync(victim, path.join(tree, "sub", "out"));
    writeFileSync(path.join(tree, "sub", "deeper", "f"), "x");
    await withPinnedDir(base, (dir) => removeTree(dir, "tree"));
    assert.equal(existsSync(tree), false);
    assert.equal(readFileSync(path.join(victim, "keep"), "utf8"), "keep\n");
    await assert.rejects(
      withPinnedDir(base, (dir) => removeTree(dir, "../etc")),
      UnsafePathError,
    );
  });
});
