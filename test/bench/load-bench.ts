// Requests lost during a deploy under steady load, with the app listening itself and behind a
// systemd socket unit. Each variant gets a fresh machine: one deploy of a commit with a
// migration while several clients GET /health all along.
import { startLoad } from "../machine/load.js";
import { provisionShop, pushCommit, waitForHealth } from "../machine/sample-app.js";
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

    // GET /health on the app's own port (the default URL), a new connection per request.
    const load = await startLoad(machine, {
      name: "bench-load",
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
    await waitForHealth(machine, newSha);
    return {
      socket,
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
    };
  });
}

export function loadLines(results: LoadResult[]): string[] {
  const lines = [
    `deploy under load (${CLIENTS} clients, GET /health every ${INTERVAL_MS} ms each, new connection per request, ${TIMEOUT_S} s timeout; one deploy with a migration, fresh machine each)`,
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
