// Config parsing: a good file normalises, every kind of bad file is refused with its key path.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfigText } from "../../../src/config/parse.js";
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
    assert.equal(web?.repo.allow_rewrites, false);
    assert.equal(web?.repo.allowed_signers, undefined);
    assert.equal(web?.promote, undefined);
  });

  test("takes promotion and trust settings", () => {
    const config = parseConfigText(
      "a.yaml",
      "apps:\n  web:\n    dir: /srv/web\n    service: web.service\n" +
        "    repo: { url: /srv/git/web.git, allow_rewrites: true, allowed_signers: /etc/deploy-agent/signers }\n" +
        "    promote: { branch: verified/uat }\n",
    );
    const web = config.apps.web;
    assert.equal(web?.repo.allow_rewrites, true);
    assert.equal(web?.repo.allowed_signers, "/etc/deploy-agent/signers");
    assert.deepEqual(web?.promote, { branch: "verified/uat" });
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
    [
      "endpoint path without a leading /",
      variant("requests: 20", "requests: 20\n      endpoints: [{ path: login, status: 200 }]"),
      /apps\.shop\.health\.endpoints\.0\.path.*starting with "\/"/,
    ],
    [
      "endpoint status outside 100-599",
      variant("requests: 20", "requests: 20\n      endpoints: [{ path: /login, status: 600 }]"),
      /apps\.shop\.health\.endpoints\.0\.status.*100 to 599/,
    ],
    [
      "logs pattern not a regular expression",
      variant("    poll: 60s", '    poll: 60s\n    logs: { pattern: "Traceback(" }'),
      /apps\.shop\.logs\.pattern.*regular expression/,
    ],
    [
      "logs critical below warning",
      variant(
        "    poll: 60s",
        '    poll: 60s\n    logs: { pattern: "ERROR", warning: 5, critical: 2 }',
      ),
      /apps\.shop\.logs\.critical.*not below warning \(5\)/,
    ],
    [
      "custom check named like a built-in one",
      variant("    poll: 60s", '    poll: 60s\n    checks: [{ name: health, command: "true" }]'),
      /apps\.shop\.checks\.0\.name.*built-in/,
    ],
    [
      "two custom checks of one name",
      variant(
        "    poll: 60s",
        '    poll: 60s\n    checks: [{ name: deps, command: "true" }, { name: deps, command: "false" }]',
      ),
      /apps\.shop\.checks\.1\.name.*repeats the name of checks\.0/,
    ],
    [
      "custom check without a command",
      variant("    poll: 60s", "    poll: 60s\n    checks: [{ name: deps }]"),
      /apps\.shop\.checks\.0\.command/,
    ],
    [
      "env_file required key not a variable name",
      variant(
        "    poll: 60s",
        '    poll: 60s\n    env_file: { path: /srv/shop/shared/.env, required: ["A-B"] }',
      ),
      /apps\.shop\.env_file\.required\.0.*variable name/,
    ],
    [
      "env_file relative path",
      variant("    poll: 60s", "    poll: 60s\n    env_file: { path: shared/.env }"),
      /apps\.shop\.env_file\.path.*absolute/,
    ],
    [
      "promote to the branch the app deploys from",
      variant("    poll: 60s", "    poll: 60s\n    promote: { branch: main }"),
      /apps\.shop\.promote\.branch.*other than repo\.branch \(main\)/,
    ],
    [
      "promote to a name git refuses",
      variant("    poll: 60s", '    poll: 60s\n    promote: { branch: "verified..uat" }'),
      /apps\.shop\.promote\.branch.*git branch name/,
    ],
    [
      "allowed_signers relative",
      variant("    poll: 60s", "    poll: 60s").replace(
        /repo: \{ ([^}]*) \}/,
        "repo: { $1, allowed_signers: signers }",
      ),
      /apps\.shop\.repo\.allowed_signers.*absolute/,
    ],
    [
      "install_cache without an install hook",
      variant("    poll: 60s", "    poll: 60s").replace(
        /hooks:\n(\s+)install: [^\n]*\n/,
        "hooks:\n$1install_cache: { key: [requirements.txt], path: venv }\n",
      ),
      /apps\.shop\.hooks\.install_cache.*needs hooks\.install/,
    ],
    [
      "install_cache without key files",
      variant("    poll: 60s", "    poll: 60s").replace(
        /hooks:\n/,
        "hooks:\n      install_cache: { key: [], path: venv }\n",
      ),
      /apps\.shop\.hooks\.install_cache\.key.*files whose content decides/,
    ],
    [
      "install_cache path with a trailing slash",
      variant("    poll: 60s", "    poll: 60s").replace(
        /hooks:\n/,
        "hooks:\n      install_cache: { key: [requirements.txt], path: venv/ }\n",
      ),
      /apps\.shop\.hooks\.install_cache\.path.*trailing/,
    ],
    [
      "a linked path inside shared/cache with install_cache",
      variant('    linked: [".env"]', '    linked: [".env", cache/x]').replace(
        /hooks:\n/,
        "hooks:\n      install_cache: { key: [requirements.txt], path: venv }\n",
      ),
      /apps\.shop\.linked\.1.*install_cache/,
    ],
    [
      "ssh_key without known_hosts",
      variant("branch: main, fetch_timeout: 60s", "branch: main, ssh_key: /etc/deploy-agent/key"),
      /apps\.shop\.repo\.known_hosts.*required with ssh_key.*never accepted/,
    ],
    [
      "token_file with an ssh remote",
      variant("branch: main, fetch_timeout: 60s", "branch: main, token_file: /etc/deploy-agent/t"),
      /apps\.shop\.repo\.token_file.*needs an http\(s\):\/\/ remote/,
    ],
    [
      "a key path a shell would split",
      variant(
        "branch: main, fetch_timeout: 60s",
        'branch: main, ssh_key: "/etc/it\'s", known_hosts: /etc/k',
      ),
      /apps\.shop\.repo\.ssh_key.*letters, digits/,
    ],
    [
      "a token over plain http to another host",
      variant(
        "url: /srv/git/shop.git, branch: main, fetch_timeout: 60s",
        "url: http://git.example.com/shop.git, token_file: /etc/deploy-agent/t",
      ),
      /apps\.shop\.repo\.url.*needs https/,
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

// Config values that reach systemctl's or git's argv: validated so none is read as an option.
describe("values that reach argv", () => {
  // The good config with the service, or a socket, set to `name`.
  const withUnit = (key: "service" | "socket", name: string) =>
    key === "service"
      ? variant("service: shop.service", `service: ${JSON.stringify(name)}`)
      : variant(
          "service: shop.service",
          `service: shop.service\n    socket: ${JSON.stringify(name)}`,
        );
  // The good config with repo fields replaced (written as JSON, which YAML reads).
  const withRepo = (repo: Record<string, string>) =>
    variant(
      "repo: { url: /srv/git/shop.git, branch: main, fetch_timeout: 60s }",
      `repo: ${JSON.stringify({ url: "/srv/git/shop.git", ...repo })}`,
    );
  // Parse text expected to be accepted.
  const parse = (text: string) => parseConfigText("agent.yaml", text).apps.shop;

  test("accepts template and instance units, a digit first, a socket", () => {
    for (const name of [
      "shop@.service",
      "shop@blue.service",
      "9shop.service",
      "a:b\\x2d.service",
    ]) {
      assert.equal(parse(withUnit("service", name))?.service, name);
    }
    assert.equal(parse(withUnit("socket", "shop@blue.socket"))?.socket, "shop@blue.socket");
  });

  test("accepts remote URLs and paths", () => {
    for (const url of ["https://git.example.com/shop.git", "git@host:shop.git", "./x-y.git"]) {
      assert.equal(parse(withRepo({ url }))?.repo.url, url);
    }
  });

  test("accepts branch names git accepts", () => {
    for (const branch of ["release/2.1", "user@fix+1", "v1.0", "x.lockfile", "ünï"]) {
      assert.equal(parse(withRepo({ branch }))?.repo.branch, branch);
    }
  });

  const refused: [string, string, RegExp][] = [
    ["service", "-H.service", /letter or digit/],
    ["service", "@.service", /letter or digit/],
    ["service", ".service", /letter or digit/],
    ["service", `${"s".repeat(248)}.service`, /at most 255/],
    ["socket", "--help.socket", /letter or digit/],
  ];
  for (const [key, name, why] of refused) {
    test(`refuses ${key} ${JSON.stringify(name.slice(0, 20))}`, () => {
      const problems = problemsOf(withUnit(key === "service" ? "service" : "socket", name));
      const expected = new RegExp(`^apps\\.shop\\.${key} .*${why.source}`);
      assert.ok(
        problems.some((p) => expected.test(p)),
        problems.join(" | "),
      );
    });
  }

  for (const url of ["--upload-pack=touch /tmp/pwned", "-", "-oProxyCommand=x"]) {
    test(`refuses repo.url ${JSON.stringify(url)}`, () => {
      const problems = problemsOf(withRepo({ url }));
      assert.ok(
        problems.some((p) => /^apps\.shop\.repo\.url .*starting with "-"/.test(p)),
        problems.join(" | "),
      );
    });
  }

  const badBranches: [string, RegExp][] = [
    ["-main", /starts with "-"/],
    ["HEAD", /"HEAD"/],
    ["a..b", /contains "\.\."/],
    ["a//b", /contains "\/\/"/],
    ["/main", /starts or ends with "\/"/],
    ["main/", /starts or ends with "\/"/],
    [".main", /part "\.main"/],
    ["a/.b", /part "\.b"/],
    ["main.lock", /part "main\.lock"/],
    ["main.", /ends with "\."/],
    ["main@{1}", /contains "@\{"/],
    ["a b", /space/],
    ["a\u0007b", /control/],
    ["a~1", /contains "~"/],
    ["a^", /contains "\^"/],
    ["a:b", /contains ":"/],
    ["a?", /contains "\?"/],
    ["a*", /contains "\*"/],
    ["a[0]", /contains "\["/],
    ["a\\b", /contains "\\"/],
  ];
  for (const [branch, why] of badBranches) {
    test(`refuses repo.branch ${JSON.stringify(branch)}`, () => {
      const problems = problemsOf(withRepo({ branch }));
      const expected = new RegExp(
        `^apps\\.shop\\.repo\\.branch .*expected a git branch name: .* ${why.source}`,
      );
      assert.ok(
        problems.some((p) => expected.test(p)),
        problems.join(" | "),
      );
    });
  }
});

test("the example config that install.sh ships is valid", async () => {
  const { readFile } = await import("node:fs/promises");
  const { fileURLToPath } = await import("node:url");
  const example = fileURLToPath(new URL("../../../../install/agent.example.yaml", import.meta.url));
  const config = parseConfigText(example, await readFile(example, "utf8"));
  assert.ok(config.apps.shop);
});
