// Requests lost during a deploy under steady load: strategy restart with the app listening itself,
// restart behind a systemd socket unit, and blue-green through nginx with a stream open. Each
// variant gets a fresh machine: one deploy of a commit with a migration while several clients
// GET /health all along.

import { PUBLIC_BASE_URL, PUBLIC_HEALTH_URL, provisionBlueGreen } from "../machine/blue-green.js";
import { startLoad, startStream } from "../machine/load.js";
import type { Machine } from "../machine/machine.js";
import {
  provisionShop,
  pushCommit,
  SHOP_HEALTH_URL,
  waitForHealth,
} from "../machine/sample-app.js";
import { enableShopSocket, SHOP_SOCKET_APP_CONFIG } from "../machine/shop-socket.js";
import { migrationCommit, progress, timedInMachine, withMachine } from "./bench-machine.js";

const CLIENTS = 8;
// Each client sends one request every 20 ms (or right after the last one, if that took longer):
// 8 clients, up to 400 requests/s, a steady load that leaves the CPU to the deploy.
const INTERVAL_MS = 20;
// A request waiting in the socket's queue while the app is replaced must not count as lost, but
// one that never gets an answer must: 15 s is far beyond any deploy step of the sample app.
const TIMEOUT_S = 15;
// Load before the sync starts and after it ends, so the whole sync is covered.
const MARGIN_MS = 1500;

export type LoadVariant = "restart" | "socket" | "blue-green";

// The stream held open through a blue-green deploy: longer than the deploy itself.
const STREAM_S = 20;

export interface LoadResult {
  variant: LoadVariant;
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
  // The median of single requests on an idle app, the same URL: what "2× an idle request" means.
  idleMs: number;
  // Blue-green: the stream open through the deploy, and whether it ended whole.
  stream?: { seconds: number; complete: boolean; events: number };
}

// Median time of single GETs on an idle app, each on a fresh connection.
async function idleLatencyMs(machine: Machine, url: string): Promise<number> {
  const out = await machine.exec(
    [
      "bash",
      "-c",
      `for i in $(seq 21); do curl -s -o /dev/null -w '%{time_total}\\n' ${url}; done`,
    ],
    { reject: true },
  );
  const times = out.stdout
    .trim()
    .split("\n")
    .map(Number)
    .sort((x, y) => x - y);
  return (times[Math.floor(times.length / 2)] ?? Number.NaN) * 1000;
}

// One deploy under load on a fresh machine, with the variant's setup.
export async function benchDeployUnderLoad(variant: LoadVariant): Promise<LoadResult> {
  return withMachine(`bench-load-${variant}`, async (machine) => {
    progress(`deploy under load, ${variant}`);
    let oldSha: string;
    let url = SHOP_HEALTH_URL;
    if (variant === "blue-green") {
      await provisionBlueGreen(machine);
      const first = await timedInMachine(machine, "agent sync");
      if (first.exit !== 0) throw new Error(`first blue-green deploy failed:\n${first.stdout}`);
      oldSha = (await waitForHealth(machine, undefined, 30_000, PUBLIC_HEALTH_URL)).version;
      url = PUBLIC_HEALTH_URL;
    } else {
      const socket = variant === "socket";
      ({ sha: oldSha } = await provisionShop(
        machine,
        socket ? { config: { app: SHOP_SOCKET_APP_CONFIG } } : {},
      ));
      if (socket) await enableShopSocket(machine, oldSha);
    }
    const newSha = await pushCommit(machine, {
      message: "deploy under load",
      files: migrationCommit(2),
    });
    const idleMs = await idleLatencyMs(machine, url);
    const stream =
      variant === "blue-green"
        ? await startStream(machine, { baseUrl: PUBLIC_BASE_URL, seconds: STREAM_S })
        : undefined;
    await stream?.waitForEvents(1);
    // A new connection per request, on the app's own port or through nginx.
    const load = await startLoad(machine, {
      name: "bench-load",
      url,
      clients: CLIENTS,
      intervalMs: INTERVAL_MS,
      timeoutS: TIMEOUT_S,
      versions: [oldSha, newSha],
    });
    let sync: Awaited<ReturnType<typeof timedInMachine>>;
    try {
      await new Promise((r) => setTimeout(r, MARGIN_MS));
      sync = await timedInMachine(machine, "agent sync");
      await new Promise((r) => setTimeout(r, MARGIN_MS));
    } catch (error) {
      await load.stop();
      throw error;
    }
    const report = await load.stop();
    if (sync.exit !== 0) throw new Error(`deploy under load failed:\n${sync.stdout}${sync.stderr}`);
    await waitForHealth(machine, newSha, 30_000, url);
    const streamed = await stream?.done();
    return {
      variant,
      syncExit: sync.exit,
      syncMs: sync.ms,
      total: report.total,
      failed: report.failed,
      failedByKind: report.failedByKind,
      mixed: report.mixed,
      oldAnswers: report.answers[oldSha] ?? 0,
      newAnswers: report.answers[newSha] ?? 0,
      unknownVersion: report.unknownVersion,
      failureWindowS: report.failureWindowS,
      maxLatencyMs: report.latencyMs.max,
      p99LatencyMs: report.latencyMs.p99,
      idleMs,
      stream: streamed && {
        seconds: STREAM_S,
        complete: streamed.complete,
        events: streamed.events.length,
      },
    };
  });
}

const VARIANT_NAMES: Record<LoadVariant, string> = {
  restart: "restart",
  socket: "restart+socket",
  "blue-green": "blue-green",
};

export function loadLines(results: LoadResult[]): string[] {
  const lines = [
    `deploy under load (${CLIENTS} clients, GET /health every ${INTERVAL_MS} ms each, new connection per request, ${TIMEOUT_S} s timeout; one deploy with a migration, fresh machine each)`,
    "  variant          requests  ok old/new  failed  failed by kind (first to last)     mixed  p99 / max latency  idle   sync",
  ];
  for (const r of results) {
    const kinds =
      Object.entries(r.failedByKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ") || "-";
    const window = r.failed > 0 ? ` (${r.failureWindowS.toFixed(2)} s)` : "";
    const cols = [
      VARIANT_NAMES[r.variant].padEnd(15),
      String(r.total).padStart(8),
      `${r.oldAnswers}/${r.newAnswers}`.padStart(10),
      String(r.failed).padStart(6),
      `${kinds}${window}`.padEnd(33),
      String(r.mixed).padStart(5),
      `${Math.round(r.p99LatencyMs)} / ${Math.round(r.maxLatencyMs)} ms`.padEnd(17),
      `${r.idleMs.toFixed(1)} ms`.padEnd(7),
      `${(r.syncMs / 1000).toFixed(2)} s (exit ${r.syncExit})`,
    ];
    lines.push(`  ${cols.join("  ")}`);
    if (r.unknownVersion > 0) lines.push(`  !! ${r.unknownVersion} answers from neither release`);
    if (r.stream) {
      const how = r.stream.complete ? "whole" : "CUT";
      lines.push(
        `  ${VARIANT_NAMES[r.variant]}: a ${r.stream.seconds} s stream open through the deploy arrived ${how} (${r.stream.events} events); max latency ${(r.maxLatencyMs / r.idleMs).toFixed(1)}× an idle request`,
      );
    }
  }
  lines.push(
    "  failed = refused (nothing listening), reset (accepted, then closed unanswered), timeout, 5xx",
    "  mixed = answered by the old release although started after the first new-release answer completed",
    "  idle = median of single requests on the idle app, same URL (blue-green: through nginx)",
    "  targets: 0 failed with a socket and with blue-green, mixed 0 always; blue-green max latency within 2× idle, streams never cut",
  );
  return lines;
}
