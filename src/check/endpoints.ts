// Check "endpoints": more requests that must answer with a given status (a login page 200, a
// protected API 401 without credentials), on health.url's host and port, each on a fresh
// connection bounded by health.timeout, each reported with what it answered.
import type { HealthConfig } from "../config/schema.js";
import { printable } from "../output/sanitize.js";
import type { Check, CheckOutcome } from "./types.js";
import { askOnce, type ProbeAnswer } from "./version-probe.js";

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
      const answer: ProbeAnswer = await askOnce(health, endpointUrl(health.url, endpoint.path));
      answers[i] = {
        path: endpoint.path,
        expected: endpoint.status,
        status: answer.httpStatus,
        // Any status is an answer here; only no answer at all is an error.
        error: answer.httpStatus === null ? answer.error : null,
        ms: answer.ms,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, health.endpoints.length) }, lane));
  return answers;
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
