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

beforeEach(() => {
  rmSync(caches, { recursive: true, force: true });
  setStartCaches({ bundleSha256: "a".repeat(64), configDir: caches });
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
  assert.equal(recallConfig(path.join(dir, "other.yaml"), TEXT), undefined);
  setStartCaches({ bundleSha256: "b".repeat(64), configDir: caches });
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
  assert.equal(recallConfig(file, TEXT), undefined);
  chmodSync(caches, 0o700);
  assert.deepEqual(recallConfig(file, TEXT), config);
});

test("loadConfig gives the same config from memory as from validation, and asks the host each time", {
  skip: !isRoot,
}, async () => {
  writeFileSync(file, TEXT);
  const first = await loadConfig(file);
  assert.equal(readdirSync(caches).length, 1);
  const second = await loadConfig(file);
  assert.deepEqual(second, first);
  // The host's rules are not remembered: a user that does not exist is refused on a hit too.
  const text = TEXT.replace("user: root", "user: no-such-user-here");
  writeFileSync(file, text);
  rememberConfig(file, text, parseConfigText(file, text));
  await assert.rejects(loadConfig(file), /no such user "no-such-user-here"/);
});
