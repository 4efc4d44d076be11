import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { firstForeignEntry } from "../../../src/git/bare-repo.js";

const isRoot = process.getuid?.() === 0;

// A small tree shaped like a bare repository, root's and writable by root only.
function repoTree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "bare-repo-"));
  chmodSync(dir, 0o755);
  for (const sub of ["objects/pack", "objects/ab", "refs/heads", "refs/tags", "hooks"]) {
    mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
  }
  for (const file of ["HEAD", "config", "objects/ab/cdef", "refs/heads/main"]) {
    writeFileSync(path.join(dir, file), "x\n", { mode: 0o644 });
  }
  return dir;
}

test("a repository of root's alone has no foreign entry", { skip: !isRoot }, () => {
  const dir = repoTree();
  try {
    assert.equal(firstForeignEntry(dir), undefined);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("the first entry not root's, writable by others, or a symlink is named", {
  skip: !isRoot,
}, () => {
  const cases: [string, (dir: string) => string][] = [
    ["the directory itself group-writable", (dir) => (chmodSync(dir, 0o775), dir)],
    [
      "a deep file of another user's",
      (dir) => (
        chownSync(path.join(dir, "objects/ab/cdef"), 33, 33), path.join(dir, "objects/ab/cdef")
      ),
    ],
    [
      "a world-writable ref",
      (dir) => (
        chmodSync(path.join(dir, "refs/heads/main"), 0o666), path.join(dir, "refs/heads/main")
      ),
    ],
    [
      "a symlink, never followed",
      (dir) => (
        symlinkSync("/etc", path.join(dir, "hooks/pre-receive")),
        path.join(dir, "hooks/pre-receive")
      ),
    ],
    [
      "a directory of another user's",
      (dir) => (chownSync(path.join(dir, "refs/tags"), 33, 33), path.join(dir, "refs/tags")),
    ],
  ];
  for (const [what, damage] of cases) {
    const dir = repoTree();
    try {
      const expected = damage(dir);
      assert.equal(firstForeignEntry(dir), expected, what);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test("a repository that is not there is an error, not a clean bill", () => {
  assert.throws(() => firstForeignEntry("/nonexistent/repo"), /ENOENT/);
});
