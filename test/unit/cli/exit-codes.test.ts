// The built CLI refuses bad input with documented exit codes and touches nothing.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

// The bundle, as installed: dist/test/unit/cli/ → dist/agent/agent.js
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../agent/agent.js");
const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Write a config whose app lives in a directory that must never be created.
function configWith(appLines: string): string {
  const file = path.join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `apps:\n  shop:\n    dir: ${dir}/never\n    service: shop.service\n    repo: { url: /nowhere.git }\n${appLines}`,
  );
  return file;
}

async function agent(args: string[]) {
  return execa("node", [CLI, ...args], {
    reject: false,
    // Its own state and cache directories: a run as root must leave the host as it found it.
    env: {
      DEPLOY_AGENT_STATE_DIR: path.join(dir, "state"),
      DEPLOY_AGENT_CODE_CACHE_DIR: path.join(dir, "cache", "code"),
    },
  });
}

describe("exit codes", () => {
  test("missing config file: 78 for backup, 3 (UNKNOWN) for check", async () => {
    const backup = await agent(["--config", path.join(dir, "absent.yaml"), "backup"]);
    assert.equal(backup.exitCode, 78);
    assert.match(backup.stderr, /absent\.yaml[\s\S]*file not found/);
    const check = await agent(["check", "--config", path.join(dir, "absent.yaml")]);
    assert.equal(check.exitCode, 3);
  });

  test("schema error names file, key path and expectation; nothing is created", async () => {
    const file = configWith("    database: { path: /srv/shop/shared/shop.db, mode: 'rw' }\n");
    const result = await agent(["--config", file, "backup"]);
    assert.equal(result.exitCode, 78);
    assert.match(
      result.stderr,
      new RegExp(`${path.basename(file)}[\\s\\S]*apps\\.shop\\.database\\.mode.*octal`),
    );
    assert.equal(existsSync(`${dir}/never`), false);
  });

  test("a user that does not exist on this host is refused", async () => {
    const file = configWith("    user: no-such-user-here\n");
    const result = await agent(["--config", file, "backup"]);
    assert.equal(result.exitCode, 78);
    assert.match(result.stderr, /apps\.shop\.user: no such user "no-such-user-here"/);
    const check = await agent(["--config", file, "check"]);
    assert.equal(check.exitCode, 3);
  });

  test("unknown app name and unknown flags are usage errors (64), UNKNOWN for check", async () => {
    const file = configWith("");
    const unknownApp = await agent(["--config", file, "backup", "blog"]);
    assert.equal(unknownApp.exitCode, 64);
    assert.match(unknownApp.stderr, /no app "blog".*configured: shop/);
    assert.equal((await agent(["backup", "--frobnicate"])).exitCode, 64);
    assert.equal((await agent(["check", "--frobnicate"])).exitCode, 3);
    assert.equal((await agent(["--help"])).exitCode, 0);
  });
});

describe("every command refuses a bad config with 78 and touches nothing", () => {
  const commands: string[][] = [
    ["sync"],
    ["sync", "--all", "--boot"],
    ["rollback"],
    ["restore"],
    ["status"],
    ["history"],
    ["backup"],
  ];
  for (const args of commands) {
    test(`agent ${args.join(" ")}`, async () => {
      const file = configWith("    database: { path: relative/shop.db }\n");
      const result = await agent(["--config", file, ...args]);
      assert.equal(result.exitCode, 78, result.stderr);
      assert.match(result.stderr, /apps\.shop\.database\.path/);
      assert.equal(existsSync(`${dir}/never`), false);
    });
  }
});

describe("usage errors exit 64 before anything runs", () => {
  test("sync with both an app and --all", async () => {
    const result = await agent(["--config", configWith(""), "sync", "shop", "--all"]);
    assert.equal(result.exitCode, 64, result.stderr);
    assert.equal(existsSync(`${dir}/never`), false);
  });

  test("history --since that is neither a duration nor a date", async () => {
    const result = await agent(["--config", configWith(""), "history", "--since", "yesterdayish"]);
    assert.equal(result.exitCode, 64, result.stderr);
    assert.match(result.stderr, /--since/);
  });

  test("a command that does not exist", async () => {
    assert.equal((await agent(["deploy"])).exitCode, 64);
  });

  test("--version prints the package's version and succeeds", async () => {
    const { version } = JSON.parse(
      readFileSync(path.resolve(path.dirname(CLI), "../../package.json"), "utf8"),
    ) as { version: string };
    const result = await agent(["--version"]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  });
});
