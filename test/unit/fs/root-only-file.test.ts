// A file root trusts must be root's alone, all the way up: real files in a temporary directory.
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
import { after, test } from "node:test";
import { rootOnlyFileProblem } from "../../../src/fs/root-only-file.js";
import { withoutCredentials } from "../../../src/git/display-url.js";

const base = mkdtempSync(path.join(tmpdir(), "root-only-"));
chmodSync(base, 0o755);
after(() => rmSync(base, { recursive: true, force: true }));

test("root's file in root's directories passes; a link, a group-writable file or directory does not", async () => {
  const dir = path.join(base, "etc");
  mkdirSync(dir, { mode: 0o755 });
  const file = path.join(dir, "allowed_signers");
  writeFileSync(file, "alice@example.com ssh-ed25519 AAAA\n", { mode: 0o644 });
  assert.equal(await rootOnlyFileProblem(file), undefined);
  chmodSync(file, 0o664);
  assert.match((await rootOnlyFileProblem(file)) ?? "", /writable by group or others \(mode 664\)/);
  chmodSync(file, 0o644);
  chmodSync(dir, 0o777);
  assert.match((await rootOnlyFileProblem(file)) ?? "", /etc: writable by group or others/);
  chmodSync(dir, 0o1777);
  assert.equal(await rootOnlyFileProblem(file), undefined, "root's sticky directory above");
  chmodSync(dir, 0o755);
  const link = path.join(dir, "link");
  symlinkSync(file, link);
  assert.match((await rootOnlyFileProblem(link)) ?? "", /symbolic link/);
  assert.match(
    (await rootOnlyFileProblem(path.join(dir, "missing"))) ?? "",
    /cannot be read \(ENOENT\)/,
  );
  if (process.geteuid?.() === 0) {
    chownSync(file, 33, 33);
    assert.match((await rootOnlyFileProblem(file)) ?? "", /owned by uid 33, not root/);
  }
});

test("withoutCredentials takes a user and password out of any URL in git's words", () => {
  assert.equal(
    withoutCredentials(
      "fatal: unable to access 'https://deploy:s3cret@git.example.com/shop.git/': 403",
    ),
    "fatal: unable to access 'https://git.example.com/shop.git/': 403",
  );
  assert.equal(
    withoutCredentials("error: Cannot access URL http://u:p@h/x.git/, return code 22"),
    "error: Cannot access URL http://h/x.git/, return code 22",
  );
  assert.equal(withoutCredentials("git@github.com:team/shop.git"), "git@github.com:team/shop.git");
});
