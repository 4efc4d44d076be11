// The code cache is used only when it was made from exactly this source by this Node, and only
// from a file no one but root could have written: anything else is ignored, never trusted.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import {
  cacheDir,
  readCacheFile as readCodeCache,
  sha256,
  writeCacheFile as writeCodeCache,
} from "../../../src/fs/root-cache.js";
import { cacheKey } from "../../../src/launcher/code-cache.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-code-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Two sources of the same length: V8's own check of a cache compares lengths, not contents.
const SOURCE_A = "globalThis.answer = function () { return 'from A'; }; answer();";
const SOURCE_B = "globalThis.answer = function () { return 'from B'; }; answer();";

function cacheFor(source: string): Buffer {
  const script = new Script(source, { filename: "bundle.cjs" });
  script.runInThisContext();
  return script.createCachedData();
}

describe("code cache", () => {
  test("a cache made from this source by this Node is read back and V8 accepts it", () => {
    const file = path.join(dir, "a.cache");
    const key = cacheKey(sha256(SOURCE_A), "check");
    writeCodeCache(file, key, cacheFor(SOURCE_A));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const read = readCodeCache(file, key);
    assert.ok(read.data, "reason" in read ? read.reason : "");
    const script = new Script(SOURCE_A, { filename: "bundle.cjs", cachedData: read.data });
    assert.equal(script.cachedDataRejected, false);
  });

  test("a cache of another source of the same length is stale, though V8 would take it", () => {
    const file = path.join(dir, "stale.cache");
    writeCodeCache(file, cacheKey(sha256(SOURCE_A), "check"), cacheFor(SOURCE_A));
    const read = readCodeCache(file, cacheKey(sha256(SOURCE_B), "check"));
    assert.equal(read.data, undefined);
    assert.match("reason" in read ? read.reason : "", /stale/);
    // What the header check prevents: V8 alone does not notice the change.
    const unchecked = readCodeCache(file, cacheKey(sha256(SOURCE_A), "check")).data;
    const script = new Script(SOURCE_B, { filename: "bundle.cjs", cachedData: unchecked });
    assert.equal(script.cachedDataRejected, false);
  });

  test("another command's cache, or one for another Node, is stale", () => {
    const file = path.join(dir, "command.cache");
    writeCodeCache(file, cacheKey(sha256(SOURCE_A), "sync"), cacheFor(SOURCE_A));
    assert.equal(readCodeCache(file, cacheKey(sha256(SOURCE_A), "check")).data, undefined);
    const other = cacheKey(sha256(SOURCE_A), "check").replace(process.version, "v19.0.0");
    writeCodeCache(file, other, cacheFor(SOURCE_A));
    const read = readCodeCache(file, cacheKey(sha256(SOURCE_A), "check"));
    assert.match("reason" in read ? read.reason : "", /stale/);
  });

  test("a damaged or cut-short cache is refused by its checksum", () => {
    const file = path.join(dir, "damaged.cache");
    const key = cacheKey(sha256(SOURCE_A), "check");
    writeCodeCache(file, key, cacheFor(SOURCE_A));
    const content = readFileSync(file);
    content[content.length - 10] = (content[content.length - 10] ?? 0) ^ 0xff;
    writeFileSync(file, content, { mode: 0o600 });
    assert.match(reasonOf(readCodeCache(file, key)), /damaged/);
    writeFileSync(file, content.subarray(0, content.length - 100), { mode: 0o600 });
    assert.match(reasonOf(readCodeCache(file, key)), /damaged/);
    writeFileSync(file, "garbage", { mode: 0o600 });
    assert.match(reasonOf(readCodeCache(file, key)), /no header/);
  });

  test("a cache others could have written is not trusted", {
    skip: process.getuid?.() !== 0,
  }, () => {
    const key = cacheKey(sha256(SOURCE_A), "check");
    const file = path.join(dir, "others.cache");
    writeCodeCache(file, key, cacheFor(SOURCE_A));
    chmodSync(file, 0o666);
    assert.match(reasonOf(readCodeCache(file, key)), /writable by group or others/);
    chmodSync(file, 0o600);
    chownSync(file, 65534, 65534);
    assert.match(reasonOf(readCodeCache(file, key)), /owned by uid 65534/);
    const link = path.join(dir, "link.cache");
    chownSync(file, 0, 0);
    const second = path.join(dir, "second-name.cache");
    linkSync(file, second);
    assert.match(reasonOf(readCodeCache(file, key)), /more than one name/);
    rmSync(second);
    symlinkSync(file, link);
    assert.match(reasonOf(readCodeCache(link, key)), /cannot open: ELOOP/);
    const fifo = path.join(dir, "fifo.cache");
    execFileSync("mkfifo", [fifo]);
    assert.match(reasonOf(readCodeCache(fifo, key)), /not a regular file/);
    // A cache directory someone else can write, or one below such a directory, is not used at all.
    const open = path.join(dir, "open-dir");
    assert.match(cacheDir(open) ?? "", /^\/proc\/self\/fd\/\d+$/);
    chmodSync(open, 0o777);
    assert.equal(cacheDir(open), undefined);
    const below = path.join(open, "code");
    assert.equal(cacheDir(below), undefined);
    chmodSync(open, 0o700);
    assert.match(cacheDir(below) ?? "", /^\/proc\/self\/fd\/\d+$/);
    chownSync(open, 65534, 65534);
    assert.equal(cacheDir(below), undefined);
    assert.equal(cacheDir("relative/dir"), undefined);
  });
});

function reasonOf(read: ReturnType<typeof readCodeCache>): string {
  return "reason" in read ? read.reason : "used";
}

// The launcher as installed: dist/test/unit/launcher/ → dist/agent/agent.js
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../agent/agent.js");

describe("the launcher", { skip: process.getuid?.() !== 0 }, () => {
  test("writes a command's cache once, uses it, and replaces a damaged one", () => {
    const caches = path.join(dir, "launcher");
    const env = { ...process.env, DEPLOY_AGENT_CODE_CACHE_DIR: caches };
    const version = () =>
      spawnSync(process.execPath, [CLI, "--version"], { env, encoding: "utf8" });
    const first = version();
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(readdirSync(caches), ["agent.cache"]);
    const made = statSync(path.join(caches, "agent.cache"));
    // Used as it is: not written again.
    assert.equal(version().stdout, first.stdout);
    assert.equal(statSync(path.join(caches, "agent.cache")).mtimeMs, made.mtimeMs);
    // A damaged one is ignored (the run still works) and replaced by a good one.
    const file = path.join(caches, "agent.cache");
    const content = readFileSync(file);
    content.fill(0x41, content.length - 2000);
    writeFileSync(file, content, { mode: 0o600 });
    const again = version();
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    const key = readFileSync(file).subarray(0, 200).toString("latin1").split("\n")[0] ?? "";
    const bundle = readFileSync(path.join(path.dirname(CLI), "agent-main.cjs"));
    assert.ok(key.startsWith(`${cacheKey(sha256(bundle), "agent")} `), key);
    assert.equal(reasonOf(readCodeCache(file, cacheKey(sha256(bundle), "agent"))), "used");
  });
});
