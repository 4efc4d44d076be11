// Requests lost during a deploy under steady load, with the app listening itself and behind a
// systemd socket unit. Each variant gets a fresh machine: one deploy of a commit with a
// migration while several clients GET /health all along.
import type { Machine } from "../machine/machine.js";
import { provisionShop, pushCommit, waitForHealth } from "../machine/sample-app.js";
import { enableShopSocket, SHOP_SOCKET_APP_CONFIG } from "../machine/shop-socket.js";
import { migrationCommit, progress, timedInMachine, withMachine } from "./bench-machine.js";

const LOAD_UNIT = "bench-load.service";
const LOAD_DIR = "/var/lib/bench-load";
const CLIENTS = 8;
// Each client sends one request every 20 ms (or right after the last one, if that took longer):
// 8 clients, up to 400 requests/s, a steady load that leaves the CPU to the deploy.
const INTERVAL_S = 0.02;
// A request waiting in the socket's queue while the app is replaced must not count as lost, but
// one that never gets an answer must: 15 s is far beyond any deploy step of the sample app.
const TIMEOUT_S = 15;
// Load before the sync starts and after it ends, so the whole sync is covered.
const MARGIN_MS = 1500;

// One thread per client, a new connection per request (as browsers behind a proxy do), every
// request logged as "client start end outcome version" with wall-clock times. SIGTERM lets each
// client finish the request in flight, so no line is lost or cut.
const LOAD_PY = `
import http.client, json, signal, sys, threading, time

clients, interval, timeout, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
lock = threading.Lock()
log = open(out, "w", buffering=1)

def client(n):
    next_at = time.monotonic()
    while not stop.is_set():
        start, outcome, version = time.time(), "ok", "-"
        conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=timeout)
        try:
            conn.request("GET", "/health")
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

export interface RequestRecord {
  start: number;
  end: number;
  outcome: string;
  version: string;
}

export interface LoadResult {
  socket: boolean;
  syncExit: number;
  syncMs: number;
  total: number;
  failed: number;
  failedByKind: Record<string, number>;
  // Requests answered by the old release although they started after the first answer from the
  // new release had completed: a client that saw the new version must never go back.
  mixed: number;
  // Answers from the old release, from the new one, and from neither (must be 0).
  oldAnswers: number;
  newAnswers: number;
  unknownVersion: number;
  // Seconds between the first and the last failed request start (0 when none failed).
  failureWindowS: number;
  // Slowest successful request: how long a request queued on the socket waited.
  maxLatencyMs: number;
  p99LatencyMs: number;
}

// Count what the clients saw during one deploy from oldSha to newSha.
export function analyseRequests(
  records: RequestRecord[],
  oldSha: string,
  newSha: string,
): Omit<LoadResult, "socket" | "syncExit" | "syncMs"> {
  const failedByKind: Record<string, number> = {};
  const failures = records.filter((r) => r.outcome !== "ok");
  for (const r of failures) failedByKind[r.outcome] = (failedByKind[r.outcome] ?? 0) + 1;
  const firstNewDone = Math.min(...records.filter((r) => r.version === newSha).map((r) => r.end));
  const ok = records.filter((r) => r.outcome === "ok");
  const latencies = ok.map((r) => (r.end - r.start) * 1000).sort((a, b) => a - b);
  const starts = failures.map((r) => r.start);
  return {
    total: records.length,
    failed: failures.length,
    failedByKind,
    mixed: ok.filter((r) => r.version === oldSha && r.start > firstNewDone).length,
    oldAnswers: ok.filter((r) => r.version === oldSha).length,
    newAnswers: ok.filter((r) => r.version === newSha).length,
    unknownVersion: ok.filter((r) => r.version !== oldSha && r.version !== newSha).length,
    failureWindowS: starts.length ? Math.max(...starts) - Math.min(...starts) : 0,
    maxLatencyMs: latencies.at(-1) ?? 0,
    p99LatencyMs: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

// One deploy under load on a fresh machine, with or without shop.socket.
export async function benchDeployUnderLoad(socket: boolean): Promise<LoadResult> {
  return withMachine(socket ? "bench-load-socket" : "bench-load", async (machine) => {
    progress(`deploy under load, ${socket ? "with" : "without"} app.socket`);
    const { sha: oldSha } = await provisionShop(
      machine,
      socket ? { config: { app: SHOP_SOCKET_APP_CONFIG } } : {},
    );
    if (socket) await enableShopSocket(machine, oldSha);
    const newSha = await pushCommit(machine, {
      message: "deploy under load",
      files: migrationCommit(2),
    });

    await startLoad(machine);
    let sync: Awaited<ReturnType<typeof timedInMachine>>;
    try {
      await new Promise((r) => setTimeout(r, MARGIN_MS));
      sync = await timedInMachine(machine, "agent sync");
      await new Promise((r) => setTimeout(r, MARGIN_MS));
    } finally {
      await machine.exec(["systemctl", "stop", LOAD_UNIT], { timeoutMs: 60_000 });
    }
    if (sync.exit !== 0) throw new Error(`deploy under load failed:\n${sync.stdout}${sync.stderr}`);
    await waitForHealth(machine, newSha);
    const records = parseLog(await machine.readFile(`${LOAD_DIR}/requests.log`));
    return {
      socket,
      syncExit: sync.exit,
      syncMs: sync.ms,
      ...analyseRequests(records, oldSha, newSha),
    };
  });
}

// Start the clients as a transient unit: outside shop.service's cgroup, so the agent's process
// count and the stop step's drain see only the app.
async function startLoad(machine: Machine): Promise<void> {
  await machine.exec(["rm", "-rf", LOAD_DIR], { reject: true });
  await machine.writeFile(`${LOAD_DIR}/load.py`, LOAD_PY, 0o644);
  await machine.exec(
    [
      "systemd-run",
      `--unit=${LOAD_UNIT}`,
      "--collect",
      "--quiet",
      "/usr/bin/python3",
      `${LOAD_DIR}/load.py`,
      String(CLIENTS),
      String(INTERVAL_S),
      String(TIMEOUT_S),
      `${LOAD_DIR}/requests.log`,
    ],
    { reject: true },
  );
}

function parseLog(text: string): RequestRecord[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [, start = "", end = "", outcome = "", version = ""] = line.split(" ");
      return { start: Number(start), end: Number(end), outcome, version };
    });
}

export function loadLines(results: LoadResult[]): string[] {
  const lines = [
    `deploy under load (${CLIENTS} clients, GET /health every ${INTERVAL_S * 1000} ms each, new connection per request, ${TIMEOUT_S} s timeout; one deploy with a migration, fresh machine each)`,
    "  variant          requests  ok old/new  failed  failed by kind (first to last)     mixed  p99 / max latency  sync",
  ];
  for (const r of results) {
    const kinds =
      Object.entries(r.failedByKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ") || "-";
    const window = r.failed > 0 ? ` (${r.failureWindowS.toFixed(2)} s)` : "";
    const cols = [
      (r.socket ? "with app.socket" : "without socket").padEnd(15),
      String(r.total).padStart(8),
      `${r.oldAnswers}/${r.newAnswers}`.padStart(10),
      String(r.failed).padStart(6),
      `${kinds}${window}`.padEnd(33),
      String(r.mixed).padStart(5),
      `${Math.round(r.p99LatencyMs)} / ${Math.round(r.maxLatencyMs)} ms`.padEnd(17),
      `${(r.syncMs / 1000).toFixed(2)} s (exit ${r.syncExit})`,
    ];
    lines.push(`  ${cols.join("  ")}`);
    if (r.unknownVersion > 0) lines.push(`  !! ${r.unknownVersion} answers from neither release`);
  }
  lines.push(
    "  failed = refused (nothing listening), reset (accepted, then closed unanswered), timeout, 5xx",
    "  mixed = answered by the old release although started after the first new-release answer completed",
    "  targets: 0 failed with a socket, mixed 0 always",
  );
  return lines;
}
