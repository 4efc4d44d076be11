// Small request/response helpers for the status endpoint on bare node:http.
import type { IncomingMessage, ServerResponse } from "node:http";

// Request bodies are never needed beyond a CI webhook's payload; more is refused with 413.
export const MAX_BODY_BYTES = 64 * 1024;

// The body was larger than MAX_BODY_BYTES.
export class BodyTooLargeError extends Error {}

// Read the request body, refusing (early, by Content-Length when given) anything too large.
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

// Answer with JSON; the connection is closed after an error so a client cannot keep
// streaming a refused body at us.
export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...(code >= 400 ? { connection: "close" } : {}),
    ...headers,
  });
  res.end(text);
}

// Answer with plain text (the Prometheus exposition format).
export function sendText(
  res: ServerResponse,
  code: number,
  contentType: string,
  text: string,
): void {
  res.writeHead(code, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

// The page's own rules: nothing loaded from anywhere (no script, no image, no font, no frame of
// it elsewhere), forms only to this host, inline style only (the page has no script at all).
const PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// Answer with an HTML page.
export function sendHtml(res: ServerResponse, code: number, html: string): void {
  res.writeHead(code, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the
    // sign-in form's POST, and the same-origin check could not tell it from a sandboxed frame.
    "referrer-policy": "same-origin",
  });
  res.end(html);
}
