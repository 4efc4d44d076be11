// The one line a failed blue-green migration is reported with: what it added and removed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeSchemaChange } from "../../../src/sqlite/schema-change.js";

test("names what was added and removed, and both user_versions", () => {
  const before = { objects: ["table orders", "index orders_item"], userVersion: 1 };
  const after = { objects: ["table orders", "table refunds"], userVersion: 2 };
  assert.equal(
    describeSchemaChange(before, after),
    "schema before: user_version 1, 2 objects; after: user_version 2, 2 objects (+table refunds, -index orders_item)",
  );
});

test("an unchanged schema says so; an unreadable one says that instead of guessing", () => {
  const same = { objects: ["table orders"], userVersion: 3 };
  assert.match(describeSchemaChange(same, same), /no object added or removed/);
  assert.equal(describeSchemaChange(undefined, same), "schema before/after not readable");
});

test("a name the app chose cannot carry terminal escapes into the report", () => {
  const before = { objects: [], userVersion: 0 };
  const after = { objects: ["table evil\x1b]0;pwned\x07"], userVersion: 0 };
  assert.ok(!describeSchemaChange(before, after).includes("\x1b"));
});
