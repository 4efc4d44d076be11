// A remembered config is the validated config of exactly this text by exactly this bundle, from
// a file only root could have written; anything else is ignored and the text validated again.
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, beforeEach, test } from "node:test";
import { loadConfig } from "../../../src/config/load.js";
import { parseConfigText } from "../../../src/config/parse.js";
import { recallConfig, rememberConfig } from "../../../src/config/remembered.js";
import type { Config } from "../../../src/config/schema.js";
import { sha256 } from "../../../src/fs/root-cache.js";
import { setStartCaches } from "../../../src/launcher/start-caches.js";

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(path.join(tmpdir(), "remembered-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const caches = path.join(dir, "cache", "config");
const file = path.join(dir, "agent.yaml");

const TEXT = `
apps:
  shop:
    dir: /srv/shop
    service: shop.service
    user: root
    group: root
    repo: { url: /srv/git/shop.git, branch: main }
    database: { path: /srv/shop/shared/shop.db }
    health: { url: "http://127.0.0.1:8000/health" }
`;

// What the launcher does at the start of a run; the cache directory is checked once per run.
const newRun = (bundleSha256 = "a".repeat(64)) =>
  setStartCaches({ bundleSha256, configDir: caches });

beforeEach(() => {
  rmSync(caches, { recursive: true, force: true });
  newRun();
});

test("the config of this text is remembered and given back as validated", () => {
  const config = parseConfigText(file, TEXT);
  assert.equal(recallConfig(file, TEXT), undefined);
  rememberConfig(file, TEXT, config);
  assert.deepEqual(recallConfig(file, TEXT), config);
});

test("another text, another file or another bundle is not given the remembered config", () => {
  const config = parseConfigText(file, TEXT);
  rememberConfig(file, TEXT, config);
  // One byte changed: a comment that changes nothing is still another text.
  assert.equal(recallConfig(file, `${TEXT}#\n`), undefined);
  // Another file: its own slot, and the key names the path, so a slot's file moved to another's
  // name is still not taken for it.
  const other = path.join(dir, "other.yaml");
  assert.equal(recallConfig(other, TEXT), undefined);
  const [name] = readdirSync(caches);
  renameSync(
    path.join(caches, name ?? ""),
    path.join(caches, `${sha256(other).slice(0, 24)}.json`),
  );
  assert.equal(recallConfig(other, TEXT), undefined);
  newRun("b".repeat(64));
  assert.equal(recallConfig(file, TEXT), undefined);
});

test("a config JSON would not give back exactly is not remembered", () => {
  const config = parseConfigText(file, TEXT) as Config & { extra?: unknown };
  const odd = { ...config, extra: Number.POSITIVE_INFINITY } as unknown as Config;
  rememberConfig(file, TEXT, odd);
  assert.equal(recallConfig(file, TEXT), undefined);
  assert.equal(existsSync(caches) ? readdirSync(caches).length : 0, 0);
});

test("a damaged remembered config is ignored", () => {
  const config = parseConfigText(file, TEXT);
  rememberConfig(file, TEXT, config);
  const [name] = readdirSync(caches);
  const cached = path.join(caches, name ?? "");
  const content = readFileSync(cached, "latin1").replace('"shop.service"', '"evil.service"');
  writeFileSync(cached, content, { encoding: "latin1", mode: 0o600 });
  assert.equal(recallConfig(file, TEXT), undefined);
});

test("one others could have written is not trusted", { skip: !isRoot }, () => {
  const config = parseConfigText(file, TEXT);
  rememberConfig(file, TEXT, config);
  const [name] = readdirSync(caches);
  const cached = path.join(caches, name ?? "");
  chmodSync(cached, 0o666);
  assert.equal(recallConfig(file, TEXT), undefined);
  chmodSync(cached, 0o600);
  chownSync(cached, 65534, 65534);
  assert.equal(recallConfig(file, TEXT), undefined);
  chownSync(cached, 0, 0);
  chmodSync(caches, 0o777);
  newRun();
  assert.equal(recallConfig(file, TEXT), undefined);
  chmodSync(caches, 0o700);
  newRun();
  assert.deepEqual(recallConfig(file, TEXT), config);
});

test("loadConfig takes the remembered config, and asks the host each time", {
  skip: !isRoot,
}, async () => {
  writeFileSync(file, TEXT);
  const first = await loadConfig(file);
  assert.equal(readdirSync(caches).length, 1);
  assert.deepEqual(await loadConfig(file), first);
  // What is remembered is what is used: a remembered config that differs shows through.
  const validated = parseConfigText(file, TEXT);
  const marked = structuredClone(validated);
  (marked.apps.shop as { service: string }).service = "remembered.service";
  rememberConfig(file, TEXT, marked);
  assert.equal((await loadConfig(file)).apps[0]?.service, "remembered.service");
  // The host's rules are not remembered: they run on the remembered config too.
  const stranger = structuredClone(validated);
  (stranger.apps.shop as { user: string }).user = "no-such-user-here";
  rememberConfig(file, TEXT, stranger);
  await assert.rejects(loadConfig(file), /no such user "no-such-user-here"/);
  // Another Node is another key (the schema's checks depend on it).
  newRun();
  const version = Object.getOwnPropertyDescriptor(process, "version");
  Object.defineProperty(process, "version", { value: "v99.0.0", configurable: true });
  try {
    assert.equal(recallConfig(file, TEXT), undefined);
  } finally {
    Object.defineProperty(process, "version", version as PropertyDescriptor);
  }
});

test("a write cut short leaves a temporary file that the next write removes", () => {
  const config = parseConfigText(file, TEXT);
  rememberConfig(file, TEXT, config);
  const [cached] = readdirSync(caches).filter((n) => !n.startsWith("."));
  assert.ok(cached, "a remembered config was written");
  // A dead writer's temp file (no process has a PID this high) and a live one's (PID 1 runs).
  const dead = path.join(caches, `.${cached}.4194999.tmp`);
  const live = path.join(caches, `.${cached}.1.tmp`);
  writeFileSync(dead, "cut short");
  writeFileSync(live, "being written");
  rmSync(path.join(caches, cached));
  newRun();
  rememberConfig(file, TEXT, config);
  assert.equal(existsSync(dead), false, "the dead writer's temp file was left");
  assert.equal(existsSync(live), true, "a running writer's temp file was removed");
  assert.deepEqual(recallConfig(file, TEXT), config);
});
