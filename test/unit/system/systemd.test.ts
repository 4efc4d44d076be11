// The systemctl adapter puts "--" before every unit name, so no name is ever read as an option.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { showUnit, unitAction } from "../../../src/system/systemd.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-systemctl-"));
const argvFile = path.join(dir, "argv");
const savedPath = process.env.PATH;

// A fake systemctl first on PATH: records its arguments one per line, answers `show`.
before(() => {
  const fake = path.join(dir, "systemctl");
  writeFileSync(
    fake,
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\n[ "$1" = show ] && echo ActiveState=active\nexit 0\n`,
  );
  chmodSync(fake, 0o755);
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
});
after(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

// The arguments the fake systemctl was last called with.
function lastArgv(): string[] {
  return readFileSync(argvFile, "utf8").split("\n").slice(0, -1);
}

test("showUnit: options first, then -- and the unit", async () => {
  const props = await showUnit("-H.service", ["ActiveState", "MainPID"]);
  assert.deepEqual(lastArgv(), [
    "show",
    "--no-pager",
    "--property=ActiveState",
    "--property=MainPID",
    "--",
    "-H.service",
  ]);
  assert.deepEqual(props, { ActiveState: "active" });
});

test("unitAction: the verb, then -- and the unit", async () => {
  for (const action of ["start", "stop", "restart", "reload", "reset-failed"] as const) {
    await unitAction(action, "shop@blue.service");
    assert.deepEqual(lastArgv(), [action, "--", "shop@blue.service"]);
  }
});
