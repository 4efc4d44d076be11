// Which paths the permissions check covers and how a path falls short of its rule.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  describeRule,
  formatMode,
  type PathRule,
  pathProblems,
  pathRules,
} from "../../../src/check/path-rules.js";
import { appSchema } from "../../../src/config/schema.js";

const app = {
  ...appSchema.parse({
    dir: "/srv/shop",
    service: "shop.service",
    repo: { url: "/srv/git/shop.git" },
    database: { path: "/srv/shop/shared/shop.db", mode: "664" },
    permissions: [{ path: "/srv/shop/shared/.env", mode: "600", group: "adm" }],
  }),
  name: "shop",
};

const want = { uid: 33, gid: 33 };

describe("pathRules", () => {
  test("DB, -wal, -shm, its directory, then the extra entries with defaulted owner", () => {
    const rules = pathRules(app);
    assert.deepEqual(
      rules.map((r) => [r.path, r.kind, formatMode(r.mode), r.missing, `${r.owner}:${r.group}`]),
      [
        ["/srv/shop/shared/shop.db", "exact", "664", "critical", "www-data:www-data"],
        ["/srv/shop/shared/shop.db-wal", "exact", "664", "ignore", "www-data:www-data"],
        ["/srv/shop/shared/shop.db-shm", "exact", "664", "ignore", "www-data:www-data"],
        ["/srv/shop/shared", "dir-writable", "300", "critical", "www-data:www-data"],
        ["/srv/shop/shared/.env", "exact", "600", "warning", "www-data:adm"],
      ],
    );
  });

  test("no database and no entries: nothing to check", () => {
    assert.deepEqual(pathRules({ ...app, database: undefined, permissions: [] }), []);
  });
});

describe("pathProblems", () => {
  const file = pathRules(app)[0] as PathRule;
  const dir = pathRules(app)[3] as PathRule;

  test("exact rule: the mode must match exactly, file type bits ignored", () => {
    assert.deepEqual(pathProblems(file, { uid: 33, gid: 33, mode: 0o100664 }, want), {});
    assert.deepEqual(pathProblems(file, { uid: 33, gid: 33, mode: 0o100600 }, want), {
      mode: 0o664,
    });
    assert.deepEqual(pathProblems(file, { uid: 33, gid: 33, mode: 0o100666 }, want), {
      mode: 0o664,
    });
  });

  test("owner or group differing is an ownership problem", () => {
    assert.deepEqual(pathProblems(file, { uid: 0, gid: 33, mode: 0o664 }, want), { owner: true });
    assert.deepEqual(pathProblems(file, { uid: 33, gid: 0, mode: 0o664 }, want), { owner: true });
  });

  test("directory rule: owner-writable is enough, the fix only adds the missing bits", () => {
    assert.deepEqual(pathProblems(dir, { uid: 33, gid: 33, mode: 0o40775 }, want), {});
    assert.deepEqual(pathProblems(dir, { uid: 33, gid: 33, mode: 0o40700 }, want), {});
    assert.deepEqual(pathProblems(dir, { uid: 33, gid: 33, mode: 0o40555 }, want), { mode: 0o755 });
    assert.deepEqual(pathProblems(dir, { uid: 33, gid: 33, mode: 0o42575 }, want), {
      mode: 0o2775,
    });
  });
});

describe("formatMode and describeRule", () => {
  test("modes read as operators write them", () => {
    assert.equal(formatMode(0o100664), "664");
    assert.equal(formatMode(0o600), "600");
    assert.equal(formatMode(0o40), "040");
    assert.equal(formatMode(0o2775), "2775");
    assert.equal(describeRule(pathRules(app)[0] as PathRule), "www-data:www-data 664");
  });
});
