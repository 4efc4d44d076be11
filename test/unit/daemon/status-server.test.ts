// The status endpoint's time limits, over a real socket: a slow client is cut within seconds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { StatusApi } from "../../../src/daemon/routes.js";
import { type StatusServer, startStatusServer } from "../../../src/daemon/status-server.js";
import { rawRequest } from "./raw-http.js";

const api: StatusApi = {
  version: "9.9.9",
  token: "0123456789abcdef0123456789abcdef",
  hasApp: (app) => app === "shop",
  appHealth: async (app) => ({ healthy: true, body: { app, status: "ok" } }),
  status: async () => ({ apps: ["shop"] }),
  appStatus: async (app) => ({ app }),
  startSync: async () => ({ started: true }),
  pageData: async () => ({ host: "h", version: "v", generatedAt: "", apps: [] }),
  metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "m 1\n" }),
};

// Everything the server logged.
const logged: { level: number; msg: string }[] = [];
let server: StatusServer;
before(async () => {
  const log = pino({ level: "debug" }, { write: (line: string) => logged.push(JSON.parse(line)) });
  server = await startStatusServer("127.0.0.1:0", api, log);
});
after(() => server.close());

// The three run at once, so the file takes as long as the slowest (about 11 s).
describe("slow clients", { concurrency: true, timeout: 15_000 }, () => {
  test("a client trickling its headers a byte a second is cut with 408 after 5-7 s", async () => {
    const headers = "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: never-ends-never-ends";
    const answer = await rawRequest(server.address, "G", headers.slice(1));
    assert.equal(answer.status, 408);
    assert.deepEqual(JSON.parse(answer.body), { error: "request timeout" });
    assert.ok(answer.closedAfterMs >= 4_500, `cut too early: ${answer.closedAfterMs} ms`);
    assert.ok(answer.closedAfterMs <= 7_000, `held for ${answer.closedAfterMs} ms`);
  });

  test("a client that sends its headers, then trickles a body, is cut after 10-12 s", async () => {
    const head = "GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n";
    const answer = await rawRequest(server.address, head, "x".repeat(100));
    assert.equal(answer.status, 408);
    assert.deepEqual(JSON.parse(answer.body), { error: "request timeout" });
    assert.ok(answer.closedAfterMs >= 9_500, `cut too early: ${answer.closedAfterMs} ms`);
    assert.ok(answer.closedAfterMs <= 12_000, `held for ${answer.closedAfterMs} ms`);
  });

  test("closing the server waits for a trickling client at most 10 s", async () => {
    // A server of its own: closing stops Node's timeout sweep, so only the bound cuts it.
    const own = await startStatusServer("127.0.0.1:0", api, pino({ level: "silent" }));
    const client = rawRequest(own.address, "G", "ET /health HTTP/1.1\r\nX-Slow: never-ends");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    await own.close();
    const tookMs = Date.now() - started;
    assert.ok(tookMs <= 11_000, `close took ${tookMs} ms`);
    assert.ok((await client).closedAfterMs <= 12_000, "the client was disconnected");
  });
});

test("a client cut while its body was read is logged as gone, not as a failed request", async () => {
  // The server learns of the cut when the socket closes, just after the client does.
  for (let waited = 0; !logged.some((e) => e.msg === "status endpoint client gone"); waited += 20) {
    assert.ok(waited < 2_000, `no "client gone" event: ${JSON.stringify(logged)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(
    logged.filter((e) => e.level >= 50),
    [],
  );
});
