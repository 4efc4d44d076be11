// When a promotion is due, and when the daemon's poll tries a failing one again: state DB rows in
// a temporary state directory, the rules of src/promote/promotion-due.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseConfigText } from "../../../src/config/parse.js";
import type { AppConfig } from "../../../src/config/schema.js";
import { promotionDue, promotionRetryDue } from "../../../src/promote/promotion-due.js";
import { createDeployment, finishDeployment } from "../../../src/state/deployments.js";
import { recordPromotion } from "../../../src/state/promotions.js";
import { sourceKey } from "../../../src/state/sources.js";
import { openStateDb, type StateDb } from "../../../src/state/state-db.js";

const dir = mkdtempSync(path.join(tmpdir(), "promotion-due-"));
let db: StateDb;
const parsed = parseConfigText(
  "a.yaml",
  "apps:\n  shop:\n    dir: /srv/shop\n    service: shop.service\n    repo: { url: /srv/git/shop.git }\n    promote: { branch: verified/uat }\n",
).apps.shop;
if (!parsed) throw new Error("no app");
const app: AppConfig = { ...parsed, name: "shop" };
const A = "a".repeat(40);
const B = "b".repeat(40);

before(() => {
  db = openStateDb(dir);
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function deployed(revision: string, trigger: string): void {
  const id = createDeployment(db, { app: "shop", trigger, revision });
  finishDeployment(db, id, "deployed");
}

test("due only for a commit a sync of this host verified, until a push of it landed", () => {
  assert.equal(promotionDue(db, app, A), false, "never deployed here");
  deployed(A, "cli");
  assert.equal(promotionDue(db, app, A), true);
  // Put back by a rollback later: still the commit a sync verified.
  deployed(A, "rollback");
  assert.equal(promotionDue(db, app, A), true);
  deployed(B, "rollback");
  assert.equal(promotionDue(db, app, B), false, "only ever put back by a rollback");
  recordPromotion(db, "shop", {
    revision: A,
    branch: "verified/uat",
    outcome: "promoted",
    attempts: 1,
    message: null,
  });
  assert.equal(promotionDue(db, app, A), false);
  assert.equal(promotionDue(db, { ...app, promote: undefined }, B), false);
});

test("the poll tries a failing promotion again after one period, then twice that, up to an hour", () => {
  const C = "c".repeat(40);
  deployed(C, "poll");
  const period = 60_000;
  const now = Date.now();
  assert.equal(promotionRetryDue(db, app, C, period, now), true, "never tried");
  const fail = () =>
    recordPromotion(db, "shop", {
      revision: C,
      branch: "verified/uat",
      outcome: "failed",
      attempts: 4,
      message: "x",
    });
  const at = Date.parse(fail().at);
  assert.equal(promotionRetryDue(db, app, C, period, at + period - 1), false);
  assert.equal(promotionRetryDue(db, app, C, period, at + period), true);
  const second = Date.parse(fail().at);
  assert.equal(promotionRetryDue(db, app, C, period, second + period), false);
  assert.equal(promotionRetryDue(db, app, C, period, second + 2 * period), true);
  for (let i = 0; i < 10; i++) fail();
  const last = Date.parse(fail().at);
  assert.equal(promotionRetryDue(db, app, C, period, last + 3_600_000 - 1), false);
  assert.equal(promotionRetryDue(db, app, C, period, last + 3_600_000), true, "at most an hour");
});

test("the source of a deploy ignores a credential in the URL: a rotated token is the same source", () => {
  assert.equal(
    sourceKey("https://deploy:old@git.example.com/shop.git", "main"),
    sourceKey("https://deploy:new@git.example.com/shop.git", "main"),
  );
  assert.notEqual(
    sourceKey("https://git.example.com/shop.git", "main"),
    sourceKey("https://git.example.com/shop.git", "uat"),
  );
});
