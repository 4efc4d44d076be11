// Release names of both forms (the agent's and Capistrano's), their deploy order, and the live
// release read through `current` whichever way it is spelled.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  appLayout,
  compareReleases,
  isReleaseName,
  readLiveRelease,
  readRevision,
  readRevisionFile,
  readRevisionRecord,
  releaseCommitPrefix,
  releasesInOrder,
} from "../../../src/release/layout.js";

const AGENT = "20261123T101500Z-3f2a1c9b0d1e";
const CAP = "20240101123456";

describe("release names", () => {
  test("both forms are release names; nothing else is", () => {
    for (const name of [AGENT, CAP]) assert.equal(isReleaseName(name), true, name);
    for (const name of [
      "",
      "current",
      `.tmp-${AGENT}`,
      `${AGENT}/..`,
      "2024010112345",
      "202401011234567",
      `${CAP}-3f2a1c9b0d1e`,
      "20261123T101500Z-3F2A1C9B0D1E",
      "20261123T101500-3f2a1c9b0d1e",
      `${CAP}\n`,
    ]) {
      assert.equal(isReleaseName(name), false, JSON.stringify(name));
    }
  });

  test("only the agent's names carry a commit", () => {
    assert.equal(releaseCommitPrefix(AGENT), "3f2a1c9b0d1e");
    assert.equal(releaseCommitPrefix(CAP), undefined);
    assert.equal(releaseCommitPrefix("notes.txt"), undefined);
  });

  test("mixed names go in deploy order by their UTC time, not by string order", () => {
    const names = [
      "20261123110000",
      "20261123T093000Z-bbbbbbbbbbbb",
      "20261123090000",
      "20261123T101500Z-aaaaaaaaaaaa",
      ".tmp-20261123T120000Z-cccccccccccc",
    ];
    assert.deepEqual(releasesInOrder(names), [
      "20261123090000",
      "20261123T093000Z-bbbbbbbbbbbb",
      "20261123T101500Z-aaaaaaaaaaaa",
      "20261123110000",
    ]);
    // Another day wins over the time of day, in either form.
    assert.ok(compareReleases("20261122235959", "20261123T000000Z-aaaaaaaaaaaa") < 0);
    assert.ok(compareReleases("20261124000000", "20261123T235959Z-aaaaaaaaaaaa") > 0);
  });

  test("the same second in both forms: a stable order, each equal only to itself", () => {
    const agent = "20261123T101500Z-aaaaaaaaaaaa";
    const cap = "20261123101500";
    assert.ok(compareReleases(cap, agent) < 0);
    assert.ok(compareReleases(agent, cap) > 0);
    assert.equal(compareReleases(cap, cap), 0);
    assert.deepEqual(releasesInOrder([agent, cap]), [cap, agent]);
  });
});

describe("a Capistrano release on disk", () => {
  const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-layout-"));
  after(() => rmSync(base, { recursive: true, force: true }));
  const SHA = "0123456789abcdef0123456789abcdef01234567";

  // An app directory with one Capistrano release and `current` -> target (default: absolute).
  function setup(name: string, target?: (dir: string) => string) {
    const dir = path.join(base, name);
    const layout = appLayout({ dir });
    mkdirSync(path.join(layout.releases, CAP), { recursive: true });
    writeFileSync(path.join(layout.releases, CAP, "REVISION"), `${SHA}\n`);
    symlinkSync(target ? target(dir) : path.join(layout.releases, CAP), layout.current);
    return layout;
  }

  test("its commit is its REVISION: there is no record of the agent's", async () => {
    const layout = setup("revision");
    assert.equal(await readRevisionRecord(layout, CAP), undefined);
    assert.equal(await readRevisionFile(layout, CAP), SHA);
    assert.equal(await readRevision(layout, CAP), SHA);
  });

  test("its REVISION is still read without following a link", async () => {
    const layout = setup("revlink");
    const secret = path.join(base, "secret");
    writeFileSync(secret, `${"a".repeat(40)}\n`);
    rmSync(path.join(layout.releases, CAP, "REVISION"));
    symlinkSync(secret, path.join(layout.releases, CAP, "REVISION"));
    await assert.rejects(readRevision(layout, CAP), /symlink/);
    assert.equal(await readLiveRelease(layout), undefined);
  });

  test("an absolute `current` names it, however the path is spelled", async () => {
    const spellings: [string, (dir: string) => string][] = [
      ["abs", (dir) => `${dir}/releases/${CAP}`],
      ["slash", (dir) => `${dir}/releases/${CAP}/`],
      ["double", (dir) => `/${dir}//releases//${CAP}`],
      ["dot", (dir) => `${dir}/./releases/./${CAP}`],
      ["relative", () => `releases/${CAP}`],
      ["up", (dir) => `../${path.basename(dir)}/releases/${CAP}`],
    ];
    for (const [name, target] of spellings) {
      const layout = setup(name, target);
      assert.deepEqual(
        await readLiveRelease(layout),
        { name: CAP, dir: path.join(layout.releases, CAP), revision: SHA },
        name,
      );
    }
  });

  test("a `..` after a directory name is not taken, even when the text leads to a release", async () => {
    // releases/CAP/sub is the app user's: a link there sends the kernel's `..` elsewhere.
    const layout = setup("climbs", () => `releases/${CAP}/sub/../../${CAP}`);
    const elsewhere = path.join(base, "elsewhere", "x");
    mkdirSync(elsewhere, { recursive: true });
    symlinkSync(elsewhere, path.join(layout.releases, CAP, "sub"));
    assert.equal(await readLiveRelease(layout), undefined);
  });
});
