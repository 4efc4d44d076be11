// What clients saw during a test: the request log of the load generator and the event log of an
// SSE stream, parsed and summed up. Pure functions, so the verdicts are unit-tested.
// Times are wall-clock seconds (Unix epoch, as Python's time.time()): machines share the host's
// clock, so they compare with the host's Date.now() / 1000.

// One request of one client: "client start end outcome version" in the log.
export interface RequestRecord {
  client: number;
  start: number;
  end: number;
  // "ok", or why it failed: refused (nothing listening), reset (accepted, then closed
  // unanswered), timeout, 5xx, http-NNN (another status), other-<Python exception name>.
  outcome: string;
  // The answer's `version` field; "-" when the request failed.
  version: string;
}

export interface LoadReport {
  // Requests made (each finished: a client stops only after its request in flight).
  total: number;
  failed: number;
  // Failed requests by outcome, e.g. { refused: 12, "5xx": 1 }.
  failedByKind: Record<string, number>;
  // Seconds between the first and the last failed request's start (0 when none failed).
  failureWindowS: number;
  // Latency of the successful requests, in ms (nearest rank; 0 when none succeeded).
  latencyMs: { p50: number; p99: number; max: number };
  // The versions in deploy order: as given, or those answered, by their first completed answer.
  versions: string[];
  // Successful answers per version.
  answers: Record<string, number>;
  // Successful answers from a version that is not in `versions` (only when versions are given).
  unknownVersion: number;
  // Answers from a version that was already replaced: requests that started after the first
  // answer from a later version had completed. A client that saw the new version must never go
  // back, so this is 0 for a correct deploy.
  mixed: number;
  // Every request, in log order, for assertions of a test's own.
  records: RequestRecord[];
}

// Parse the load generator's log; a line that does not have the five fields is an error.
export function parseRequestLog(text: string): RequestRecord[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [client, start, end, outcome, version, extra] = line.split(" ");
      const record = {
        client: Number(client),
        start: Number(start),
        end: Number(end),
        outcome: outcome ?? "",
        version: version ?? "",
      };
      const numbers = [record.client, record.start, record.end];
      if (extra !== undefined || !record.version || numbers.some((n) => !Number.isFinite(n))) {
        throw new Error(`request log: cannot parse line "${line}"`);
      }
      return record;
    });
}

// Sum up a run. versions: oldest first (e.g. [oldSha, newSha]); without them, the versions are
// taken in the order their first answers completed.
export function analyseLoad(records: RequestRecord[], versions?: string[]): LoadReport {
  const ok = records.filter((r) => r.outcome === "ok");
  const failures = records.filter((r) => r.outcome !== "ok");
  const failedByKind: Record<string, number> = {};
  for (const r of failures) failedByKind[r.outcome] = (failedByKind[r.outcome] ?? 0) + 1;
  const answers: Record<string, number> = {};
  for (const r of ok) answers[r.version] = (answers[r.version] ?? 0) + 1;
  const order = versions ?? versionsByFirstAnswer(ok);
  const latencies = ok.map((r) => (r.end - r.start) * 1000).sort((a, b) => a - b);
  const starts = failures.map((r) => r.start);
  return {
    total: records.length,
    failed: failures.length,
    failedByKind,
    failureWindowS: starts.length ? Math.max(...starts) - Math.min(...starts) : 0,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    },
    versions: order,
    answers,
    unknownVersion: ok.filter((r) => !order.includes(r.version)).length,
    mixed: countMixed(ok, order),
    records,
  };
}

// Distinct versions of successful answers, ordered by when their first answer completed.
function versionsByFirstAnswer(ok: RequestRecord[]): string[] {
  const firstEnd = new Map<string, number>();
  for (const r of ok) firstEnd.set(r.version, Math.min(firstEnd.get(r.version) ?? r.end, r.end));
  return [...firstEnd.entries()].sort((a, b) => a[1] - b[1]).map(([version]) => version);
}

// Answers from version i by requests that started after an answer from any version j > i had
// completed; versions outside the order are counted as unknown, not here.
function countMixed(ok: RequestRecord[], order: string[]): number {
  // replacedAt[i]: when the first answer from a version later than order[i] completed.
  const firstEnd = order.map((v) =>
    Math.min(...ok.filter((r) => r.version === v).map((r) => r.end)),
  );
  const replacedAt = order.map((_, i) => Math.min(...firstEnd.slice(i + 1)));
  return ok.filter((r) => {
    const i = order.indexOf(r.version);
    return i >= 0 && r.start > (replacedAt[i] ?? Number.POSITIVE_INFINITY);
  }).length;
}

// Nearest-rank percentile of ascending values (q in 0..1); 0 for no values.
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

// One line of the stream client's log (JSON): the request, the response's status, each event as
// it arrived, and how the stream ended (eof: the server closed it; error: the client's exception).
export type StreamRecord =
  | { t: number; type: "request"; url: string }
  | { t: number; type: "response"; status: number }
  | { t: number; type: "event"; event: string; data: string }
  | { t: number; type: "eof" }
  | { t: number; type: "error"; error: string };

// A data event of the shop app's /stream, with its arrival time.
export interface StreamEvent {
  at: number;
  n: number;
  version: string;
  pid: number;
}

export interface StreamReport {
  url: string;
  // When the request was sent.
  startedAt: number;
  // HTTP status of the response; undefined when no response arrived.
  status?: number;
  // Data events in arrival order.
  events: StreamEvent[];
  // Distinct versions and worker pids that sent them, in order of first appearance.
  versions: string[];
  pids: number[];
  // The final `end` event arrived: the stream ran its whole course.
  complete: boolean;
  // When the stream ended (the end event, or the cut); undefined while it still runs.
  endedAt?: number;
  // How it ended without the end event: "eof" (closed early), "http-NNN" (no stream at all),
  // or the client's exception (e.g. "ConnectionResetError", "TimeoutError"); undefined when
  // complete or still running.
  cut?: string;
}

// Parse the stream client's JSON lines.
export function parseStreamLog(text: string): StreamRecord[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StreamRecord);
}

// Sum up one stream; a data event that is not the shop app's JSON is an error.
export function analyseStream(records: StreamRecord[]): StreamReport {
  const request = records.find((r) => r.type === "request");
  if (!request) throw new Error("stream log: no request record");
  const report: StreamReport = {
    url: request.url,
    startedAt: request.t,
    events: [],
    versions: [],
    pids: [],
    complete: false,
  };
  for (const r of records) {
    if (r.type === "response") report.status = r.status;
    else if (r.type === "event" && r.event === "end") {
      report.complete = true;
      report.endedAt = r.t;
    } else if (r.type === "event") report.events.push(dataEvent(r.t, r.data));
    else if ((r.type === "eof" || r.type === "error") && !report.complete) {
      report.endedAt = r.t;
      report.cut = r.type === "error" ? r.error : cutByServer(report.status);
    }
  }
  report.versions = [...new Set(report.events.map((e) => e.version))];
  report.pids = [...new Set(report.events.map((e) => e.pid))];
  return report;
}

// What a close by the server before the end event means: a cut stream, or no stream at all.
function cutByServer(status: number | undefined): string {
  return status === undefined || status === 200 ? "eof" : `http-${status}`;
}

// The shop app's event data: {"version": ..., "pid": ..., "n": ...}.
function dataEvent(at: number, data: string): StreamEvent {
  const parsed = JSON.parse(data) as Partial<Omit<StreamEvent, "at">>;
  const { n, version, pid } = parsed;
  if (typeof n !== "number" || typeof version !== "string" || typeof pid !== "number") {
    throw new Error(`stream log: unexpected event data ${data}`);
  }
  return { at, n, version, pid };
}
