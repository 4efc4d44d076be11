// Swapping `current`: relative, atomic, and no temporary link left behind.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { appLayout } from "../../../src/release/layout.js";
import { removeCurrentTemps, switchCurrent } from "../../../src/steps/switch.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-switch-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const layout = appLayout({ dir });

test("current becomes a relative link to the release, replacing the old one", async () => {
  for (const name of ["r1", "r2"]) mkdirSync(path.join(layout.releases, name), { recursive: true });
  await switchCurrent(layout, "r1");
  assert.equal(readlinkSync(layout.current), "releases/r1");
  await switchCurrent(layout, "r2");
  assert.equal(readlinkSync(layout.current), "releases/r2");
  assert.deepEqual(readdirSync(dir).sort(), ["current", "releases"]);
});

test("a temporary link left by a crash is removed, current untouched", async () => {
  symlinkSync("releases/r1", path.join(dir, "current.tmp-12345"));
  assert.deepEqual(await removeCurrentTemps(layout), ["current.tmp-12345"]);
  assert.deepEqual(readdirSync(dir).sort(), ["current", "releases"]);
  assert.equal(readlinkSync(layout.current), "releases/r2");
});
