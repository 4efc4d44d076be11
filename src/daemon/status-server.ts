// The status endpoint's server on bare node:http: listen, time limits, error handling, close.
import { createServer, type Server } from "node:http";
import type { Logger } from "../log.js";
import { sendJson } from "./http-io.js";
import { isLoopback, parseListenAddress } from "./listen-address.js";
import { handleRequest, type StatusApi } from "./routes.js";

export interface StatusServer {
  address: string;
  close(): Promise<void>;
}

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
  const server = createServer((req, res) => {
    handleRequest(api, req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url, method: req.method }, "status endpoint request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  // A slow or stuck client must not hold a connection (and memory) open for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
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

// Stop accepting, drop idle keep-alive connections, and wait for requests in flight.
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
