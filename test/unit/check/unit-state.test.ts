// Reading systemd's view of the unit: ExecStart's program and the typed properties.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { programOf, programOfExecStart, toUnitState } from "../../../src/check/unit-state.js";

describe("programOfExecStart", () => {
  test("takes the basename of path= from systemctl show", () => {
    const value =
      "{ path=/usr/bin/gunicorn ; argv[]=/usr/bin/gunicorn --config gunicorn.conf.py app:app ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }";
    assert.equal(programOfExecStart(value), "gunicorn");
  });

  test("looks through python -m and a venv path", () => {
    assert.equal(
      programOfExecStart(
        "{ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 -m gunicorn app:app ; }",
      ),
      "gunicorn",
    );
    assert.equal(
      programOfExecStart(
        "{ path=/srv/shop/current/venv/bin/gunicorn ; argv[]=/srv/shop/current/venv/bin/gunicorn app:app ; }",
      ),
      "gunicorn",
    );
  });

  test("looks through env assignments and sh -c exec", () => {
    assert.equal(
      programOfExecStart("{ path=/usr/bin/env ; argv[]=/usr/bin/env FOO=1 gunicorn app:app ; }"),
      "gunicorn",
    );
    assert.equal(
      programOfExecStart("{ path=/bin/sh ; argv[]=/bin/sh -c exec /usr/bin/gunicorn app:app ; }"),
      "gunicorn",
    );
  });

  test("no ExecStart (unit not found) gives no program", () => {
    assert.equal(programOfExecStart(""), undefined);
  });
});

describe("programOf", () => {
  test("a setproctitle title names the program before its colon", () => {
    assert.equal(programOf("gunicorn: worker [shop]", []), "gunicorn");
  });

  test("an interpreter running a script is that script", () => {
    assert.equal(programOf("/usr/bin/python3", ["/usr/bin/gunicorn", "app:app"]), "gunicorn");
  });

  test("a bare shell runs nothing in particular", () => {
    assert.equal(programOf("-bash", []), "-bash");
    assert.equal(programOf("bash", []), undefined);
  });
});

describe("toUnitState", () => {
  test("parses numbers and keeps an unknown NRestarts undefined", () => {
    const state = toUnitState("shop.service", {
      LoadState: "loaded",
      ActiveState: "active",
      SubState: "running",
      MainPID: "123",
      NRestarts: "",
      ControlGroup: "/system.slice/shop.service",
    });
    assert.equal(state.mainPid, 123);
    assert.equal(state.nRestarts, undefined);
    assert.equal(state.controlGroup, "/system.slice/shop.service");
    assert.equal(toUnitState("x.service", { NRestarts: "4" }).nRestarts, 4);
  });
});
