// The status endpoint's server on bare node:http: listen, time limits, error handling, close.
import { createServer, type Server, type ServerOptions } from "node:http";
import type { Logger } from "../log.js";
import { answerClientError } from "./client-error.js";
import { sendJson } from "./http-io.js";
import { isLoopback, parseListenAddress } from "./listen-address.js";
import { handleRequest, type StatusApi } from "./routes.js";

export interface StatusServer {
  address: string;
  close(): Promise<void>;
}

// A slow or stuck client must not hold a connection (and memory) open for long. Node enforces
// the header and request timeouts only when it sweeps its connections, every
// `connectionsCheckingInterval` (30 s by default, read once at listen): a client trickling
// header bytes was cut after 5 to 35 s instead of 5. Given at construction, so every value is
// in place before the sweep starts.
const LIMITS = {
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  connectionsCheckingInterval: 1_000,
  keepAliveTimeout: 5_000,
} satisfies ServerOptions;

// Listen on `listen` (host:port); resolves once bound, rejects when the port is unusable.
export async function startStatusServer(
  listen: string,
  api: StatusApi,
  log: Logger,
): Promise<StatusServer> {
  const { host, port } = parseListenAddress(listen);
  if (!isLoopback(host)) {
    log.warn({ listen }, "status endpoint listens beyond loopback: put TLS in front of it");
  }
  const server = createServer(LIMITS, (req, res) => {
    handleRequest(api, req, res).catch((error: unknown) => {
      // The client hung up, or was cut by the request timeout, while we read its body: no
      // one is left to answer, and it is not a failure of ours.
      if (res.destroyed) {
        log.debug({ err: error, url: req.url, method: req.method }, "status endpoint client gone");
        return;
      }
      log.error({ err: error, url: req.url, method: req.method }, "status endpoint request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  server.maxHeadersCount = 50;
  // A handful of monitoring systems and people ask this endpoint; more open connections than
  // this are someone holding sockets open, and are refused rather than kept.
  server.maxConnections = 64;
  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => log.error({ err: error }, "status endpoint error"));
  const bound = server.address();
  const address =
    bound && typeof bound === "object" ? `${bound.address}:${bound.port}` : String(bound);
  return { address, close: () => closeServer(server) };
}

// Stop accepting, drop idle keep-alive connections, and wait for requests in flight, for at
// most the request timeout. close() also stops Node's timeout sweep: without the bound, one
// client trickling a request would hold the close, and with it a reload or stop of the daemon,
// forever.
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), LIMITS.requestTimeout);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
