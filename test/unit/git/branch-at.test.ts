// branchAt answers "is the branch at this commit" from git's ref files; git itself is the judge.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { branchAt } from "../../../src/git/revisions.js";
import { gitIn } from "./git-cli.js";

const dir = mkdtempSync(path.join(tmpdir(), "branch-at-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const git = gitIn;

// A bare repository with main and feature/x, each with commits, the way a fetch leaves it.
function makeRepo(): { repo: string; first: string; second: string; feature: string } {
  const work = mkdtempSync(path.join(dir, "work-"));
  git(work, "init", "-q", "-b", "main");
  git(work, "commit", "-q", "--allow-empty", "-m", "one");
  const first = git(work, "rev-parse", "HEAD");
  git(work, "commit", "-q", "--allow-empty", "-m", "two");
  const second = git(work, "rev-parse", "HEAD");
  git(work, "checkout", "-q", "-b", "feature/x");
  git(work, "commit", "-q", "--allow-empty", "-m", "three");
  const feature = git(work, "rev-parse", "HEAD");
  const repo = mkdtempSync(path.join(dir, "repo-"));
  git(repo, "init", "-q", "--bare");
  git(repo, "fetch", "-q", work, "+refs/heads/*:refs/heads/*");
  return { repo, first, second, feature };
}

// What git says, to hold branchAt's yes to: a yes must never be wrong.
async function agreesWithGit(repo: string, branch: string, sha: string): Promise<boolean> {
  const answer = await branchAt(repo, branch, sha);
  let head = "";
  try {
    head = git(repo, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`);
  } catch {
    // no such branch
  }
  if (answer) assert.equal(head, sha, `branchAt said ${branch} is at ${sha}; git says ${head}`);
  return answer;
}

test("a branch is at its commit, loose or packed, and at no other", async () => {
  const { repo, first, second, feature } = makeRepo();
  // As fetched: loose refs (or packed-refs, as git chooses).
  assert.equal(await agreesWithGit(repo, "main", second), true);
  assert.equal(await agreesWithGit(repo, "feature/x", feature), true);
  assert.equal(await agreesWithGit(repo, "main", first), false);
  assert.equal(await agreesWithGit(repo, "feature/x", second), false);
  assert.equal(await agreesWithGit(repo, "nothing", second), false);
  // A loose ref overrides packed-refs, which then holds an older value.
  git(repo, "pack-refs", "--all");
  git(repo, "update-ref", "refs/heads/main", first);
  assert.equal(await agreesWithGit(repo, "main", first), true);
  assert.equal(await agreesWithGit(repo, "main", second), false);
  // Packed only.
  git(repo, "pack-refs", "--all");
  assert.equal(await agreesWithGit(repo, "main", first), true);
  assert.equal(await agreesWithGit(repo, "main", second), false);
  // Not a full object name: no.
  assert.equal(await branchAt(repo, "main", first.slice(0, 12)), false);
});

test("a loose ref that is not a plain file is a no, never a fall back to packed-refs", async () => {
  const { repo, second } = makeRepo();
  git(repo, "pack-refs", "--all");
  // packed-refs says main is at `second`; a symlink (or a symbolic ref) in its place is not read.
  const loose = path.join(repo, "refs/heads/main");
  symlinkSync(path.join(repo, "packed-refs"), loose);
  assert.equal(await branchAt(repo, "main", second), false);
  unlinkSync(loose);
  writeFileSync(loose, "ref: refs/heads/feature/x\n");
  assert.equal(await branchAt(repo, "main", second), false);
  unlinkSync(loose);
  assert.equal(await branchAt(repo, "main", second), true);
  // No packed-refs and no loose ref: no.
  unlinkSync(path.join(repo, "packed-refs"));
  assert.equal(await branchAt(repo, "main", second), false);
});

test("packed-refs: only the line of exactly this branch counts, whatever its neighbours", async () => {
  const { repo, first, second, feature } = makeRepo();
  git(repo, "tag", "-a", "-m", "t", "main", second);
  git(repo, "update-ref", "refs/heads/main-old", first);
  git(repo, "update-ref", "refs/heads/x", feature);
  git(repo, "update-ref", "refs/heads/feature/main", feature);
  // A prefix and a suffix of "x" and of "main" come before them in the sorted file, and a tag
  // named main with its peeled line.
  git(repo, "update-ref", "refs/heads/w/x", first);
  // A name that holds the whole ref "refs/heads/x" and sorts before it.
  git(repo, "update-ref", "refs/heads/a/refs/heads/x", first);
  git(repo, "pack-refs", "--all");
  assert.equal(await agreesWithGit(repo, "x", feature), true);
  assert.equal(await agreesWithGit(repo, "w/x", first), true);
  assert.equal(await agreesWithGit(repo, "a/refs/heads/x", first), true);
  assert.equal(await agreesWithGit(repo, "main", second), true);
  assert.equal(await agreesWithGit(repo, "main-old", first), true);
  assert.equal(await agreesWithGit(repo, "main", feature), false);
  assert.equal(await agreesWithGit(repo, "feature/main", second), false);
});

test("a loose ref that is not exactly a full object name and a newline is a no", async () => {
  const { repo, second } = makeRepo();
  const loose = path.join(repo, "refs/heads/main");
  for (const content of [`${second.slice(0, 12)}\n`, `${second}-junk\n`, `${second} x\n`]) {
    writeFileSync(loose, content);
    const asked = content.trim().split(/[ -]/)[0] ?? "";
    assert.equal(await branchAt(repo, "main", asked), false, JSON.stringify(content));
  }
});

test("a packed-refs file over the size bound is not read, not read in part", async () => {
  const { repo, first, second } = makeRepo();
  // main is at `first`, at the end of a file of more than 2 MB; read only up to the bound, the
  // file would end inside the line of main-old, at `second`, right after "refs/heads/main".
  const bound = 2 * 1024 * 1024;
  const header = "# pack-refs with: peeled fully-peeled \n";
  const cutLine = `${second} refs/heads/main`;
  let filler = "";
  let i = 0;
  const gap = () => bound + 1 - header.length - filler.length - cutLine.length;
  while (gap() > 200) filler += `${first} refs/heads/f/${String(i++).padStart(8, "0")}\n`;
  // The last filler line takes up exactly what is left.
  const last = `${first} refs/heads/g/`;
  filler += `${last}${"x".repeat(gap() - last.length - 1)}\n`;
  assert.equal(header.length + filler.length + cutLine.length, bound + 1);
  for (const name of readdirSync(path.join(repo, "refs/heads"))) {
    rmSync(path.join(repo, "refs/heads", name), { recursive: true });
  }
  writeFileSync(
    path.join(repo, "packed-refs"),
    `${header}${filler}${cutLine}-old\n${first} refs/heads/main\n`,
  );
  assert.equal(git(repo, "rev-parse", "refs/heads/main"), first);
  assert.equal(await branchAt(repo, "main", second), false);
});
