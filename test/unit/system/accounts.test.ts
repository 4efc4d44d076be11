// Account lookups: local files first, NSS (getent) for what they do not hold.
import assert from "node:assert/strict";
import { test } from "node:test";
import { lookupGroupId, lookupUser, nameOfId } from "../../../src/system/accounts.js";

test("a user from /etc/passwd: uid, gid and home", async () => {
  assert.deepEqual(await lookupUser("root"), { name: "root", uid: 0, gid: 0, home: "/root" });
});

test("a group by name, and names by id", async () => {
  assert.equal(await lookupGroupId("root"), 0);
  assert.equal(await nameOfId("passwd", 0), "root");
  assert.equal(await nameOfId("group", 0), "root");
});

test("an id that no entry has is shown as the number", async () => {
  assert.equal(await nameOfId("passwd", 4_000_123_456), "4000123456");
});

test("names that exist nowhere are undefined, not a lookalike", async () => {
  assert.equal(await lookupUser("no-such-user-deploy-agent"), undefined);
  // "roo" is a prefix of root's line; only a whole-field match counts.
  assert.equal(await lookupUser("roo"), undefined);
  assert.equal(await lookupGroupId("no-such-group-deploy-agent"), undefined);
});
