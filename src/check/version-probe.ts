// Ask the health URL the same question over many fresh connections and collect the answers.
import http from "node:http";
import type { AppConfig } from "../config/schema.js";
import { httpsModule } from "../system/https-module.js";

type HealthConfig = NonNullable<AppConfig["health"]>;

// Biggest health response read; a health endpoint answering more is misbehaving anyway.
const MAX_BODY = 64 * 1024;

export interface ProbeAnswer {
  // HTTP status, or null when no response came (refused, timed out).
  httpStatus: number | null;
  version: string | null;
  pid: number | null;
  error: string | null;
  ms: number;
}

export interface VersionProbe {
  url: string;
  expected: string | null;
  answers: ProbeAnswer[];
  // The worker PIDs the answers had to come from (the unit's, read from its cgroup); empty when
  // the probe was not told (a URL through the proxy), or the answers carry no PID.
  workers: number[];
  durationMs: number;
}

// After every connection of a round is open, this long before the requests are sent: a sync
// worker accepts one connection and then blocks reading it, so each connection of the round is
// taken by a different idle worker instead of the fastest one winning every accept.
const HOLD_MS = 15;
// Connections of one round at most.
const MAX_ROUND = 10;
// Requests past health.requests, per worker, that the probe may send while a worker is unheard
// (a worker still booting answers within them; the time bound, health.timeout, comes first).
// gthread workers each accept as many connections as come, so holding a round does not spread
// it: the blue-green sample's colors needed 40 to 70 requests to hear 3 workers.
const PER_WORKER = 50;

// Ask the health URL over fresh connections (no keep-alive: one connection always reaches the
// same worker) until every worker in `workers` has answered, in rounds of one connection per
// worker and one more. At least `health.requests` answers are collected (every one must agree);
// past that the probe goes on only while a worker is still unheard, up to PER_WORKER more
// requests per worker and `health.timeout` in all. When no answer carries a PID the probe stops at
// `health.requests`: those workers cannot be told apart (judgeProbe says so).
export async function probeVersions(
  app: AppConfig,
  expectedRevision: string | undefined,
  workers: number[] | Promise<number[]> = [],
): Promise<VersionProbe> {
  const health = app.health as HealthConfig;
  const started = performance.now();
  // The worker PIDs may still be being read (the check reads the unit's cgroup and /proc, and asks
  // systemd): the first health.requests answers do not depend on them, so the probe starts at
  // once and waits for them only when it must decide whether to go on. Handled here, rethrown
  // where it is awaited: a failed read fails the probe, never the process.
  const known = Promise.resolve(workers);
  known.catch(() => {});
  // A round is one connection per worker and one more, or up to MAX_ROUND when more requests are
  // due anyway: the first connections each go to an idle worker, the rest queue behind them, and
  // fewer rounds mean fewer holds (measured with 3 sync workers and 20 requests: ~70 ms in
  // rounds of 10, ~125 ms in rounds of 4, every worker heard either way).
  const roundFor = (workerCount: number) => {
    const perWorker = Math.max(app.processes.workers, workerCount, 1) + 1;
    return Math.min(Math.max(perWorker, Math.min(health.requests, MAX_ROUND)), MAX_ROUND);
  };
  let round = roundFor(Array.isArray(workers) ? workers.length : 0);
  const answers: ProbeAnswer[] = [];
  const heard = new Set<number>();
  let want: Set<number> | undefined;
  // Time spent waiting for the PIDs is not the probe's: health.timeout bounds the asking.
  let waitedMs = 0;
  const unheard = () => [...(want ?? [])].some((pid) => !heard.has(pid));
  for (;;) {
    const enough = answers.length >= health.requests;
    if (enough && !want) {
      const waitStarted = performance.now();
      want = new Set(await known);
      waitedMs = performance.now() - waitStarted;
      round = roundFor(want.size);
    }
    const maxRequests = health.requests + PER_WORKER * (want?.size ?? 0);
    if (enough && (!unheard() || !answers.some((a) => a.pid !== null))) break;
    const asking = performance.now() - started - waitedMs;
    if (answers.length >= maxRequests || (enough && asking > health.timeout)) break;
    const size = enough
      ? Math.min(round, maxRequests - answers.length)
      : Math.min(round, health.requests - answers.length);
    for (const answer of await askRound(health, size)) {
      answers.push(answer);
      if (answer.pid !== null) heard.add(answer.pid);
    }
  }
  want ??= new Set(await known);
  return {
    url: health.url,
    expected: expectedRevision ?? null,
    answers,
    workers: answers.some((a) => a.pid !== null) ? [...want] : [],
    durationMs: Math.round(performance.now() - started),
  };
}

// One round: open `size` connections, wait until all are open (or failed), hold HOLD_MS, then
// send every request at once.
async function askRound(health: HealthConfig, size: number): Promise<ProbeAnswer[]> {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const opened: Promise<void>[] = [];
  const asked = Array.from({ length: size }, () => {
    let connected: () => void = () => {};
    opened.push(new Promise<void>((resolve) => (connected = resolve)));
    return askOnce(health, { connected, gate });
  });
  // A connection that never opens must not hold the round: the per-request time-out ends it.
  let bound: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(opened),
    new Promise((resolve) => {
      bound = setTimeout(resolve, health.timeout);
    }),
  ]);
  clearTimeout(bound);
  await delay(HOLD_MS);
  release();
  return Promise.all(asked);
}

// Not unref'd: when every connection of a round failed at once, this timer is all that keeps a
// short CLI run's event loop alive until the round ends.
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Holding a request until its round is ready: `connected` is called once the connection is open
// (or failed), and the request goes out when `gate` resolves.
interface Hold {
  connected: () => void;
  gate: Promise<void>;
}

// One GET on a fresh connection; never throws, failures are answers too.
export async function askOnce(health: HealthConfig, hold?: Hold): Promise<ProbeAnswer> {
  // node:https (and TLS with it) only for an https:// URL: most health URLs are plain http on
  // loopback, and a daemon checking them need not carry TLS (~1 MB RSS in a bare node).
  const client = health.url.startsWith("https:") ? httpsModule() : http;
  const started = performance.now();
  const answer = (fields: Partial<ProbeAnswer>): ProbeAnswer => ({
    httpStatus: null,
    version: null,
    pid: null,
    error: null,
    ...fields,
    ms: Math.round(performance.now() - started),
  });
  return new Promise((settle) => {
    // Our own timer, cleared once the request settles: AbortSignal.timeout's timer and listener
    // keep each finished request (socket, parser, closures) reachable until health.timeout
    // passes, which in the daemon held ~1 kB per check (seen in heap snapshot diffs).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), health.timeout);
    const resolve = (value: ProbeAnswer) => {
      clearTimeout(timer);
      settle(value);
    };
    const request = client.request(
      health.url,
      {
        method: "GET",
        agent: false,
        signal: controller.signal,
        headers: { connection: "close" },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY) chunks.push(chunk);
        });
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const body = parseJsonObject(Buffer.concat(chunks).toString("utf8"));
          const version = body?.[health.version_field];
          const pid = body?.[health.pid_field];
          resolve(
            answer({
              httpStatus: status,
              version:
                typeof version === "string" || typeof version === "number" ? String(version) : null,
              pid: typeof pid === "number" && Number.isSafeInteger(pid) ? pid : null,
              error: status >= 200 && status < 300 ? null : `HTTP ${status}`,
            }),
          );
        });
        response.on("error", (error) => resolve(answer({ error: describe(error, health) })));
        // After "end" this is a no-op; before it, the body was cut short.
        response.on("close", () =>
          resolve(answer({ httpStatus: response.statusCode ?? null, error: "response cut short" })),
        );
      },
    );
    request.on("error", (error) => {
      hold?.connected();
      resolve(answer({ error: describe(error, health) }));
    });
    if (!hold) {
      request.end();
      return;
    }
    request.on("socket", (socket) => {
      if (!socket.connecting) hold.connected();
      else socket.once("connect", () => hold.connected());
    });
    void hold.gate.then(() => request.end());
  });
}

// A JSON object body, or undefined for anything else.
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

// A request error in words; an abort from the time-out says so.
function describe(error: Error, health: HealthConfig): string {
  if (error.name === "AbortError" || error.name === "TimeoutError") {
    return `no answer within ${health.timeout} ms`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}
