// The status endpoint's routes. Public: /health, /metrics, /v1/apps/APP/health. Everything
// under /v1 else needs the bearer token; an unauthenticated caller learns nothing from those,
// not even which apps exist (401 comes before 404). The public health route does tell whether
// an app exists: a load balancer must read an unknown app as 404, never as healthy. `/` is the
// page for a person: its sign-in form without a session (cookie) or the token, else the page.
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError, readBody, sendHtml, sendJson, sendText } from "./http-io.js";
import type { PageData } from "./page-data.js";
import { clearedCookie, formToken, hasSession, sameOrigin, sessionCookie } from "./page-session.js";
import { requestPath } from "./request-target.js";
import { renderPage, renderSignIn } from "./status-page.js";
import { bearerToken, tokenMatches } from "./token.js";

// What the routes need from the daemon; a plain object, so tests can hand in a fake.
export interface StatusApi {
  version: string;
  token: string;
  hasApp(app: string): boolean;
  // 200 when healthy, else 503; the body says why.
  appHealth(app: string): Promise<{ healthy: boolean; body: unknown }>;
  status(): Promise<unknown>;
  appStatus(app: string): Promise<unknown>;
  // Start a sync in the background; busy (with who holds the app) when one already runs.
  startSync(app: string): Promise<{ started: boolean; holder?: string; stopping?: boolean }>;
  metrics(): Promise<{ contentType: string; body: string }>;
  // What the status page shows.
  pageData(): Promise<PageData>;
}

interface Route {
  method: "GET" | "POST";
  pattern: RegExp;
  // "token": the bearer token, else 401; "page": the route itself decides (sign-in or page).
  auth: boolean;
  handle(
    api: StatusApi,
    res: ServerResponse,
    app: string | undefined,
    req: IncomingMessage,
    body: Buffer,
  ): Promise<void>;
}

// Any path segment: a name that cannot be an app (uppercase, dots) is an unknown app like any
// other, not a path that does not exist.
const APP = "([^/]+)";

const ROUTES: Route[] = [
  {
    method: "GET",
    pattern: /^\/$/,
    auth: false,
    handle: async (api, res, _app, req) => {
      if (!signedIn(api, req)) return sendHtml(res, 200, renderSignIn());
      sendHtml(res, 200, renderPage(await api.pageData()));
    },
  },
  {
    method: "POST",
    pattern: /^\/login$/,
    auth: false,
    handle: async (api, res, _app, req, body) => {
      if (!sameOrigin(req)) return sendHtml(res, 403, renderSignIn("Refused: not from this page."));
      if (!tokenMatches(formToken(body), api.token)) {
        return sendHtml(res, 401, renderSignIn("That is not this host's token."));
      }
      redirectHome(res, sessionCookie(api.token));
    },
  },
  {
    method: "POST",
    pattern: /^\/logout$/,
    auth: false,
    handle: async (_api, res, _app, req) => {
      if (!sameOrigin(req)) return sendHtml(res, 403, renderSignIn("Refused: not from this page."));
      redirectHome(res, clearedCookie());
    },
  },
  {
    method: "GET",
    pattern: /^\/health$/,
    auth: false,
    handle: async (api, res) => sendJson(res, 200, { status: "ok", version: api.version }),
  },
  {
    method: "GET",
    pattern: /^\/metrics$/,
    auth: false,
    handle: async (api, res) => {
      const { contentType, body } = await api.metrics();
      sendText(res, 200, contentType, body);
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/v1/apps/${APP}/health$`),
    auth: false,
    handle: async (api, res, app = "") => {
      const { healthy, body } = await api.appHealth(app);
      sendJson(res, healthy ? 200 : 503, body);
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/status$/,
    auth: true,
    handle: async (api, res) => sendJson(res, 200, await api.status()),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/v1/apps/${APP}$`),
    auth: true,
    handle: async (api, res, app = "") => sendJson(res, 200, await api.appStatus(app)),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/v1/apps/${APP}/sync$`),
    auth: true,
    handle: async (api, res, app = "") => {
      const result = await api.startSync(app);
      if (result.started) sendJson(res, 202, { app, sync: "started" });
      else if (result.stopping) sendJson(res, 503, { app, error: "the daemon is stopping" });
      else sendJson(res, 409, { app, error: "a sync is already running", holder: result.holder });
    },
  },
];

// Dispatch one request; errors become 500 with a generic message (details go to the log).
export async function handleRequest(
  api: StatusApi,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = requestPath(req.url ?? "");
  if (path === undefined) return sendJson(res, 400, { error: "bad request" });
  const matching = ROUTES.map((route) => ({ route, match: route.pattern.exec(path) })).filter(
    (m) => m.match,
  );
  if (matching.length === 0) return sendJson(res, 404, { error: "not found" });
  const method = req.method === "HEAD" ? "GET" : req.method;
  const hit = matching.find((m) => m.route.method === method);
  if (!hit?.match) {
    const allow = [...new Set(matching.map((m) => m.route.method))].join(", ");
    return sendJson(res, 405, { error: "method not allowed" }, { allow });
  }
  if (hit.route.auth && !tokenMatches(bearerToken(req.headers.authorization), api.token)) {
    return sendJson(res, 401, { error: "unauthorized" }, { "www-authenticate": "Bearer" });
  }
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      return sendJson(res, 413, { error: "request body too large" });
    }
    throw error;
  }
  const app = hit.match[1];
  if (app !== undefined && !api.hasApp(app)) return sendJson(res, 404, { error: "unknown app" });
  await hit.route.handle(api, res, app, req, body);
}

// Signed in: the page's session cookie, or the bearer token (for a script or curl).
function signedIn(api: StatusApi, req: IncomingMessage): boolean {
  return (
    hasSession(req, api.token) || tokenMatches(bearerToken(req.headers.authorization), api.token)
  );
}

function redirectHome(res: ServerResponse, cookie: string): void {
  res.writeHead(303, {
    location: "/",
    "set-cookie": cookie,
    "cache-control": "no-store",
    "content-length": 0,
  });
  res.end();
}
