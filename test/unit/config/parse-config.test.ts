// Config parsing: a good file normalises, every kind of bad file is refused with its key path.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfigText } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/errors.js";

const GOOD = `
apps:
  shop:
    dir: /srv/shop
    service: shop.service
    user: www-data
    group: www-data
    repo: { url: /srv/git/shop.git, branch: main, fetch_timeout: 60s }
    linked: [".env"]
    hooks:
      install: "true"
      migrate: "python3 migrate.py"
    database:
      path: /srv/shop/shared/shop.db
      mode: "664"
      tables: [orders]
      backups: { keep: 3 }
    processes: { master: 1, workers: 3 }
    health:
      url: http://127.0.0.1:8000/health
      version_field: version
      requests: 20
    releases: { keep: 5 }
    permissions:
      - { path: /srv/shop/shared/.env, mode: "600" }
    schedule: "*/15 * * * *"
    on_critical: none
    poll: 60s
http: { listen: "127.0.0.1:9107" }
`;

// Parse text expected to be refused; return the problems as "path: message" lines.
function problemsOf(text: string): string[] {
  try {
    parseConfigText("agent.yaml", text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.exitCode, 78);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("config was accepted");
}

// The good config with one line replaced.
function variant(find: string, replace: string): string {
  assert.ok(GOOD.includes(find), `fixture lacks ${find}`);
  return GOOD.replace(find, replace);
}

describe("parseConfigText", () => {
  test("accepts the DESIGN.md example and normalises units", () => {
    const config = parseConfigText("agent.yaml", GOOD);
    const shop = config.apps.shop;
    assert.ok(shop);
    assert.equal(shop.repo.fetch_timeout, 60_000);
    assert.equal(shop.poll, 60_000);
    assert.equal(shop.database?.mode, 0o664);
    assert.equal(shop.permissions[0]?.mode, 0o600);
    assert.equal(shop.hooks.timeout, 600_000);
    assert.equal(shop.verify.timeout, 60_000);
    assert.equal(config.history.retention, 30 * 86_400_000);
  });

  test("fills defaults for a minimal app", () => {
    const config = parseConfigText(
      "a.yaml",
      "apps:\n  web:\n    dir: /srv/web\n    service: web.service\n    repo: { url: /srv/git/web.git }\n",
    );
    const web = config.apps.web;
    assert.equal(web?.repo.branch, "main");
    assert.equal(web?.schedule, "*/15 * * * *");
    assert.deepEqual(web?.processes, { master: 1, workers: 3 });
    assert.equal(web?.releases.keep, 5);
    assert.equal(web?.on_critical, "none");
  });

  const cases: [string, string, RegExp][] = [
    [
      "unknown key",
      variant("    on_critical: none", "    on_critical: none\n    colour: blue"),
      /apps\.shop.*unknown key "colour"/,
    ],
    ["unknown top-level key", `${GOOD}\nextra: 1\n`, /unknown key "extra"/],
    [
      "relative app dir",
      variant("dir: /srv/shop", "dir: srv/shop"),
      /apps\.shop\.dir.*absolute path/,
    ],
    ["dir with ..", variant("dir: /srv/shop", "dir: /srv/../etc"), /apps\.shop\.dir/],
    [
      "service without suffix",
      variant("service: shop.service", "service: shop"),
      /apps\.shop\.service.*\.service/,
    ],
    ["mode not octal", variant('mode: "664"', 'mode: "989"'), /apps\.shop\.database\.mode.*octal/],
    [
      "bad cron",
      variant('schedule: "*/15 * * * *"', 'schedule: "every 15 minutes"'),
      /apps\.shop\.schedule.*cron/,
    ],
    [
      "bad duration",
      variant("fetch_timeout: 60s", "fetch_timeout: soon"),
      /apps\.shop\.repo\.fetch_timeout.*duration/,
    ],
    [
      "health url not http",
      variant("url: http://127.0.0.1:8000/health", "url: ftp://x/health"),
      /apps\.shop\.health\.url/,
    ],
    ["negative workers", variant("workers: 3", "workers: -1"), /apps\.shop\.processes\.workers/],
    [
      "on_critical enum",
      variant("on_critical: none", "on_critical: reboot"),
      /apps\.shop\.on_critical/,
    ],
    [
      "missing repo",
      variant("    repo: { url: /srv/git/shop.git, branch: main, fetch_timeout: 60s }\n", ""),
      /apps\.shop\.repo/,
    ],
    [
      "linked escapes the app",
      variant('linked: [".env"]', 'linked: ["../etc/passwd"]'),
      /apps\.shop\.linked\.0/,
    ],
    [
      "bad listen address",
      variant('listen: "127.0.0.1:9107"', 'listen: "127.0.0.1:99999"'),
      /http\.listen/,
    ],
    [
      "releases.keep below 2",
      variant("releases: { keep: 5 }", "releases: { keep: 1 }"),
      /apps\.shop\.releases\.keep/,
    ],
    ["no apps", "apps: {}\n", /apps.*at least one app/],
    ["wrong type for apps", "apps: [shop]\n", /apps/],
    ["YAML syntax error", "apps:\n  shop: [unclosed\n", /YAML syntax/],
    ["duplicate key", `${GOOD}\nhttp: { listen: "127.0.0.1:1" }\n`, /unique/],
  ];
  for (const [name, text, expected] of cases) {
    test(`refuses: ${name}`, () => {
      const problems = problemsOf(text);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `no problem matched ${expected}: ${problems.join(" | ")}`,
      );
    });
  }

  test("lists every problem at once, with line numbers", () => {
    const text = variant("dir: /srv/shop", "dir: srv/shop").replace('mode: "664"', 'mode: "999"');
    const problems = problemsOf(text);
    assert.ok(
      problems.some((p) => /^apps\.shop\.dir \(line 4\)/.test(p)),
      problems.join(" | "),
    );
    assert.ok(
      problems.some((p) => /^apps\.shop\.database\.mode \(line \d+\)/.test(p)),
      problems.join(" | "),
    );
  });
});

test("the example config that install.sh ships is valid", async () => {
  const { readFile } = await import("node:fs/promises");
  const { fileURLToPath } = await import("node:url");
  const example = fileURLToPath(new URL("../../../../install/agent.example.yaml", import.meta.url));
  const config = parseConfigText(example, await readFile(example, "utf8"));
  assert.ok(config.apps.shop);
});
