// Which releases pruning deletes, and which one `agent rollback` goes back to.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseReleasesToPrune, releaseBefore } from "../../../src/release/prune-choice.js";

const r = (hour: number) =>
  `20261123T${String(hour).padStart(2, "0")}0000Z-${"a".repeat(11)}${hour % 10}`;
const eight = [1, 2, 3, 4, 5, 6, 7, 8].map(r);

test("keeps the newest `keep` releases when the newest is live", () => {
  assert.deepEqual(chooseReleasesToPrune(eight, r(8), 5), [r(1), r(2), r(3)]);
});

test("never prunes the live release or the one before it, even when old", () => {
  // After a rollback to r(2), newer failed releases pile up on top of it.
  assert.deepEqual(chooseReleasesToPrune(eight, r(2), 5), [r(3)]);
});

test("ignores names that are not releases (temporary dirs, stray files)", () => {
  const names = [...eight, ".tmp-20261123T090000Z-bbbbbbbbbbbb", "notes.txt"];
  assert.deepEqual(chooseReleasesToPrune(names, r(8), 5), [r(1), r(2), r(3)]);
});

test("nothing to prune at or below keep, or with no live release known", () => {
  assert.deepEqual(chooseReleasesToPrune(eight.slice(0, 5), r(5), 5), []);
  assert.deepEqual(chooseReleasesToPrune(eight, undefined, 6), [r(1), r(2)]);
});

test("releaseBefore: the previous release in deploy order, whatever the list order", () => {
  assert.equal(releaseBefore([...eight].reverse(), r(5)), r(4));
  assert.equal(releaseBefore(eight, r(1)), undefined);
});

// Capistrano names (YYYYmmddHHMMSS) among the agent's: ordered by the time in the name. In plain
// string order every agent name of a day sorts after every Capistrano name of that day.
const cap = (hour: number) => `20261123${String(hour).padStart(2, "0")}0000`;
const mixed = [cap(8), r(9), cap(10), r(11), cap(12)];

test("mixed names: the newest `keep` by time are kept, whichever form", () => {
  assert.deepEqual(chooseReleasesToPrune(mixed, cap(12), 2), [cap(8), r(9), cap(10)]);
  assert.deepEqual(chooseReleasesToPrune(mixed, r(11), 2), [cap(8), r(9)]);
});

test("mixed names: the live one and the one before it are kept, across forms", () => {
  // Live is an agent release whose predecessor is a Capistrano one, and the other way round.
  assert.deepEqual(chooseReleasesToPrune(mixed, r(9), 1), [cap(10), r(11)]);
  assert.deepEqual(chooseReleasesToPrune(mixed, cap(10), 1), [cap(8), r(11)]);
});

test("releaseBefore across forms", () => {
  assert.equal(releaseBefore(mixed, r(9)), cap(8));
  assert.equal(releaseBefore(mixed, cap(10)), r(9));
  assert.equal(releaseBefore([...mixed].reverse(), cap(12)), r(11));
  assert.equal(releaseBefore(mixed, cap(8)), undefined);
});
