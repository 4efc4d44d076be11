// Signing in to the status page: the token, entered once into the form, becomes a cookie that
// holds not the token but a MAC of it and of the time it was issued (so the cookie, if it leaks
// from a browser profile, is not the key to /v1, cannot be turned back into it, and expires on
// the server's clock), HttpOnly (no script reads it) and SameSite=Strict (no other site's page
// can make the browser send it). Rotating the token ends every session.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "deploy_agent_session";
// A working day: a person signs in again the next morning.
const SESSION_SECONDS = 12 * 3600;

// "<issued, seconds since the epoch>.<HMAC of it under the token>": the time is in the MAC, so a
// session ends after SESSION_SECONDS on the server's word, whatever the browser keeps.
function sessionValue(token: string, issued: number): string {
  const mac = createHmac("sha256", token)
    .update(`deploy-agent status page session v1 ${issued}`)
    .digest("hex");
  return `${issued}.${mac}`;
}

// The Set-Cookie header that signs a browser in.
export function sessionCookie(token: string, now = Date.now()): string {
  const value = sessionValue(token, Math.floor(now / 1000));
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

// Whether the request carries a valid session cookie: this token's MAC, issued within the last
// SESSION_SECONDS (and not in the future, beyond a minute of clock slack).
export function hasSession(req: IncomingMessage, token: string, now = Date.now()): boolean {
  const given = cookieValue(req.headers.cookie, SESSION_COOKIE);
  const match = /^(\d{1,12})\.[0-9a-f]{64}$/.exec(given ?? "");
  if (!match || given === undefined) return false;
  const issued = Number(match[1]);
  const age = now / 1000 - issued;
  if (age > SESSION_SECONDS || age < -60) return false;
  const expected = Buffer.from(sessionValue(token, issued));
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
