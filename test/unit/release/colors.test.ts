// The colors/ layout: relative links swapped atomically, PORT files written whole, both only in
// a root-only colors/ and never through a link; a color's release read as safely as `current`.
import assert from "node:assert/strict";
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  colorEnvFile,
  colorLink,
  otherColor,
  pointColor,
  readColor,
  writeColorEnv,
} from "../../../src/release/colors.js";
import { appLayout, writeRevisionRecord } from "../../../src/release/layout.js";

const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);
const R1 = `20261201T100000Z-${SHA_A.slice(0, 12)}`;
const R2 = `20261201T110000Z-${SHA_B.slice(0, 12)}`;

test("otherColor", () => {
  assert.equal(otherColor("blue"), "green");
  assert.equal(otherColor("green"), "blue");
});

const isRoot = process.getuid?.() === 0;

describe("colors/", { skip: isRoot ? false : "needs root (colors/ must be root's)" }, () => {
  const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-colors-"));
  after(() => rmSync(base, { recursive: true, force: true }));
  // A fresh app directory with two built releases: R1 with the agent's record, R2 with only its
  // REVISION file (built before records existed).
  const app = (name: string) => {
    const layout = appLayout({ dir: path.join(base, name) });
    for (const [release, sha] of [
      [R1, SHA_A],
      [R2, SHA_B],
    ] as const) {
      mkdirSync(path.join(layout.releases, release), { recursive: true });
      writeFileSync(path.join(layout.releases, release, "REVISION"), `${sha}\n`);
    }
    return layout;
  };

  test("pointColor makes colors/ (0755) and a relative link, then swaps it", async () => {
    const layout = app("swap");
    await pointColor(layout, "blue", R1);
    assert.equal(statSync(layout.colors).mode & 0o7777, 0o755);
    assert.equal(readlinkSync(colorLink(layout, "blue")), `../releases/${R1}`);
    await pointColor(layout, "blue", R2);
    assert.equal(readlinkSync(colorLink(layout, "blue")), `../releases/${R2}`);
    await pointColor(layout, "green", R1);
    assert.deepEqual(readdirSync(layout.colors).sort(), ["blue", "green"]);
  });

  test("readColor: the color's release and commit, from the record or REVISION", async () => {
    const layout = app("read");
    assert.equal(await readColor(layout, "blue"), undefined);
    await writeRevisionRecord(layout, R1, SHA_A);
    await pointColor(layout, "blue", R1);
    await pointColor(layout, "green", R2);
    assert.deepEqual(await readColor(layout, "blue"), {
      name: R1,
      dir: path.join(layout.releases, R1),
      revision: SHA_A,
    });
    assert.equal((await readColor(layout, "green"))?.revision, SHA_B);
  });

  test("readColor: a link out of releases/, or a REVISION that is a link, gives nothing", async () => {
    const layout = app("unsafe");
    await pointColor(layout, "blue", R2);
    symlinkSync("/etc", path.join(layout.colors, "green"));
    assert.equal(await readColor(layout, "green"), undefined);
    rmSync(path.join(layout.releases, R2, "REVISION"));
    symlinkSync("/etc/shadow", path.join(layout.releases, R2, "REVISION"));
    assert.equal(await readColor(layout, "blue"), undefined);
  });

  test("pointColor refuses what is not a release name", async () => {
    const layout = app("names");
    for (const bad of ["../../etc", "", "current", `${R1}/..`]) {
      await assert.rejects(pointColor(layout, "blue", bad), /is not a release name/, bad);
    }
  });

  test("writeColorEnv writes PORT=<port>, 0644, replacing the old one, leaving no temporary file", async () => {
    const layout = app("env");
    await writeColorEnv(layout, "blue", 8001);
    await writeColorEnv(layout, "green", 8003);
    await writeColorEnv(layout, "green", 8002);
    assert.equal(readFileSync(colorEnvFile(layout, "blue"), "utf8"), "PORT=8001\n");
    assert.equal(readFileSync(colorEnvFile(layout, "green"), "utf8"), "PORT=8002\n");
    assert.equal(statSync(colorEnvFile(layout, "green")).mode & 0o7777, 0o644);
    assert.deepEqual(readdirSync(layout.colors).sort(), ["blue.env", "green.env"]);
  });

  test("writeColorEnv refuses a bad port, and an env file that is a symlink", async () => {
    const layout = app("env-unsafe");
    await assert.rejects(writeColorEnv(layout, "blue", 0), /port 0 is not a TCP port/);
    const target = path.join(base, "precious");
    writeFileSync(target, "keep\n");
    mkdirSync(layout.colors);
    symlinkSync(target, colorEnvFile(layout, "blue"));
    await assert.rejects(writeColorEnv(layout, "blue", 8001), /blue\.env is a symlink: refused/);
    assert.equal(readFileSync(target, "utf8"), "keep\n");
  });

  test("a colors/ the app user owns, or a symlinked one, is refused and left alone", async () => {
    const owned = app("owned");
    mkdirSync(owned.colors, { mode: 0o755 });
    chownSync(owned.colors, 65534, 65534);
    await assert.rejects(
      pointColor(owned, "blue", R1),
      /colors is owned by uid 65534 with mode 755: only root may write it/,
    );
    assert.deepEqual(readdirSync(owned.colors), []);

    const linked = app("linked");
    const elsewhere = path.join(base, "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, linked.colors);
    await assert.rejects(writeColorEnv(linked, "blue", 8001), /colors is not a directory/);
    assert.ok(lstatSync(linked.colors).isSymbolicLink());
    assert.deepEqual(readdirSync(elsewhere), []);
  });
});
