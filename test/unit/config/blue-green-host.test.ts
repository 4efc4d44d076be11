// Blue-green rules against the host: the upstream file stays inside nginx's directory however its
// path is spelled or linked, and apps share neither ports nor upstream files.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { stringify } from "yaml";
import { blueGreenHostProblems, upstreamFileProblem } from "../../../src/config/blue-green-host.js";
import { loadConfig } from "../../../src/config/load.js";
import { parseConfigText } from "../../../src/config/parse.js";
import { ConfigError } from "../../../src/errors.js";

const base = realpathSync(mkdtempSync(path.join(tmpdir(), "deploy-agent-bg-host-")));
after(() => rmSync(base, { recursive: true, force: true }));
// Stands in for /etc/nginx.
const nginx = path.join(base, "nginx");
mkdirSync(path.join(nginx, "deploy-agent"), { recursive: true });
const outside = path.join(base, "elsewhere");
mkdirSync(outside);

describe("upstreamFileProblem", () => {
  test("a file in nginx's directory, existing or not, in a directory not made yet, is fine", async () => {
    writeFileSync(path.join(nginx, "deploy-agent", "old.upstream"), "server 127.0.0.1:1;\n");
    for (const file of [
      "deploy-agent/shop.upstream",
      "deploy-agent/old.upstream",
      "not-yet/made/shop.upstream",
      "shop.upstream",
    ]) {
      assert.equal(await upstreamFileProblem(path.join(nginx, file), nginx), undefined, file);
    }
  });

  test("a file outside nginx's directory, or the directory itself, is refused", async () => {
    for (const file of [path.join(outside, "shop.upstream"), nginx, `${nginx}-other/x`]) {
      assert.match(
        (await upstreamFileProblem(file, nginx)) ?? "",
        /^must be inside .*nginx\/ \(the proxy's configuration\)/,
        file,
      );
    }
  });

  test("a symlinked directory leading out is refused", async () => {
    symlinkSync(outside, path.join(nginx, "trick"));
    assert.match(
      (await upstreamFileProblem(path.join(nginx, "trick", "deeper", "shop.upstream"), nginx)) ??
        "",
      /trick resolves to .*elsewhere, outside .*: refused \(a symlink leads out\)/,
    );
  });

  test("a symlinked directory that stays inside is fine", async () => {
    symlinkSync("deploy-agent", path.join(nginx, "alias"));
    assert.equal(
      await upstreamFileProblem(path.join(nginx, "alias", "s.upstream"), nginx),
      undefined,
    );
  });

  test("an upstream file that is a symlink or a directory is refused", async () => {
    symlinkSync("/etc/passwd", path.join(nginx, "deploy-agent", "link.upstream"));
    mkdirSync(path.join(nginx, "deploy-agent", "dir.upstream"));
    assert.match(
      (await upstreamFileProblem(path.join(nginx, "deploy-agent", "link.upstream"), nginx)) ?? "",
      /link\.upstream is a symlink: the agent replaces this file/,
    );
    assert.match(
      (await upstreamFileProblem(path.join(nginx, "deploy-agent", "dir.upstream"), nginx)) ?? "",
      /dir\.upstream is a directory/,
    );
  });

  test("a host without nginx's directory is told so", async () => {
    const missing = path.join(base, "no-nginx");
    assert.match(
      (await upstreamFileProblem(path.join(missing, "deploy-agent", "s.upstream"), missing)) ?? "",
      /no-nginx does not exist on this host \(is nginx installed\?\)/,
    );
  });
});

// A blue-green app with these ports and upstream file (a name in nginx/deploy-agent/).
function blueGreenApp(name: string, blue: number, green: number, file: string) {
  return {
    dir: `/srv/${name}`,
    strategy: "blue-green",
    service: `${name}@.service`,
    repo: { url: `/srv/git/${name}.git` },
    blue_green: {
      ports: { blue, green },
      upstream_file: path.join(nginx, "deploy-agent", file),
      public_url: "http://127.0.0.1/health",
    },
    health: { url: "http://127.0.0.1:{port}/health" },
  };
}

// A config of blue-green apps, each given as [name, blue port, green port, upstream file name].
function blueGreenApps(apps: [string, number, number, string][]): string {
  return stringify({
    apps: Object.fromEntries(apps.map((a) => [a[0], blueGreenApp(...a)])),
  });
}

describe("blueGreenHostProblems", () => {
  test("apps with their own ports and files pass", async () => {
    const config = parseConfigText(
      "a.yaml",
      blueGreenApps([
        ["shop", 8001, 8002, "shop.upstream"],
        ["blog", 8003, 8004, "blog.upstream"],
      ]),
    );
    assert.deepEqual(await blueGreenHostProblems(config, nginx), []);
  });

  test("a port of another app, or its upstream file, is refused on the second app", async () => {
    const config = parseConfigText(
      "a.yaml",
      blueGreenApps([
        ["shop", 8001, 8002, "shop.upstream"],
        ["blog", 8003, 8001, "shop.upstream"],
      ]),
    );
    assert.deepEqual(
      (await blueGreenHostProblems(config, nginx)).map((p) => `${p.path}: ${p.message}`),
      [
        'apps.blog.blue_green.upstream_file: same file as app "shop": each app needs its own',
        'apps.blog.blue_green.ports.green: port 8001 is also a port of app "shop"',
      ],
    );
  });
});

test("loadConfig refuses an upstream file outside /etc/nginx, naming the file and key", async () => {
  const file = path.join(base, "agent.yaml");
  const shop = blueGreenApp("shop", 8001, 8002, "shop.upstream");
  shop.blue_green.upstream_file = "/etc/shop.upstream";
  writeFileSync(file, stringify({ apps: { shop: { ...shop, user: "root", group: "root" } } }));
  await assert.rejects(loadConfig(file), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.exitCode, 78);
    assert.equal(error.file, file);
    assert.ok(
      error.problems.some(
        (p) =>
          p.path === "apps.shop.blue_green.upstream_file" &&
          p.message.startsWith("must be inside /etc/nginx/"),
      ),
      JSON.stringify(error.problems),
    );
    return true;
  });
});
