// The app's entry merged into agent.yaml: an existing file keeps its comments and other apps, the
// untouched installed example is replaced, and an app already there (by name, unit or directory)
// is refused.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { parse } from "yaml";
import {
  assertNotConfigured,
  ConfigConflictError,
  mergeAppEntry,
} from "../../../src/adopt/agent-config.js";
import { agentRoot } from "../../../src/agent-version.js";

const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-adopt-config-"));
after(() => rmSync(base, { recursive: true, force: true }));

const entry = {
  dir: "/opt/datacharted-app",
  service: "datacharted.service",
  user: "www-data",
  group: "www-data",
  repo: { url: "/srv/git/datacharted.git", branch: "main" },
  linked: [".env", "app_dev.db"],
  database: { path: "/opt/datacharted-app/shared/app_dev.db", mode: "664" },
  processes: { master: 1, workers: 3 },
  health: { url: "http://127.0.0.1:8000/health" },
};

const EXISTING = `# Our hosts' apps. Ask ops before changing.
apps:
  shop:
    dir: /srv/shop   # the old one
    service: shop.service
    repo: { url: /srv/git/shop.git }
`;

function file(name: string, text?: string): string {
  const at = path.join(base, name);
  if (text !== undefined) writeFileSync(at, text);
  return at;
}

describe("mergeAppEntry", () => {
  test("an existing config keeps its comments and other apps; the entry is added", async () => {
    const merged = await mergeAppEntry(file("existing.yaml", EXISTING), "datacharted", entry);
    assert.equal(merged.action, "add");
    assert.equal(merged.before, EXISTING);
    assert.match(merged.text, /^# Our hosts' apps\. Ask ops before changing\.$/m);
    assert.match(merged.text, /dir: \/srv\/shop +# the old one/);
    const parsed = parse(merged.text) as { apps: Record<string, { dir: string }> };
    assert.deepEqual(Object.keys(parsed.apps), ["shop", "datacharted"]);
    assert.equal(parsed.apps.datacharted?.dir, "/opt/datacharted-app");
  });

  test("the untouched installed example is replaced; an edited one is not", async () => {
    const root = agentRoot();
    assert.ok(root, "the agent's package root");
    const example = readFileSync(path.join(root, "install", "agent.example.yaml"), "utf8");
    const replaced = await mergeAppEntry(file("example.yaml", example), "datacharted", entry);
    assert.equal(replaced.action, "replace the untouched example");
    assert.deepEqual(Object.keys((parse(replaced.text) as { apps: object }).apps), ["datacharted"]);
    const edited = example.replace("dir: /srv/shop ", "dir: /srv/shop2");
    const added = await mergeAppEntry(file("edited.yaml", edited), "datacharted", entry);
    assert.equal(added.action, "add");
    assert.deepEqual(Object.keys((parse(added.text) as { apps: object }).apps), [
      "shop",
      "datacharted",
    ]);
  });

  test("no config yet: one is created", async () => {
    const created = await mergeAppEntry(path.join(base, "none.yaml"), "datacharted", entry);
    assert.equal(created.action, "create");
    assert.equal(created.before, undefined);
  });

  test("an app already there by name, unit or directory is refused", async () => {
    const at = file("conflict.yaml", EXISTING);
    await assert.rejects(mergeAppEntry(at, "shop", entry), ConfigConflictError);
    await assert.rejects(
      mergeAppEntry(at, "other", { ...entry, service: "shop.service" }),
      /shop\.service is already app "shop"/,
    );
    await assert.rejects(
      mergeAppEntry(at, "other", { ...entry, dir: "/srv/shop" }),
      /\/srv\/shop is already the directory of app "shop"/,
    );
    await assert.rejects(assertNotConfigured(at, "shop"), /app "shop" is already in/);
    await assertNotConfigured(at, "datacharted");
  });
});
