// nginx's configuration test reports nginx's own lines; the proxy is reloaded when it runs,
// started when it does not, and never restarted.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  nginxReport,
  ProxyConfigError,
  ProxyError,
  proxyIsActive,
  reloadProxy,
  testProxyConfig,
} from "../../../src/proxy/nginx.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-nginx-"));
const argvFile = path.join(dir, "argv");
// What the fake systemctl answers to `show`, and how the fake nginx behaves.
const showFile = path.join(dir, "show");
const nginxFile = path.join(dir, "nginx-behaviour");
const savedPath = process.env.PATH;

const EMERG = [
  'nginx: [emerg] unknown directive "servr" in /etc/nginx/deploy-agent/shop.upstream:2',
  "nginx: configuration file /etc/nginx/nginx.conf test failed",
];

// Fakes first on PATH: systemctl records each call and answers `show` from a file; nginx runs
// the shell snippet in another file; systemd-run runs what follows its "--" in the foreground,
// as `--wait --pipe` does.
before(() => {
  writeFileSync(
    path.join(dir, "systemctl"),
    `#!/bin/sh\nprintf '%s ' "$@" >> '${argvFile}'\necho >> '${argvFile}'\n[ "$1" = show ] && cat '${showFile}'\nexit 0\n`,
  );
  writeFileSync(path.join(dir, "nginx"), `#!/bin/sh\n. '${nginxFile}'\n`);
  writeFileSync(
    path.join(dir, "systemd-run"),
    '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n',
  );
  chmodSync(path.join(dir, "systemd-run"), 0o755);
  chmodSync(path.join(dir, "systemctl"), 0o755);
  chmodSync(path.join(dir, "nginx"), 0o755);
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
});
after(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => writeFileSync(argvFile, ""));

// The systemctl calls made, one string each.
function calls(): string[] {
  return readFileSync(argvFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim());
}

function unitShows(props: Record<string, string>): void {
  writeFileSync(
    showFile,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
}

describe("nginxReport", () => {
  test("keeps nginx's lines, blank ones dropped", () => {
    assert.deepEqual(nginxReport(`${EMERG.join("\n")}\n\n`), EMERG);
  });

  test("makes lines printable and keeps at most 20", () => {
    const lines = nginxReport(`\u001b[2Jx\n${"y\n".repeat(40)}`);
    assert.equal(lines.length, 20);
    assert.equal(lines[0], "\\x1b[2Jx");
  });
});

describe("testProxyConfig", () => {
  test("passes when nginx -t does", async () => {
    writeFileSync(nginxFile, '[ "$1" = -t ] || exit 9\necho "nginx: test is successful" >&2\n');
    await testProxyConfig();
  });

  test("a refused configuration throws with nginx's own lines (file and line)", async () => {
    writeFileSync(nginxFile, `printf '%s\\n' '${EMERG[0]}' '${EMERG[1]}' >&2\nexit 1\n`);
    await assert.rejects(testProxyConfig(), (error: Error) => {
      assert.ok(error instanceof ProxyConfigError);
      assert.deepEqual(error.lines, EMERG);
      assert.match(
        error.message,
        /^nginx -t refused the configuration \(exit 1\):\n {2}nginx: \[emerg\]/,
      );
      assert.match(error.message, /shop\.upstream:2/);
      return true;
    });
  });
});

describe("proxyIsActive", () => {
  test("active and reloading are up; anything else is not", async () => {
    for (const [state, up] of [
      ["active", true],
      ["reloading", true],
      ["inactive", false],
      ["failed", false],
      ["activating", false],
    ] as const) {
      unitShows({ ActiveState: state });
      assert.equal(await proxyIsActive("nginx.service"), up, state);
    }
  });
});

describe("reloadProxy", () => {
  test("reloads a running proxy, never restarts it", async () => {
    unitShows({ LoadState: "loaded", ActiveState: "active", CanReload: "yes" });
    assert.equal(await reloadProxy("nginx.service"), "reloaded");
    assert.deepEqual(calls().slice(1), ["reload -- nginx.service"]);
  });

  test("starts a proxy that is not running (stopped or failed)", async () => {
    for (const state of ["inactive", "failed"]) {
      writeFileSync(argvFile, "");
      unitShows({ LoadState: "loaded", ActiveState: state, CanReload: "yes" });
      assert.equal(await reloadProxy("nginx.service"), "started");
      assert.deepEqual(calls().slice(1), ["start -- nginx.service"]);
    }
  });

  test("refuses a running unit that cannot reload, rather than restart it", async () => {
    unitShows({ LoadState: "loaded", ActiveState: "active", CanReload: "no" });
    await assert.rejects(
      reloadProxy("nginx.service"),
      (error: Error) =>
        error instanceof ProxyError &&
        /cannot be reloaded .*a restart would cut/.test(error.message),
    );
    assert.equal(calls().length, 1);
  });

  test("refuses a unit systemd does not know", async () => {
    unitShows({ LoadState: "not-found", ActiveState: "inactive", CanReload: "no" });
    await assert.rejects(
      reloadProxy("nginx.service"),
      /nginx\.service is not a unit systemd can run \(LoadState=not-found\)/,
    );
  });
});
