// Counting master and workers in the unit's cgroup and judging the result.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  evaluateProcesses,
  groupUnitProcesses,
  type UnitProcesses,
} from "../../../src/check/processes.js";
import type { ProcessInfo } from "../../../src/system/processes.js";

function proc(pid: number, ppid: number): ProcessInfo {
  return {
    pid,
    ppid,
    argv: ["gunicorn"],
    cwd: "/srv/shop/current",
    cgroup: "/system.slice/shop.service",
    startTicks: 1000,
  };
}

function found(fields: Partial<UnitProcesses>): UnitProcesses {
  return {
    unit: "shop.service",
    mainPid: 100,
    masters: [100],
    workers: [101, 102, 103],
    members: [],
    others: [],
    strays: [],
    program: "gunicorn",
    ...fields,
  };
}

const expected = { master: 1, workers: 3 };

describe("groupUnitProcesses", () => {
  test("the process whose parent is outside is the master, its children the workers", () => {
    const groups = groupUnitProcesses([
      proc(100, 1),
      proc(101, 100),
      proc(102, 100),
      proc(200, 101),
    ]);
    assert.deepEqual(groups, { masters: [100], workers: [101, 102], others: [200] });
  });

  test("an empty cgroup has no master", () => {
    assert.deepEqual(groupUnitProcesses([]), { masters: [], workers: [], others: [] });
  });
});

describe("evaluateProcesses", () => {
  test("1 master + 3 workers is ok and lists the PIDs", () => {
    const outcome = evaluateProcesses(found({}), expected);
    assert.equal(outcome.status, "ok");
    assert.match(outcome.summary, /1 master \+ 3 workers/);
    assert.match(outcome.summary, /100/);
    assert.match(outcome.summary, /103/);
  });

  test("one worker too few is critical", () => {
    const outcome = evaluateProcesses(found({ workers: [101, 102] }), expected);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /2 workers, expected 1 \+ 3/);
  });

  test("no processes (unit stopped) is critical", () => {
    const outcome = evaluateProcesses(found({ mainPid: 0, masters: [], workers: [] }), expected);
    assert.equal(outcome.status, "critical");
  });

  test("a stray outside the unit is critical even when the unit looks right", () => {
    const strays = [{ pid: 555, cwd: "/srv/shop/releases/x", command: "gunicorn app:app" }];
    const outcome = evaluateProcesses(found({ strays }), expected);
    assert.equal(outcome.status, "critical");
    assert.match(outcome.summary, /stray gunicorn outside shop\.service: pid 555/);
  });

  test("a stray's cwd with escapes is printable in the summary, raw in the details", () => {
    const cwd = "/tmp/\x1b]52;c;ZXZpbA==\x07\u202e";
    const strays = [{ pid: 555, cwd, command: "gunicorn \x1b[2J" }];
    const outcome = evaluateProcesses(found({ strays }), expected);
    assert.equal(
      outcome.summary,
      "1 stray gunicorn outside shop.service: pid 555 (cwd /tmp/\\x1b]52;c;ZXZpbA==\\x07\\u202e)",
    );
    assert.deepEqual(outcome.details.strays, strays);
  });

  test("a very long stray cwd is cut in the summary", () => {
    const strays = [{ pid: 555, cwd: `/tmp/${"d".repeat(5000)}`, command: "gunicorn" }];
    const outcome = evaluateProcesses(found({ strays }), expected);
    assert.ok(outcome.summary.length < 250, outcome.summary);
    assert.match(outcome.summary, /…\)$/);
  });

  test("a grandchild in the cgroup is a warning", () => {
    assert.equal(evaluateProcesses(found({ others: [200] }), expected).status, "warning");
  });

  test("a master that is not MainPID is critical", () => {
    assert.equal(evaluateProcesses(found({ mainPid: 99 }), expected).status, "critical");
  });
});
