// The endpoint's token: refused when the file is unsafe, compared in constant time.
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import {
  bearerToken,
  readTokenFile,
  TokenFileError,
  tokenMatches,
} from "../../../src/daemon/token.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-token-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Write a token file with a mode.
function tokenFile(name: string, content: string, mode: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

test("reads a 0600 token, trimming the trailing newline", async () => {
  assert.equal(await readTokenFile(tokenFile("good", "s3cret\n", 0o600)), "s3cret");
  assert.equal(await readTokenFile(tokenFile("ro", "abc", 0o400)), "abc");
});

test("refuses a missing, empty, group- or world-accessible token file", async () => {
  await assert.rejects(readTokenFile(path.join(dir, "absent")), /missing/);
  await assert.rejects(readTokenFile(tokenFile("empty", " \n", 0o600)), /empty/);
  await assert.rejects(readTokenFile(tokenFile("group", "x", 0o640)), /mode 0640/);
  await assert.rejects(readTokenFile(tokenFile("world", "x", 0o604)), /mode 0604/);
  await assert.rejects(readTokenFile(tokenFile("gw", "x", 0o620)), TokenFileError);
  await assert.rejects(readTokenFile(dir), TokenFileError);
});

test("refuses a token file owned by someone else", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to chown");
  const file = tokenFile("other", "x", 0o600);
  chownSync(file, 65534, 65534);
  await assert.rejects(readTokenFile(file), /owned by uid 65534/);
});

test("the mode check follows a symlink to the file actually read", async () => {
  const target = tokenFile("target", "x", 0o644);
  const link = path.join(dir, "link");
  symlinkSync(target, link);
  await assert.rejects(readTokenFile(link), /mode 0644/);
});

test("bearer header parsing", () => {
  assert.equal(bearerToken("Bearer abc"), "abc");
  assert.equal(bearerToken("bearer abc "), "abc");
  assert.equal(bearerToken("Basic abc"), undefined);
  assert.equal(bearerToken("Bearer"), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test("token comparison: equal only when identical, any length", () => {
  assert.equal(tokenMatches("s3cret", "s3cret"), true);
  assert.equal(tokenMatches("s3cre", "s3cret"), false);
  assert.equal(tokenMatches("s3cretX", "s3cret"), false);
  assert.equal(tokenMatches("S3cret", "s3cret"), false);
  assert.equal(tokenMatches("", "s3cret"), false);
  assert.equal(tokenMatches(undefined, "s3cret"), false);
  assert.equal(tokenMatches("x".repeat(10_000), "s3cret"), false);
});
