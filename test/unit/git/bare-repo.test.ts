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
  // What is damaged (relative to the repository, "" for itself) and how.
  const cases: [string, string, (file: string) => void][] = [
    ["the directory itself group-writable", "", (file) => chmodSync(file, 0o775)],
    ["a deep file of another user's", "objects/ab/cdef", (file) => chownSync(file, 33, 33)],
    ["a world-writable ref", "refs/heads/main", (file) => chmodSync(file, 0o666)],
    ["a symlink, never followed", "hooks/pre-receive", (file) => symlinkSync("/etc", file)],
    ["a directory of another user's", "refs/tags", (file) => chownSync(file, 33, 33)],
  ];
  for (const [what, relative, damage] of cases) {
    const dir = repoTree();
    try {
      const expected = path.join(dir, relative);
      damage(expected);
      assert.equal(firstForeignEntry(dir), relative ? expected : dir, what);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test("a repository that is not there is an error, not a clean bill", () => {
  assert.throws(() => firstForeignEntry("/nonexistent/repo"), /ENOENT/);
});
