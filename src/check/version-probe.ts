// Ask the health URL the same question over many fresh connections and collect the answers.
import http from "node:http";
import type { AppConfig } from "../config/schema.js";

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
}

// Send `health.requests` GETs, each on its own connection (no keep-alive: one connection would
// always reach the same worker, and the point is to hear from every worker), a few at a time so
// that busy sync workers hand requests to their siblings. Each is bounded by `health.timeout`.
export async function probeVersions(
  app: AppConfig,
  expectedRevision: string | undefined,
): Promise<VersionProbe> {
  const health = app.health as HealthConfig;
  const parallel = Math.min(health.requests, Math.max(app.processes.workers, 1) + 1, 10);
  const answers: ProbeAnswer[] = [];
  let next = 0;
  const lane = async () => {
    while (next < health.requests) {
      next++;
      answers.push(await askOnce(health));
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return { url: health.url, expected: expectedRevision ?? null, answers };
}

// One GET on a fresh connection; never throws, failures are answers too.
export async function askOnce(health: HealthConfig): Promise<ProbeAnswer> {
  // node:https (and TLS with it) only for an https:// URL: most health URLs are plain http on
  // loopback, and a daemon checking them need not carry TLS (~1 MB RSS in a bare node).
  const client = health.url.startsWith("https:") ? (await import("node:https")).default : http;
  const started = performance.now();
  const answer = (fields: Partial<ProbeAnswer>): ProbeAnswer => ({
    httpStatus: null,
    version: null,
    pid: null,
    error: null,
    ...fields,
    ms: Math.round(performance.now() - started),
  });
  return new Promise((resolve) => {
    const request = client.get(
      health.url,
      {
        agent: false,
        signal: AbortSignal.timeout(health.timeout),
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
          const pid = body?.pid;
          resolve(
            answer({
              httpStatus: status,
              version:
                typeof version === "string" || typeof version === "number" ? String(version) : null,
              pid: typeof pid === "number" ? pid : null,
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
    request.on("error", (error) => resolve(answer({ error: describe(error, health) })));
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
