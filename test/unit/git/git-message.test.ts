// The reason a fetch failed, in git's own words.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gitMessage } from "../../../src/git/fetch.js";

test("the first fatal line names the cause; the advice after it is dropped", () => {
  const stderr = [
    "fatal: '/srv/git/gone.git' does not appear to be a git repository",
    "fatal: Could not read from remote repository.",
    "",
    "Please make sure you have the correct access rights",
    "and the repository exists.",
  ].join("\n");
  assert.equal(
    gitMessage(new Error(stderr)),
    "'/srv/git/gone.git' does not appear to be a git repository",
  );
});

test("without a fatal line, the last lines; never empty", () => {
  assert.equal(gitMessage(new Error("one\ntwo\nthree")), "two; three");
  assert.equal(gitMessage(new Error("")), "git fetch failed");
});
