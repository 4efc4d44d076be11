// Strategy blue-green in the config: DESIGN.md's example loads, every inconsistent combination of
// strategy, blue_green, service, socket and health.url is refused naming its key.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { colorUnit, healthUrlFor, isBlueGreen } from "../../../src/config/blue-green.js";
import { parseConfigText } from "../../../src/config/parse.js";
import { ConfigError } from "../../../src/errors.js";

const BLUE_GREEN = `
apps:
  shop:
    dir: /srv/shop
    strategy: blue-green
    service: shop@.service
    repo: { url: /srv/git/shop.git }
    blue_green:
      ports: { blue: 8001, green: 8002 }
      upstream_file: /etc/nginx/deploy-agent/shop.upstream
      proxy: nginx.service
      drain_timeout: 120s
      public_url: http://127.0.0.1/health
    health: { url: "http://127.0.0.1:{port}/health", version_field: version, requests: 20 }
`;

const RESTART = `
apps:
  shop:
    dir: /srv/shop
    service: shop.service
    repo: { url: /srv/git/shop.git }
    health: { url: "http://127.0.0.1:8000/health" }
`;

function replaced(text: string, find: string, replace: string): string {
  assert.ok(text.includes(find), `fixture lacks ${find}`);
  return text.replace(find, replace);
}

// The problems of a config expected to be refused, as "path: message" lines.
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

function assertRefused(text: string, expected: RegExp): void {
  const problems = problemsOf(text);
  assert.ok(
    problems.some((p) => expected.test(p)),
    `no problem matched ${expected}: ${problems.join(" | ")}`,
  );
}

describe("blue-green config", () => {
  test("DESIGN.md's example loads, durations in milliseconds", () => {
    const shop = parseConfigText("agent.yaml", BLUE_GREEN).apps.shop;
    assert.ok(shop);
    assert.equal(shop.strategy, "blue-green");
    assert.deepEqual(shop.blue_green, {
      ports: { blue: 8001, green: 8002 },
      upstream_file: "/etc/nginx/deploy-agent/shop.upstream",
      proxy: "nginx.service",
      drain_timeout: 120_000,
      public_url: "http://127.0.0.1/health",
    });
    assert.ok(isBlueGreen({ ...shop, name: "shop" }));
  });

  test("proxy defaults to nginx.service and drain_timeout to 120 s", () => {
    const text = replaced(
      replaced(BLUE_GREEN, "      proxy: nginx.service\n", ""),
      "      drain_timeout: 120s\n",
      "",
    );
    const bg = parseConfigText("agent.yaml", text).apps.shop?.blue_green;
    assert.equal(bg?.proxy, "nginx.service");
    assert.equal(bg?.drain_timeout, 120_000);
  });

  test('drain_timeout 0, "0" or "0s" means no limit (0)', () => {
    for (const zero of ["0", '"0"', "0s", '"0ms"']) {
      const text = replaced(BLUE_GREEN, "drain_timeout: 120s", `drain_timeout: ${zero}`);
      assert.equal(parseConfigText("agent.yaml", text).apps.shop?.blue_green?.drain_timeout, 0);
    }
  });

  test("a restart app needs none of it and is not blue-green", () => {
    const shop = parseConfigText("agent.yaml", RESTART).apps.shop;
    assert.ok(shop);
    assert.equal(shop.strategy, "restart");
    assert.equal(shop.blue_green, undefined);
    assert.equal(isBlueGreen({ ...shop, name: "shop" }), false);
  });

  const refused: [string, string, RegExp][] = [
    [
      "blue-green without a blue_green block",
      BLUE_GREEN.slice(0, BLUE_GREEN.indexOf("    blue_green:")) +
        BLUE_GREEN.slice(BLUE_GREEN.indexOf("    health:")),
      /^apps\.shop\.blue_green \(line \d+\): required with strategy "blue-green"/,
    ],
    [
      "blue_green with strategy restart",
      replaced(BLUE_GREEN, "strategy: blue-green", "strategy: restart"),
      /^apps\.shop\.blue_green \(line \d+\): only used with strategy "blue-green"/,
    ],
    [
      "blue_green with the default strategy",
      replaced(BLUE_GREEN, "    strategy: blue-green\n", ""),
      /^apps\.shop\.blue_green \(line \d+\): only used with strategy "blue-green"/,
    ],
    [
      "a service that is not a template",
      replaced(BLUE_GREEN, "service: shop@.service", "service: shop.service"),
      /^apps\.shop\.service \(line \d+\): .*template unit like "shop@\.service", got "shop\.service"/,
    ],
    [
      "an instance where the template belongs",
      replaced(BLUE_GREEN, "service: shop@.service", "service: shop@blue.service"),
      /^apps\.shop\.service \(line \d+\): .*template unit/,
    ],
    [
      "equal ports",
      replaced(BLUE_GREEN, "green: 8002", "green: 8001"),
      /^apps\.shop\.blue_green\.ports \(line \d+\): blue and green need different ports \(both are 8001\)/,
    ],
    [
      "port 0",
      replaced(BLUE_GREEN, "blue: 8001", "blue: 0"),
      /^apps\.shop\.blue_green\.ports\.blue .*TCP port from 1 to 65535/,
    ],
    [
      "port above 65535",
      replaced(BLUE_GREEN, "green: 8002", "green: 65536"),
      /^apps\.shop\.blue_green\.ports\.green .*TCP port from 1 to 65535/,
    ],
    [
      "port as text",
      replaced(BLUE_GREEN, "green: 8002", 'green: "8002"'),
      /^apps\.shop\.blue_green\.ports\.green .*TCP port/,
    ],
    [
      "a relative upstream_file",
      replaced(BLUE_GREEN, "upstream_file: /etc/nginx/", "upstream_file: etc/nginx/"),
      /^apps\.shop\.blue_green\.upstream_file .*absolute path/,
    ],
    [
      "an upstream_file climbing with ..",
      replaced(BLUE_GREEN, "/etc/nginx/deploy-agent/", "/etc/nginx/../shadow/"),
      /^apps\.shop\.blue_green\.upstream_file .*without '\.\.'/,
    ],
    [
      "socket with blue-green",
      replaced(
        BLUE_GREEN,
        "service: shop@.service",
        "service: shop@.service\n    socket: shop.socket",
      ),
      /^apps\.shop\.socket .*not with strategy "blue-green"/,
    ],
    [
      "a missing public_url",
      replaced(BLUE_GREEN, "      public_url: http://127.0.0.1/health\n", ""),
      /^apps\.shop\.blue_green\.public_url .*required: the health URL through the proxy/,
    ],
    [
      "a public_url that is not http",
      replaced(BLUE_GREEN, "public_url: http://", "public_url: ftp://"),
      /^apps\.shop\.blue_green\.public_url .*http:\/\/ or https:\/\//,
    ],
    [
      "a health.url without {port}",
      replaced(BLUE_GREEN, "127.0.0.1:{port}/health", "127.0.0.1:8001/health"),
      /^apps\.shop\.health\.url .*must contain \{port\}/,
    ],
    [
      "no health at all",
      BLUE_GREEN.slice(0, BLUE_GREEN.indexOf("    health:")),
      /^apps\.shop\.health \(line \d+\): required with strategy "blue-green"/,
    ],
    [
      "{port} outside the port",
      replaced(BLUE_GREEN, "127.0.0.1:{port}/health", "127.0.0.1:8001/{port}"),
      /^apps\.shop\.health\.url .*must stand for the whole port/,
    ],
    [
      "{port} as part of the port",
      replaced(BLUE_GREEN, "127.0.0.1:{port}/health", "127.0.0.1:{port}0/health"),
      /^apps\.shop\.health\.url .*must stand for the whole port/,
    ],
    [
      "a negative drain_timeout",
      replaced(BLUE_GREEN, "drain_timeout: 120s", "drain_timeout: -1"),
      /^apps\.shop\.blue_green\.drain_timeout .*or 0 to wait for every connection to end/,
    ],
    [
      "an unknown key in blue_green",
      replaced(BLUE_GREEN, "proxy: nginx.service", "proxy: nginx.service\n      drain: 5s"),
      /^apps\.shop\.blue_green .*unknown key "drain"/,
    ],
    [
      "{port} with strategy restart",
      replaced(RESTART, "127.0.0.1:8000/health", "127.0.0.1:{port}/health"),
      /^apps\.shop\.health\.url \(line \d+\): \{port\} is filled in only with strategy "blue-green"/,
    ],
    [
      "an unknown strategy",
      replaced(BLUE_GREEN, "strategy: blue-green", "strategy: canary"),
      /^apps\.shop\.strategy /,
    ],
  ];
  for (const [name, text, expected] of refused) {
    test(`refuses ${name}`, () => assertRefused(text, expected));
  }

  test("a zero duration is still refused where it means nothing", () => {
    assertRefused(
      replaced(RESTART, "repo: { url: /srv/git/shop.git }", "repo: { url: /x, fetch_timeout: 0 }"),
      /^apps\.shop\.repo\.fetch_timeout .*expected a duration like "60s", "5m" or "1h", got 0$/,
    );
  });

  test("strategy problems are listed with the other problems of the file, all at once", () => {
    let text = replaced(BLUE_GREEN, "green: 8002", "green: 8001");
    text = replaced(text, "service: shop@.service", "service: shop.service\n    socket: s.socket");
    text = replaced(text, "    repo:", "    processes: { workers: -1 }\n    repo:");
    const problems = problemsOf(text).map((p) => p.split(" ")[0]);
    assert.deepEqual(problems.sort(), [
      "apps.shop.blue_green.ports",
      "apps.shop.processes.workers",
      "apps.shop.service",
      "apps.shop.socket",
    ]);
  });
});

describe("colorUnit", () => {
  test("fills the template's instance with the color", () => {
    assert.equal(colorUnit("shop@.service", "blue"), "shop@blue.service");
    assert.equal(colorUnit("my-app.v2@.service", "green"), "my-app.v2@green.service");
  });

  test("refuses a unit that is not a template", () => {
    assert.throws(() => colorUnit("shop.service", "blue"), /not a template unit/);
    assert.throws(() => colorUnit("shop@x.service", "blue"), /not a template unit/);
  });
});

describe("healthUrlFor", () => {
  test("puts the port where {port} is", () => {
    assert.equal(
      healthUrlFor("http://127.0.0.1:{port}/health", 8002),
      "http://127.0.0.1:8002/health",
    );
  });

  test("leaves a URL without {port} as it is", () => {
    assert.equal(
      healthUrlFor("http://127.0.0.1:8000/health", 8002),
      "http://127.0.0.1:8000/health",
    );
  });
});
