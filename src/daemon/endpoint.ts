// Start the optional status endpoint: token first (no usable token, no endpoint), then the
// lazily loaded server and metrics, so a daemon without `http:` never loads prom-client.
import type { CheckReport } from "../check/run-checks.js";
import type { LoadedConfig } from "../config/load.js";
import { TOKEN_PATH } from "../config/paths.js";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Notifications } from "../notify/notifications.js";
import type { CheckRecord } from "../state/check-records.js";
import type { StateDb } from "../state/state-db.js";
import type { AppWork } from "./app-work.js";
import type { DaemonState } from "./daemon-state.js";
import type { StatusServer } from "./status-server.js";
import { readTokenFile } from "./token.js";

export interface Endpoint {
  server: StatusServer;
  observe(report: CheckReport): void;
}

export interface EndpointContext {
  loaded: LoadedConfig;
  db: StateDb;
  state: DaemonState;
  work: AppWork;
  log: Logger;
  version: string;
  // Each app's newest verdict, to seed the gauges.
  verdicts: Map<string, CheckRecord>;
  // Tells people of outcomes (src/notify/); absent in tests that do not care.
  notifications?: Notifications;
}

// Undefined when the endpoint is off or could not start (the reason is logged as an error; the
// daemon keeps checking without it).
export async function startEndpoint(ctx: EndpointContext): Promise<Endpoint | undefined> {
  const listen = ctx.loaded.config.http?.listen;
  if (!listen) return undefined;
  const log = ctx.log.child({ component: "http" });
  let token: string;
  try {
    token = await readTokenFile(TOKEN_PATH);
  } catch (error) {
    log.error({ error: describeError(error) }, "status endpoint not started: unusable token file");
    return undefined;
  }
  const [{ createMetrics }, { createStatusApi }, { startStatusServer }] = await Promise.all([
    import("./metrics.js"),
    import("./status-api.js"),
    import("./status-server.js"),
  ]);
  const metrics = createMetrics(ctx.db, ctx.loaded.apps, ctx.verdicts);
  const api = createStatusApi({ ...ctx, token, apps: ctx.loaded.apps, metrics });
  try {
    const server = await startStatusServer(listen, api, log);
    log.info({ listen: server.address }, "status endpoint listening");
    return { server, observe: (report) => metrics.observeCheck(report) };
  } catch (error) {
    log.error({ listen, error: describeError(error) }, "status endpoint not started");
    return undefined;
  }
}
