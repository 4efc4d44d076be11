// Clients inside a machine that record what they see while a test deploys: steady load (many
// short requests) and long SSE streams. Each runs as a transient systemd unit, outside the app's
// cgroups, so the agent's process count and its drain see only the app.
import { randomBytes } from "node:crypto";
import {
  analyseLoad,
  analyseStream,
  type LoadReport,
  parseRequestLog,
  parseStreamLog,
  type StreamReport,
} from "./load-report.js";
import type { Machine } from "./machine.js";
import { SHOP_HEALTH_URL } from "./shop-config.js";

export type {
  LoadReport,
  RequestRecord,
  StreamEvent,
  StreamReport,
} from "./load-report.js";

// Scripts and logs of every client; a unit named N logs to N.log here.
const CLIENTS_DIR = "/var/lib/shop-clients";

// One thread per client, a new connection per request (as browsers behind a proxy do), every
// request logged as "client start end outcome version" with wall-clock times. The answer must be
// JSON with a `version` field (a health endpoint). SIGTERM lets each client finish the request in
// flight, so no line is lost or cut.
const LOAD_PY = `
import http.client, json, signal, sys, threading, time, urllib.parse

clients, interval, timeout, url, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
target = urllib.parse.urlsplit(url)
path = target.path + ("?" + target.query if target.query else "")
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
lock = threading.Lock()
log = open(out, "w", buffering=1)

def client(n):
    next_at = time.monotonic()
    while not stop.is_set():
        start, outcome, version = time.time(), "ok", "-"
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status >= 500:
                outcome = "5xx"
            elif resp.status != 200:
                outcome = f"http-{resp.status}"
            else:
                version = json.loads(body)["version"]
        except ConnectionRefusedError:
            outcome = "refused"
        except TimeoutError:
            outcome = "timeout"
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            outcome = "reset"
        except Exception as error:
            outcome = "other-" + type(error).__name__
        finally:
            conn.close()
        end = time.time()
        with lock:
            log.write(f"{n} {start:.6f} {end:.6f} {outcome} {version}\\n")
        next_at = max(next_at + interval, time.monotonic())
        stop.wait(max(0.0, next_at - time.monotonic()))

threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
log.close()
`;

// One SSE client: every event logged as a JSON line the moment its blank line arrives, then how
// the stream ended (eof when the server closed it, error with the exception's name otherwise).
const STREAM_PY = `
import http.client, json, sys, time, urllib.parse

url, timeout, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
log = open(out, "w", buffering=1)

def record(kind, **fields):
    log.write(json.dumps({"t": time.time(), "type": kind, **fields}) + "\\n")

target = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=timeout)
record("request", url=url)
try:
    conn.request("GET", target.path + ("?" + target.query if target.query else ""),
                 headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    record("response", status=resp.status)
    event, data = "message", []
    while True:
        line = resp.readline()
        if not line:
            record("eof")
            break
        line = line.decode().rstrip("\\r\\n")
        if line == "":
            if data:
                record("event", event=event, data="\\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
except Exception as error:
    record("error", error=type(error).__name__)
finally:
    conn.close()
    log.close()
`;

export interface LoadOptions {
  // Where to send GETs (default the shop's health URL); must answer JSON with `version`.
  url?: string;
  // Concurrent clients, each sending its requests one after the other (default 8).
  clients?: number;
  // Each client starts a request this often, or right after the last one if that took longer
  // (default 20 ms).
  intervalMs?: number;
  // A request without an answer by then is a failure, "timeout" (default 15 s).
  timeoutS?: number;
  // Versions in deploy order, oldest first, for the report's `mixed` (default: inferred).
  versions?: string[];
  // Unit name, so that two loads can run at once (default "shop-load").
  name?: string;
}

export interface Load {
  // Stop the clients (each finishes its request in flight) and sum up what they saw.
  stop(): Promise<LoadReport>;
}

// Start steady load in the machine; it runs until stop().
export async function startLoad(machine: Machine, opts: LoadOptions = {}): Promise<Load> {
  const name = opts.name ?? "shop-load";
  const log = await startClient(machine, name, LOAD_PY, [
    String(opts.clients ?? 8),
    String((opts.intervalMs ?? 20) / 1000),
    String(opts.timeoutS ?? 15),
    opts.url ?? SHOP_HEALTH_URL,
  ]);
  return {
    stop: async () => {
      await machine.exec(["systemctl", "stop", `${name}.service`], { timeoutMs: 60_000 });
      return analyseLoad(parseRequestLog(await machine.readFile(log)), opts.versions);
    },
  };
}

export interface StreamOptions {
  // The app's base URL, e.g. "http://127.0.0.1" (through the proxy) or a color's port.
  baseUrl: string;
  // The stream lasts this long (the app's `seconds`) with an event every intervalMs.
  seconds: number;
  intervalMs?: number;
  // The client gives up when nothing arrives for this long: cut "TimeoutError" (default 30 s).
  readTimeoutS?: number;
  // Unit name (default "shop-stream-" and a random suffix, so that streams can overlap).
  name?: string;
}

export interface Stream {
  // Wait until `count` data events have arrived (default 1): the stream is established.
  waitForEvents(count?: number, timeoutMs?: number): Promise<StreamReport>;
  // Wait until the stream has ended (complete, cut, or the client gave up) and report it.
  done(timeoutMs?: number): Promise<StreamReport>;
}

// Open one SSE stream of the app's /stream in the background.
export async function startStream(machine: Machine, opts: StreamOptions): Promise<Stream> {
  const name = opts.name ?? `shop-stream-${randomBytes(3).toString("hex")}`;
  const query = `seconds=${opts.seconds}&interval_ms=${opts.intervalMs ?? 1000}`;
  const log = await startClient(machine, name, STREAM_PY, [
    `${opts.baseUrl}/stream?${query}`,
    String(opts.readTimeoutS ?? 30),
  ]);
  // Until the client has written its log this throws, which waitFor takes as "not yet".
  const report = async () => analyseStream(parseStreamLog(await machine.readFile(log)));
  return {
    waitForEvents: (count = 1, timeoutMs = 15_000) =>
      machine.waitFor(
        async () => {
          const seen = await report();
          return seen.events.length >= count ? seen : undefined;
        },
        timeoutMs,
        { what: `${name} to deliver ${count} event(s)`, intervalMs: 100 },
      ),
    done: (timeoutMs = (opts.seconds + 30) * 1000) =>
      machine.waitFor(
        async () => {
          const seen = await report();
          return seen.endedAt !== undefined ? seen : undefined;
        },
        timeoutMs,
        { what: `${name} to end`, intervalMs: 200 },
      ),
  };
}

// Write a client's script and start it as a transient unit with args and its log path; returns
// the log path. A previous client's files under the same name are removed first.
async function startClient(
  machine: Machine,
  name: string,
  script: string,
  args: string[],
): Promise<string> {
  const file = `${CLIENTS_DIR}/${name}`;
  await machine.exec(["rm", "-f", `${file}.py`, `${file}.log`], { reject: true });
  await machine.writeFile(`${file}.py`, script, 0o644);
  await machine.exec(
    [
      "systemd-run",
      `--unit=${name}.service`,
      "--collect",
      "--quiet",
      "/usr/bin/python3",
      `${file}.py`,
      ...args,
      `${file}.log`,
    ],
    { reject: true },
  );
  return `${file}.log`;
}
