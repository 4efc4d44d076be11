// The verdicts of the load and stream recorders, on hand-made logs.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  analyseLoad,
  analyseStream,
  parseRequestLog,
  parseStreamLog,
  percentile,
  type RequestRecord,
  type StreamRecord,
} from "./load-report.js";

// A request of client 0 from start to end (seconds), answered by version, or failed.
const req = (start: number, end: number, version: string, outcome = "ok"): RequestRecord => ({
  client: 0,
  start,
  end,
  outcome,
  version: outcome === "ok" ? version : "-",
});

test("parseRequestLog reads the generator's lines and refuses a cut one", () => {
  const log = "0 100.000000 100.010000 ok aaa\n1 100.005000 100.006000 refused -\n";
  assert.deepEqual(parseRequestLog(log), [
    { client: 0, start: 100, end: 100.01, outcome: "ok", version: "aaa" },
    { client: 1, start: 100.005, end: 100.006, outcome: "refused", version: "-" },
  ]);
  assert.throws(() => parseRequestLog("0 100.000000 100.0"), /cannot parse line "0 100.000000/);
});

test("failures are counted by kind, with the window between the first and last", () => {
  const report = analyseLoad([
    req(1, 1.1, "a"),
    req(2, 2.1, "-", "refused"),
    req(2.5, 2.6, "-", "refused"),
    req(3.5, 18.5, "-", "timeout"),
    req(4, 4.1, "a"),
  ]);
  assert.equal(report.total, 5);
  assert.equal(report.failed, 3);
  assert.deepEqual(report.failedByKind, { refused: 2, timeout: 1 });
  assert.equal(report.failureWindowS, 1.5);
  assert.deepEqual(report.answers, { a: 2 });
});

test("latencies cover successful requests only, nearest rank", () => {
  const records = Array.from({ length: 100 }, (_, i) => req(i, i + (i + 1) / 1000, "a"));
  records.push(req(200, 260, "-", "timeout"));
  const { latencyMs } = analyseLoad(records);
  assert.ok(Math.abs(latencyMs.p50 - 51) < 1e-6, `p50 ${latencyMs.p50}`);
  assert.ok(Math.abs(latencyMs.p99 - 100) < 1e-6, `p99 ${latencyMs.p99}`);
  assert.ok(Math.abs(latencyMs.max - 100) < 1e-6, `max ${latencyMs.max}`);
  assert.deepEqual(analyseLoad([]).latencyMs, { p50: 0, p99: 0, max: 0 });
  assert.equal(percentile([5], 0.99), 5);
});

test("mixed: an old answer to a request started after the first new answer completed", () => {
  const records = [
    req(1, 1.1, "old"),
    req(2, 2.2, "new"), // the first new answer completes at 2.2
    req(2.1, 2.5, "old"), // started before 2.2: in flight during the switch, fine
    req(2.3, 2.4, "old"), // started after 2.2: went back to the old version
    req(3, 3.1, "new"),
  ];
  const report = analyseLoad(records, ["old", "new"]);
  assert.equal(report.mixed, 1);
  assert.deepEqual(report.answers, { old: 3, new: 2 });
  assert.equal(report.unknownVersion, 0);
});

test("versions are inferred by their first completed answer when not given", () => {
  const records = [req(2.3, 2.4, "old"), req(2, 2.2, "new"), req(1, 1.1, "old")];
  const report = analyseLoad(records);
  assert.deepEqual(report.versions, ["old", "new"]);
  assert.equal(report.mixed, 1);
});

test("with given versions, answers from any other version are unknown, not mixed", () => {
  const records = [req(1, 1.1, "old"), req(2, 2.1, "new"), req(3, 3.1, "stray")];
  const report = analyseLoad(records, ["old", "new"]);
  assert.equal(report.unknownVersion, 1);
  assert.equal(report.mixed, 0);
});

test("three versions: each one is replaced by the first answer of any later one", () => {
  const records = [
    req(1, 1.1, "v1"),
    req(2, 2.1, "v3"), // v3 answered first (v2 was skipped by a fast client)
    req(3, 3.1, "v2"), // v2 after a v3 answer: mixed
    req(3.5, 3.6, "v1"), // v1 after it too: mixed
    req(4, 4.1, "v3"),
  ];
  assert.equal(analyseLoad(records, ["v1", "v2", "v3"]).mixed, 2);
  // v3 unknown: it replaces nothing, but v2's answer at 3.1 still replaces v1.
  assert.equal(analyseLoad(records, ["v1", "v2"]).mixed, 1);
});

test("no new version answered: nothing is mixed", () => {
  assert.equal(analyseLoad([req(1, 1.1, "old"), req(5, 5.1, "old")], ["old", "new"]).mixed, 0);
});

// A stream's log lines, as the client writes them.
const ev = (t: number, n: number, version = "aaa", pid = 42): StreamRecord => ({
  t,
  type: "event",
  event: "message",
  data: JSON.stringify({ version, pid, n }),
});
const request: StreamRecord = { t: 10, type: "request", url: "http://127.0.0.1/stream?seconds=2" };
const response: StreamRecord = { t: 10.01, type: "response", status: 200 };

test("a stream that ran its course is complete, ended by the end event", () => {
  const records: StreamRecord[] = [
    request,
    response,
    ev(10.02, 0),
    ev(11.02, 1),
    { t: 12.02, type: "event", event: "end", data: "done" },
    { t: 12.03, type: "eof" },
  ];
  const report = analyseStream(records);
  assert.equal(report.complete, true);
  assert.equal(report.endedAt, 12.02);
  assert.equal(report.cut, undefined);
  assert.equal(report.status, 200);
  assert.equal(report.startedAt, 10);
  assert.deepEqual(
    report.events.map((e) => [e.at, e.n]),
    [
      [10.02, 0],
      [11.02, 1],
    ],
  );
  assert.deepEqual(report.versions, ["aaa"]);
  assert.deepEqual(report.pids, [42]);
});

test("a stream closed before its end event is cut, and says when and how", () => {
  const closed = analyseStream([request, response, ev(10.02, 0), { t: 10.5, type: "eof" }]);
  assert.equal(closed.complete, false);
  assert.equal(closed.cut, "eof");
  assert.equal(closed.endedAt, 10.5);
  const reset = analyseStream([
    request,
    response,
    ev(10.02, 0, "aaa", 1),
    ev(11.02, 1, "bbb", 2),
    { t: 11.5, type: "error", error: "ConnectionResetError" },
  ]);
  assert.equal(reset.cut, "ConnectionResetError");
  assert.deepEqual(reset.versions, ["aaa", "bbb"]);
  assert.deepEqual(reset.pids, [1, 2]);
});

test("no stream at all: the proxy's error status, or the client's error before any response", () => {
  const bad = analyseStream([
    request,
    { t: 10.01, type: "response", status: 502 },
    { t: 10.02, type: "eof" },
  ]);
  assert.equal(bad.cut, "http-502");
  const refused = analyseStream([
    request,
    { t: 10, type: "error", error: "ConnectionRefusedError" },
  ]);
  assert.equal(refused.status, undefined);
  assert.equal(refused.cut, "ConnectionRefusedError");
});

test("a stream still running has no end yet", () => {
  const running = analyseStream([request, response, ev(10.02, 0)]);
  assert.equal(running.endedAt, undefined);
  assert.equal(running.complete, false);
  assert.equal(running.cut, undefined);
});

test("parseStreamLog reads JSON lines; data that is not the app's event is an error", () => {
  const text = `${JSON.stringify(request)}\n${JSON.stringify(ev(10.02, 0))}\n`;
  assert.equal(analyseStream(parseStreamLog(text)).events.length, 1);
  const odd: StreamRecord = { t: 11, type: "event", event: "message", data: '{"x":1}' };
  assert.throws(() => analyseStream([request, odd]), /unexpected event data/);
  assert.throws(() => analyseStream([response]), /no request record/);
});
