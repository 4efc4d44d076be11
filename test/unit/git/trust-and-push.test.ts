// Ancestry, ssh signatures, fast-forward-only pushes and ls-remote against real git repositories
// in a temporary directory (git and ssh-keygen are real; nothing here is mocked).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { displayUrl } from "../../../src/git/display-url.js";
import { remoteBranchHead } from "../../../src/git/ls-remote.js";
import { PushRejectedError, pushCommit } from "../../../src/git/push.js";
import { isAncestor } from "../../../src/git/revisions.js";
import { verifyCommitSignature } from "../../../src/git/signature.js";
import { gitIn } from "./git-cli.js";

let dir: string;
let work: string;
let remote: string;
let local: string;
const sh = gitIn;
const commit = (message: string, ...extra: string[]) => {
  sh(work, ...extra, "commit", "-q", "--allow-empty", "-m", message);
  return sh(work, "rev-parse", "HEAD");
};

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "trust-push-"));
  work = path.join(dir, "work");
  remote = path.join(dir, "remote.git");
  local = path.join(dir, "local.git");
  sh(dir, "init", "-q", "-b", "main", work);
  sh(dir, "init", "-q", "--bare", remote);
  sh(dir, "init", "-q", "--bare", local);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("isAncestor", () => {
  test("a descendant, a rewrite, and a commit the repository does not hold", async () => {
    const a = commit("a");
    const b = commit("b");
    sh(work, "checkout", "-q", "--detach", a);
    const c = commit("c (beside b)");
    sh(work, "push", "-q", local, `${b}:refs/heads/main`, `${c}:refs/heads/other`);
    assert.equal(await isAncestor(local, a, b), true);
    assert.equal(await isAncestor(local, b, b), true);
    assert.equal(await isAncestor(local, b, c), false);
    assert.equal(await isAncestor(local, "0".repeat(40), b), false);
  });
});

describe("verifyCommitSignature", () => {
  test("unsigned, signed by an allowed key, signed by another key", async () => {
    const keygen = (name: string, comment: string) =>
      execFileSync("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        comment,
        "-f",
        path.join(dir, name),
      ]);
    keygen("alice", "alice");
    keygen("mallory", "mallory");
    const alicePub = execFileSync("cat", [path.join(dir, "alice.pub")], { encoding: "utf8" });
    const signers = path.join(dir, "allowed_signers");
    writeFileSync(signers, `alice@example.com ${alicePub.split(" ").slice(0, 2).join(" ")}\n`);
    const signWith = (key: string) => [
      "-c",
      "gpg.format=ssh",
      "-c",
      `user.signingkey=${path.join(dir, key)}`,
    ];
    const unsigned = commit("unsigned");
    const good = commit("good", ...signWith("alice"), "-c", "commit.gpgsign=true");
    const bad = commit("bad", ...signWith("mallory"), "-c", "commit.gpgsign=true");
    sh(work, "push", "-q", local, `${bad}:refs/heads/signed`);

    assert.deepEqual(await verifyCommitSignature(local, unsigned, signers), {
      good: false,
      reason: "the commit is not signed",
    });
    const verdict = await verifyCommitSignature(local, good, signers);
    assert.equal(verdict.good, true);
    assert.match(verdict.good ? verdict.signer : "", /^alice@example\.com \(ED25519 SHA256:\S+\)$/);
    const wrong = await verifyCommitSignature(local, bad, signers);
    assert.equal(wrong.good, false);
    assert.match(wrong.good ? "" : wrong.reason, /not an allowed signer \(ED25519 key SHA256:/);
  });
});

test("a commit signed with GPG or X.509 is named as such, not as unsigned", async () => {
  const signers = path.join(dir, "no_signers");
  writeFileSync(signers, "");
  // The signature's kind is all that is judged here, so a well-formed header is enough.
  const signed = (begin: string, end: string, header = "gpgsig") => {
    const tree = sh(work, "write-tree");
    const text = `tree ${tree}\nauthor t <t@example.com> 1700000000 +0000\ncommitter t <t@example.com> 1700000000 +0000\n${header} ${begin}\n \n iQEzBAABCAAdFiEE\n ${end}\n\nsigned\n`;
    const file = path.join(dir, "commit.txt");
    writeFileSync(file, text);
    const sha = sh(work, "hash-object", "-t", "commit", "-w", file);
    sh(work, "push", "-q", local, `${sha}:refs/heads/kind-${header}-${begin.length}`);
    return sha;
  };
  const pgp = signed("-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----");
  const x509 = signed("-----BEGIN SIGNED MESSAGE-----", "-----END SIGNED MESSAGE-----");
  const pgp256 = signed(
    "-----BEGIN PGP SIGNATURE-----",
    "-----END PGP SIGNATURE-----",
    "gpgsig-sha256",
  );
  for (const [sha, kind] of [
    [pgp, "an OpenPGP \\(GPG\\) key"],
    [x509, "an X\\.509 key"],
    [pgp256, "an OpenPGP \\(GPG\\) key"],
  ] as const) {
    const verdict = await verifyCommitSignature(local, sha, signers);
    assert.equal(verdict.good, false);
    assert.match(verdict.good ? "" : verdict.reason, new RegExp(`^signed with ${kind}; only ssh`));
  }
  const unsigned = commit("still unsigned");
  sh(work, "push", "-q", local, `${unsigned}:refs/heads/unsigned`);
  assert.deepEqual(await verifyCommitSignature(local, unsigned, signers), {
    good: false,
    reason: "the commit is not signed",
  });
});

describe("pushCommit and remoteBranchHead", () => {
  test("a new branch, a fast-forward, a refused rewind, a hook that declines", async () => {
    sh(work, "checkout", "-q", "main");
    const one = commit("one");
    const two = commit("two");
    sh(work, "push", "-q", local, `${two}:refs/heads/main`);
    assert.equal(await remoteBranchHead(remote, "verified", 10_000), undefined);

    await pushCommit(local, remote, one, "verified", { timeoutMs: 10_000 });
    assert.equal(await remoteBranchHead(remote, "verified", 10_000), one);
    await pushCommit(local, remote, two, "verified", { timeoutMs: 10_000 });
    assert.equal(await remoteBranchHead(remote, "verified", 10_000), two);

    // Back to `one` would rewind the branch: the remote refuses, and only once.
    let attempts = 0;
    await assert.rejects(
      pushCommit(local, remote, one, "verified", {
        timeoutMs: 10_000,
        onAttemptFailed: () => attempts++,
      }),
      (error: Error) =>
        error instanceof PushRejectedError && /non-fast-forward/.test(error.message),
    );
    assert.equal(attempts, 1);
    assert.equal(await remoteBranchHead(remote, "verified", 10_000), two);

    const hook = path.join(remote, "hooks", "pre-receive");
    writeFileSync(
      hook,
      "#!/bin/sh\necho 'pushes to verified/* need the release key' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    const three = commit("three");
    sh(work, "push", "-q", local, `${three}:refs/heads/main`);
    await assert.rejects(
      pushCommit(local, remote, three, "verified", { timeoutMs: 10_000 }),
      (error: Error) =>
        error instanceof PushRejectedError &&
        /pre-receive hook declined\): pushes to verified\/\* need the release key/.test(
          error.message,
        ),
    );
    rmSync(hook);
  });

  test("a remote that does not exist fails within the deadline, after retries", async () => {
    const started = Date.now();
    let attempts = 0;
    await assert.rejects(
      pushCommit(local, path.join(dir, "nowhere.git"), "0".repeat(40), "verified", {
        timeoutMs: 4000,
        onAttemptFailed: () => attempts++,
      }),
    );
    assert.ok(Date.now() - started < 6000);
    assert.ok(attempts >= 2, `${attempts} attempts`);
  });
});

test("displayUrl drops a user name and password written into the URL", () => {
  assert.equal(
    displayUrl("https://deploy:s3cret@git.example.com/team/shop.git"),
    "https://git.example.com/team/shop.git",
  );
  assert.equal(displayUrl("git@github.com:team/shop.git"), "git@github.com:team/shop.git");
  assert.equal(displayUrl("/srv/git/shop.git"), "/srv/git/shop.git");
  assert.equal(displayUrl("ssh://git@host/shop.git"), "ssh://host/shop.git");
});
