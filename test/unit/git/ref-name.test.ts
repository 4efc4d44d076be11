// Ref names that may reach git's argv: the configured branch (git's rules) and --ref REF.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { describe, test } from "node:test";
import { ExitCode, UsageError } from "../../../src/errors.js";
import { assertSafeRef, branchNameProblem } from "../../../src/git/ref-name.js";

const GOOD_BRANCHES = [
  "main",
  "release/2.1",
  "feature/x-y_z",
  "v1.0",
  "user@topic",
  "fix+1",
  "ünïcode",
  "a.b.c",
  "x.lockfile",
];
const BAD_BRANCHES: [string, RegExp][] = [
  ["", /empty/],
  ["-x", /starts with "-"/],
  ["--upload-pack=evil", /starts with "-"/],
  ["HEAD", /HEAD/],
  ["@", /"@"/],
  ["a..b", /".."/],
  ["a//b", /"\/\/"/],
  ["/main", /"\/"/],
  ["main/", /"\/"/],
  ["a/.hidden", /part ".hidden"/],
  [".hidden", /part ".hidden"/],
  ["main.lock", /part "main.lock"/],
  ["a.lock/b", /part "a.lock"/],
  ["main.", /ends with "."/],
  ["a@{1}", /"@\{"/],
  ["a b", /space/],
  ["a\tb", /space/],
  ["a\u0001b", /control/],
  ["a\u007fb", /control/],
  ["a~1", /"~"/],
  ["a^", /"\^"/],
  ["a:b", /":"/],
  ["a?", /"\?"/],
  ["a*", /"\*"/],
  ["a[1]", /"\["/],
  ["a\\b", /"\\"/],
];

describe("branchNameProblem", () => {
  for (const name of GOOD_BRANCHES) {
    test(`accepts ${JSON.stringify(name)}`, () => assert.equal(branchNameProblem(name), undefined));
  }
  for (const [name, why] of BAD_BRANCHES) {
    test(`refuses ${JSON.stringify(name)}`, () => assert.match(branchNameProblem(name) ?? "", why));
  }

  // The rules are git's own: where git can answer ("@" is a shorthand it expands), it agrees.
  test("agrees with git check-ref-format --branch", (t) => {
    const names = [...GOOD_BRANCHES, ...BAD_BRANCHES.map(([name]) => name)].filter(
      (name) => name !== "" && !name.includes("@"),
    );
    for (const name of names) {
      const git = spawnSync("git", ["check-ref-format", "--branch", name], { cwd: tmpdir() });
      if (git.error) return t.skip("git is not installed");
      assert.equal(branchNameProblem(name) === undefined, git.status === 0, JSON.stringify(name));
    }
  });
});

describe("assertSafeRef", () => {
  for (const ref of ["main", "v1.2.3", "release/2.1", "3f2a1c9", "HEAD~1", "v1^{commit}", "a.b"]) {
    test(`accepts ${JSON.stringify(ref)}`, () => assert.doesNotThrow(() => assertSafeRef(ref)));
  }
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["-h", /starts with "-"/],
    ["--output=/etc/passwd", /starts with "-"/],
    ["main..evil", /".."/],
    ["main@{1}", /"@\{"/],
    ["a b", /whitespace/],
    ["main\n", /whitespace/],
    ["a\u00a0b", /whitespace/],
    ["a\u0000b", /control/],
    ["a\u001bb", /control/],
  ];
  for (const [ref, why] of bad) {
    test(`refuses ${JSON.stringify(ref)} with a usage error naming it`, () => {
      assert.throws(
        () => assertSafeRef(ref),
        (error: unknown) =>
          error instanceof UsageError &&
          error.exitCode === ExitCode.usage &&
          error.message.startsWith(`invalid ref ${JSON.stringify(ref)}: `) &&
          why.test(error.message),
      );
    });
  }
});
