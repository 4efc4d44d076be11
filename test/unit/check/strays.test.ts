// Which processes outside the unit count as stray copies of the app.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  isStray,
  isUnder,
  mentionsDir,
  type StrayCriteria,
  selfAndAncestors,
  siblingColorUnits,
} from "../../../src/check/strays.js";
import type { ProcessInfo } from "../../../src/system/processes.js";

const criteria: StrayCriteria = {
  program: "gunicorn",
  appDirs: ["/srv/shop"],
  controlGroup: "/system.slice/shop.service",
  exclude: new Set([1, 50]),
};

function proc(fields: Partial<ProcessInfo>): ProcessInfo {
  return {
    pid: 999,
    ppid: 1,
    argv: ["/usr/bin/python3", "/usr/bin/gunicorn", "app:app"],
    cwd: "/srv/shop/releases/20261123T101500Z-3f2a1c9b0d1e",
    cgroup: "/system.slice/stray.service",
    startTicks: 1000,
    ...fields,
  };
}

describe("isStray", () => {
  test("the app's program running from the app directory outside the unit is a stray", () => {
    assert.equal(isStray(proc({}), criteria), true);
  });

  test("the unit's own processes are not strays", () => {
    assert.equal(isStray(proc({ cgroup: "/system.slice/shop.service" }), criteria), false);
    assert.equal(isStray(proc({ cgroup: "/system.slice/shop.service/sub" }), criteria), false);
  });

  test("a shell or a grep in the app directory is not a stray", () => {
    assert.equal(isStray(proc({ argv: ["-bash"] }), criteria), false);
    assert.equal(isStray(proc({ argv: ["grep", "gunicorn", "/srv/shop/log"] }), criteria), false);
  });

  test("another app's gunicorn is not a stray", () => {
    assert.equal(
      isStray(
        proc({ cwd: "/srv/blog/current", argv: ["gunicorn", "--chdir", "/srv/blog"] }),
        criteria,
      ),
      false,
    );
  });

  test("the app directory named in argv counts when cwd is elsewhere or unreadable", () => {
    const argv = ["/usr/bin/gunicorn", "--chdir", "/srv/shop/current", "app:app"];
    assert.equal(isStray(proc({ cwd: "/", argv }), criteria), true);
    assert.equal(isStray(proc({ cwd: undefined, argv }), criteria), true);
  });

  test("a renamed process title still counts", () => {
    assert.equal(isStray(proc({ argv: ["gunicorn: worker [shop]"] }), criteria), true);
  });

  test("this agent and its ancestors are excluded", () => {
    assert.equal(isStray(proc({ pid: 50 }), criteria), false);
  });

  test("with the unit stopped (no cgroup) every matching process is a stray", () => {
    const stopped = { ...criteria, controlGroup: "" };
    assert.equal(isStray(proc({ cgroup: "/system.slice/shop.service" }), stopped), true);
  });
});

describe("mentionsDir and isUnder", () => {
  test("match the directory and paths below it, not siblings sharing a prefix", () => {
    assert.equal(mentionsDir("/srv/shop", "/srv/shop"), true);
    assert.equal(mentionsDir("--chdir=/srv/shop/current", "/srv/shop"), true);
    assert.equal(mentionsDir("/srv/shop2/current", "/srv/shop"), false);
    assert.equal(mentionsDir("/srv/shop.old /srv/shop", "/srv/shop"), true);
    assert.equal(isUnder("/srv/shop/current", "/srv/shop"), true);
    assert.equal(isUnder("/srv/shop", "/srv/shop"), true);
    assert.equal(isUnder("/srv/shop2", "/srv/shop"), false);
    assert.equal(isUnder(undefined, "/srv/shop"), false);
  });
});

describe("selfAndAncestors", () => {
  test("walks parents up to PID 1 and stops on a cycle", () => {
    const table = [
      proc({ pid: 1, ppid: 0 }),
      proc({ pid: 10, ppid: 1 }),
      proc({ pid: 20, ppid: 10 }),
      proc({ pid: 30, ppid: 1 }),
    ];
    assert.deepEqual(
      [...selfAndAncestors(table, 20)].sort((a, b) => a - b),
      [1, 10, 20],
    );
    const cycle = [proc({ pid: 5, ppid: 6 }), proc({ pid: 6, ppid: 5 })];
    assert.deepEqual([...selfAndAncestors(cycle, 5)].sort(), [5, 6]);
  });
});

describe("siblingColorUnits", () => {
  test("a color's instance has the other color as its sibling", () => {
    assert.deepEqual(siblingColorUnits("shop@blue.service"), ["shop@green.service"]);
    assert.deepEqual(siblingColorUnits("shop@green.service"), ["shop@blue.service"]);
  });

  test("a plain unit, or an instance that is not a color, has none", () => {
    assert.deepEqual(siblingColorUnits("shop.service"), []);
    assert.deepEqual(siblingColorUnits("shop@main.service"), []);
    assert.deepEqual(siblingColorUnits("shop@.service"), []);
  });
});

describe("isStray beside a sibling color", () => {
  const blue: StrayCriteria = {
    ...criteria,
    controlGroup: "/system.slice/system-shop.slice/shop@blue.service",
    siblingGroups: ["/system.slice/system-shop.slice/shop@green.service"],
  };

  test("the other color's gunicorn, draining from the same directory, is not a stray", () => {
    const green = proc({ cgroup: "/system.slice/system-shop.slice/shop@green.service" });
    assert.equal(isStray(green, blue), false);
  });

  test("a gunicorn outside both colors still is", () => {
    assert.equal(isStray(proc({}), blue), true);
  });

  test("a stopped sibling (no cgroup) excuses nothing", () => {
    assert.equal(isStray(proc({ cgroup: "" }), { ...blue, siblingGroups: [""] }), true);
  });
});
