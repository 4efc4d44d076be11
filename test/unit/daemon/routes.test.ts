// The status endpoint's HTTP contract, over a real socket with a fake daemon behind it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { sessionCookie } from "../../../src/daemon/page-session.js";
import type { StatusApi } from "../../../src/daemon/routes.js";
import { type StatusServer, startStatusServer } from "../../../src/daemon/status-server.js";
import { rawGet } from "./raw-http.js";

const TOKEN = "0123456789abcdef0123456789abcdef";
let syncs = 0;
let healthy = true;

const api: StatusApi = {
  version: "9.9.9",
  token: TOKEN,
  hasApp: (app) => app === "shop",
  appHealth: async (app) => ({ healthy, body: { app, status: healthy ? "ok" : "critical" } }),
  status: async () => ({ apps: ["shop"] }),
  appStatus: async (app) => ({ app }),
  startSync: async () => (++syncs === 1 ? { started: true } : { started: false, holder: "x" }),
  pageData: async () => ({
    host: "h",
    version: "v",
    generatedAt: "",
    apps: [
      {
        name: "shop",
        strategy: "restart",
        serving: null,
        live: { release: "r1", revision: "3f2a1c9b0d1e" },
        activity: "idle",
        lastCheck: null,
        deployments: [],
        checkDurations: [],
      },
    ],
  }),
  metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "m 1\n" }),
};

let server: StatusServer;
let base: string;
before(async () => {
  server = await startStatusServer("127.0.0.1:0", api, pino({ level: "silent" }));
  base = `http://${server.address}`;
});
after(() => server.close());

// One request; `token` undefined sends no Authorization header.
async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(base + path, { ...init, headers });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}

describe("public routes", () => {
  test("GET /health gives the agent's status and version without a token", async () => {
    const res = await call("/health");
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { status: "ok", version: "9.9.9" });
  });

  test("GET /v1/apps/APP/health: 200 when healthy, 503 when not", async () => {
    healthy = true;
    assert.equal((await call("/v1/apps/shop/health")).status, 200);
    healthy = false;
    const sick = await call("/v1/apps/shop/health");
    assert.equal(sick.status, 503);
    assert.equal(JSON.parse(sick.text).status, "critical");
  });

  // A load balancer must never read an unknown name as a healthy backend; and a name that can
  // never be an app (uppercase, a dot, an escape) is unknown like any other, not "not found".
  for (const name of ["blog", "Shop", "SHOP", "shop.old", "sh%6Fp", "-shop", "_"]) {
    test(`GET /v1/apps/${name}/health: 404 {"error":"unknown app"}, even while all is healthy`, async () => {
      healthy = true;
      const res = await call(`/v1/apps/${name}/health`);
      assert.equal(res.status, 404);
      assert.equal(res.text, '{"error":"unknown app"}\n');
    });
  }

  test("GET /metrics is public, Prometheus text", async () => {
    const res = await call("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(res.text, "m 1\n");
  });
});

describe("token-protected routes", () => {
  for (const path of ["/v1/status", "/v1/apps/shop", "/v1/apps/nope"]) {
    test(`GET ${path}: 401 without a token, with a wrong one, with a prefix of it`, async () => {
      for (const token of [undefined, "wrong", TOKEN.slice(0, -1), `${TOKEN}0`, ""]) {
        const res = await call(path, { token });
        assert.equal(res.status, 401, `token ${String(token)}`);
        assert.equal(res.headers.get("www-authenticate"), "Bearer");
      }
    });
  }

  test("GET /v1/status and /v1/apps/APP: 200 with the token, 404 for an unknown app", async () => {
    assert.equal((await call("/v1/status", { token: TOKEN })).status, 200);
    const app = await call("/v1/apps/shop", { token: TOKEN });
    assert.deepEqual(JSON.parse(app.text), { app: "shop" });
    for (const name of ["blog", "Shop", "shop.old"]) {
      const unknown = await call(`/v1/apps/${name}`, { token: TOKEN });
      assert.equal(unknown.status, 404, name);
      assert.equal(unknown.text, '{"error":"unknown app"}\n');
      assert.equal((await call(`/v1/apps/${name}`)).status, 401, `${name} without a token`);
    }
  });

  test("POST /v1/apps/APP/sync: 401 without token, 202, then 409 while one runs", async () => {
    assert.equal((await call("/v1/apps/shop/sync", { method: "POST" })).status, 401);
    assert.equal(syncs, 0, "no sync started for an unauthenticated caller");
    const first = await call("/v1/apps/shop/sync", { method: "POST", token: TOKEN, body: "{}" });
    assert.equal(first.status, 202);
    const second = await call("/v1/apps/shop/sync", { method: "POST", token: TOKEN });
    assert.equal(second.status, 409);
    assert.equal(syncs, 2);
  });

  test("a body over 64 KiB is refused with 413 and starts nothing", async () => {
    const before = syncs;
    const res = await call("/v1/apps/shop/sync", {
      method: "POST",
      token: TOKEN,
      body: "x".repeat(64 * 1024 + 1),
    });
    assert.equal(res.status, 413);
    assert.equal(syncs, before);
    const exact = await call("/v1/apps/shop/sync", {
      method: "POST",
      token: TOKEN,
      body: "x".repeat(64 * 1024),
    });
    assert.equal(exact.status, 409, "exactly 64 KiB is accepted");
  });
});

describe("everything else", () => {
  test("unknown paths 404, wrong methods 405 with Allow", async () => {
    assert.equal((await call("/nothing")).status, 404);
    assert.equal((await call("/v1/apps/shop/health/x")).status, 404);
    const wrong = await call("/v1/apps/shop/sync", { token: TOKEN });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    assert.equal((await call("/health", { method: "DELETE" })).status, 405);
  });
});

describe("malformed requests", () => {
  // Targets Node passes on to the handler, where `new URL(target, base)` threw (500), or that
  // are not an RFC 3986 origin-form path or an http(s) URL at all.
  const malformed = [
    "//[",
    "/\\[",
    "/[",
    "/health#x",
    '/{}|^`"<>',
    "http://",
    "http://[::1",
    "http://[::1/health",
    "HTTP://[",
    "*",
    "ftp://host/health",
    "/%",
    "/%zz",
    "/health%2",
    "/health?x=%",
  ];
  // Targets Node's parser refuses before any route sees them.
  const unparseable = ["/a b", "/\u0001", "/\u00fc", "health", "\\\\[", "%"];
  for (const target of [...malformed, ...unparseable]) {
    test(`GET ${JSON.stringify(target)}: 400 {"error":"bad request"}`, async () => {
      const res = await rawGet(server.address, target);
      assert.equal(res.status, 400);
      assert.equal(res.body, '{"error":"bad request"}\n');
    });
  }

  test("a request line over 16 KiB: 431, in JSON too", async () => {
    const res = await rawGet(server.address, `/${"a".repeat(20_000)}`);
    assert.equal(res.status, 431);
    assert.deepEqual(JSON.parse(res.body), { error: "request headers too large" });
  });

  test("a long path within the limit is only not found", async () => {
    const res = await rawGet(server.address, `/${"a".repeat(15_000)}`);
    assert.equal(res.status, 404);
  });

  test("an absolute-form target is served; '//x' is a path here, never a host", async () => {
    assert.equal((await rawGet(server.address, "http://example.com/health")).status, 200);
    assert.equal((await rawGet(server.address, "http://[::1]:9107/health?x")).status, 200);
    assert.equal((await rawGet(server.address, "https://example.com/v1/status")).status, 401);
    // `new URL` threw on "//", "///" and "//:99999" (an empty or bad host); they are paths.
    for (const target of ["//", "///", "//:99999", "//health", "//example.com/health"]) {
      assert.equal((await rawGet(server.address, target)).status, 404, target);
    }
  });
});

describe("the status page", () => {
  const form = (token: string, headers: Record<string, string> = {}) =>
    call("/login", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ token }).toString(),
    });

  test("without a session: the sign-in form, no app name, a strict CSP", async () => {
    const res = await call("/");
    assert.equal(res.status, 200);
    assert.match(res.text, /<form method="post" action="\/login">/);
    assert.doesNotMatch(res.text, /shop|3f2a1c9b0d1e/);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(res.text, /<script|src=|href="http/);
  });

  test("the token signs in: 303 with an HttpOnly SameSite=Strict cookie that is not the token", async () => {
    const res = await form(TOKEN);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/");
    const cookie = res.headers.get("set-cookie") ?? "";
    assert.match(
      cookie,
      /^deploy_agent_session=\d+\.[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    );
    assert.ok(!cookie.includes(TOKEN));
    const session = cookie.split(";")[0] ?? "";
    const page = await call("/", { headers: { cookie: session } });
    assert.match(page.text, /data-app="shop"/);
    assert.match(page.text, /3f2a1c9b0d1e/);
    // The cookie is no bearer token for the API.
    const api = await call("/v1/status", {
      headers: { authorization: `Bearer ${session.split("=")[1]}` },
    });
    assert.equal(api.status, 401);
    // The bearer token works for the page as for the API.
    assert.match((await call("/", { token: TOKEN })).text, /data-app="shop"/);
  });

  test("a wrong token or another site's form is refused; a forged cookie shows nothing", async () => {
    const wrong = await form("nope");
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    const crossSite = await form(TOKEN, { origin: "http://evil.example" });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.headers.get("set-cookie"), null);
    const fetchedCrossSite = await form(TOKEN, { "sec-fetch-site": "cross-site" });
    assert.equal(fetchedCrossSite.status, 403);
    const forged = await call("/", {
      headers: { cookie: `deploy_agent_session=${"0".repeat(64)}` },
    });
    assert.doesNotMatch(forged.text, /shop/);
    // A session past its 12 hours shows nothing, whatever the browser kept.
    const old = sessionCookie(TOKEN, Date.now() - 13 * 3_600_000).split(";")[0] ?? "";
    assert.doesNotMatch((await call("/", { headers: { cookie: old } })).text, /shop/);
    const fresh = sessionCookie(TOKEN).split(";")[0] ?? "";
    assert.match((await call("/", { headers: { cookie: fresh } })).text, /data-app="shop"/);
  });
});
