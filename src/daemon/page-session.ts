// Signing in to the status page: the token, entered once into the form, becomes a cookie that
// holds not the token but a MAC of it (so the cookie, if it leaks from a browser profile, is not
// the key to /v1 and cannot be turned back into it), HttpOnly (no script reads it) and
// SameSite=Strict (no other site's page can make the browser send it). Rotating the token ends
// every session.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "deploy_agent_session";
// A working day: a person signs in again the next morning.
const SESSION_SECONDS = 12 * 3600;

function sessionValue(token: string): string {
  return createHmac("sha256", token).update("deploy-agent status page session v1").digest("hex");
}

// The Set-Cookie header that signs a browser in.
export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

// Whether the request carries a valid session cookie.
export function hasSession(req: IncomingMessage, token: string): boolean {
  const given = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (given === undefined) return false;
  const expected = Buffer.from(sessionValue(token));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

// A state-changing request (sign-in, sign-out) must come from this page: a browser sends Origin
// on every POST, and it must be this host; a browser that sends Sec-Fetch-Site must say
// same-origin. A POST with neither is not from a browser's form on another site (browsers always
// send Origin there), so it is let through (curl, a script).
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (!host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}

// The token from an application/x-www-form-urlencoded body.
export function formToken(body: Buffer): string | undefined {
  const token = new URLSearchParams(body.toString("utf8")).get("token");
  return token === null ? undefined : token.trim();
}
