// A background writer inside the machine: proves that no acknowledged row is ever lost.
import type { Machine } from "./machine.js";
import { SHOP_HEALTH_URL } from "./shop-config.js";

const WRITER_UNIT = "shop-writer.service";
const WRITER_DIR = "/var/lib/shop-writer";
const ORDERS_URL = SHOP_HEALTH_URL.replace(/\/health$/, "/orders");

// POSTs orders at a steady rate and appends the id of every 201 to acked.log, line by line, so
// an id is on record the moment the app has confirmed the commit. Failures (app stopped during a
// deploy, refused connections) are counted, not retried: the row was never acknowledged.
const WRITER_PY = `
import json, signal, sys, time, urllib.request

rate, url, out_dir = float(sys.argv[1]), sys.argv[2], sys.argv[3]
stop = False

def on_term(*_):
    global stop
    stop = True

signal.signal(signal.SIGTERM, on_term)
interval = 1.0 / rate
n = 0
next_at = time.monotonic()
with open(f"{out_dir}/acked.log", "a", buffering=1) as acked, \\
        open(f"{out_dir}/failed.log", "a", buffering=1) as failed:
    while not stop:
        n += 1
        body = json.dumps({"item": f"writer-{n}"}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=3) as resp:
                if resp.status == 201:
                    acked.write(f"{json.load(resp)['id']}\\n")
                else:
                    failed.write(f"HTTP {resp.status}\\n")
        except Exception as error:  # refused, reset, timeout, HTTP 5xx: not acknowledged
            failed.write(f"{type(error).__name__}: {error}\\n")
        next_at = max(next_at + interval, time.monotonic())
        time.sleep(max(0.0, next_at - time.monotonic()))
`;

export interface WriterReport {
  // Number of acknowledged (201) writes.
  count: number;
  // Their order ids, in acknowledgement order: each must be in the DB at the end of a test.
  ids: number[];
  // Requests that were not acknowledged (app down, errors).
  failures: number;
}

export interface Writer {
  // Stop the writer and report what it wrote.
  stop(): Promise<WriterReport>;
}

// Start the writer as a transient systemd unit (outside shop.service's cgroup, so it does not
// disturb the process count the agent verifies). ratePerSec defaults to 20.
export async function startWriter(
  machine: Machine,
  opts: { ratePerSec?: number } = {},
): Promise<Writer> {
  await machine.exec(["rm", "-rf", WRITER_DIR], { reject: true });
  await machine.writeFile(`${WRITER_DIR}/writer.py`, WRITER_PY, 0o644);
  await machine.exec(
    [
      "systemd-run",
      `--unit=${WRITER_UNIT}`,
      "--collect",
      "--quiet",
      "/usr/bin/python3",
      `${WRITER_DIR}/writer.py`,
      String(opts.ratePerSec ?? 20),
      ORDERS_URL,
      WRITER_DIR,
    ],
    { reject: true },
  );
  return { stop: () => stopWriter(machine) };
}

// Stop the writer (it finishes its request in flight) and read back what was acknowledged.
export async function stopWriter(machine: Machine): Promise<WriterReport> {
  await machine.exec(["systemctl", "stop", WRITER_UNIT]);
  const read = async (name: string) =>
    (await machine.exec(["cat", `${WRITER_DIR}/${name}`])).stdout.split("\n").filter(Boolean);
  const ids = (await read("acked.log")).map(Number);
  const failures = (await read("failed.log")).length;
  return { count: ids.length, ids, failures };
}
