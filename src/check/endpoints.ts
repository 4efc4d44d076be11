// Check "endpoints": more requests that must answer with a given status (a login page 200, a
// protected API 401 without credentials), on health.url's host and port, each on a fresh
// connection bounded by health.timeout, each reported with what it answered.
import http from "node:http";
import type { HealthConfig } from "../config/schema.js";
import { printable } from "../output/sanitize.js";
import { httpsModule } from "../system/https-module.js";
import type { Check, CheckOutcome } from "./types.js";

// Requests in flight at once: enough that a few endpoints cost one round trip, few enough that a
// long list does not crowd out the app's own clients.
const PARALLEL = 4;

export interface EndpointAnswer {
  path: string;
  expected: number;
  // The status answered, or null when no answer came (refused, timed out).
  status: number | null;
  error: string | null;
  ms: number;
}

export const endpointsCheck: Check = {
  name: "endpoints",
  async run(ctx) {
    const health = ctx.app.health;
    if (!health || health.endpoints.length === 0) {
      return { status: "ok", summary: "not configured", details: {} };
    }
    return judgeEndpoints(await askEndpoints(health));
  },
};

// Ask every endpoint once, PARALLEL at a time, answers in the configured order.
export async function askEndpoints(health: HealthConfig): Promise<EndpointAnswer[]> {
  const answers: EndpointAnswer[] = new Array(health.endpoints.length);
  let next = 0;
  const lane = async () => {
    while (next < health.endpoints.length) {
      const i = next++;
      const endpoint = health.endpoints[i] as HealthConfig["endpoints"][number];
      const answer = await askStatus(endpointUrl(health.url, endpoint.path), health.timeout);
      answers[i] = { path: endpoint.path, expected: endpoint.status, ...answer };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, health.endpoints.length) }, lane));
  return answers;
}

// One GET on a fresh connection, done as soon as the status line and headers are in: the body is
// not wanted, so an app that trickles it cannot turn a right answer into "no answer". Any status
// is an answer; only none at all (refused, reset, no headers within `timeoutMs`) is an error.
// Never throws.
export async function askStatus(
  url: string,
  timeoutMs: number,
): Promise<{ status: number | null; error: string | null; ms: number }> {
  const client = url.startsWith("https:") ? httpsModule() : http;
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      request.destroy();
      resolve({ status: null, error: `no answer within ${timeoutMs} ms`, ms: ms() });
    }, timeoutMs);
    const request = client.get(url, { agent: false, headers: { connection: "close" } }, (res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? null, error: null, ms: ms() });
      res.destroy();
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        status: null,
        error: error.code ? `${error.code}: ${error.message}` : error.message,
        ms: ms(),
      });
    });
  });
}

// health.url with its path and query replaced by the endpoint's (which may carry a query).
export function endpointUrl(healthUrl: string, endpointPath: string): string {
  const url = new URL(healthUrl);
  return `${url.origin}${endpointPath}`;
}

// Critical when any endpoint answered another status or none; the summary names the wrong ones
// first, then the rest, each with what it answered.
export function judgeEndpoints(answers: EndpointAnswer[]): CheckOutcome {
  const wrong = answers.filter((a) => a.status !== a.expected);
  const details = { endpoints: answers };
  const said = (a: EndpointAnswer) =>
    a.status === null
      ? `${a.path} no answer (${a.error ?? "?"}), expected ${a.expected}`
      : a.status === a.expected
        ? `${a.path} ${a.status}`
        : `${a.path} answered ${a.status}, expected ${a.expected}`;
  const ordered = [...wrong, ...answers.filter((a) => !wrong.includes(a))];
  const summary = printable(ordered.map(said).join(", "));
  return { status: wrong.length > 0 ? "critical" : "ok", summary, details };
}
