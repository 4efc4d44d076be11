// Connections and listeners on a port: the kernel's table lines parsed on either byte order, and
// the real tables of this host read while this test holds a port.
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, test } from "node:test";
import { countEstablished, describePortUse, listeningOn } from "../../../src/system/connections.js";
import { parseTcpLine, TCP_ESTABLISHED, TCP_LISTEN } from "../../../src/system/tcp-table.js";

describe("parseTcpLine", () => {
  // Lines as an x86 host prints them.
  const LISTEN_V4 =
    "   0: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0";
  const ESTABLISHED_V4 =
    "   7: 0100007F:1F41 0100007F:D2F0 01 00000000:00000000 02:000A7D2C 00000000    33        0 41299 2 0000000000000000 20 4 30 10 -1";
  const LISTEN_ANY_V6 =
    "   1: 00000000000000000000000000000000:1F42 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50001 1 0000000000000000 100 0 0 10 0";
  const LISTEN_LOOPBACK_V6 =
    "   2: 00000000000000000000000001000000:1F42 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50002 1 0000000000000000 100 0 0 10 0";
  const MAPPED_V6 =
    "   3: 0000000000000000FFFF00000100007F:1F41 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 50003 1 0000000000000000 20 4 30 10 -1";
  const GLOBAL_V6 =
    "   4: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 50004 1 0000000000000000 100 0 0 10 0";

  test("an IPv4 listener and an accepted connection, little-endian", () => {
    assert.deepEqual(parseTcpLine(LISTEN_V4, true), {
      localAddress: "127.0.0.1",
      localPort: 8001,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      state: TCP_LISTEN,
      inode: 41234,
    });
    assert.deepEqual(parseTcpLine(ESTABLISHED_V4, true), {
      localAddress: "127.0.0.1",
      localPort: 8001,
      remoteAddress: "127.0.0.1",
      remotePort: 54000,
      state: TCP_ESTABLISHED,
      inode: 41299,
    });
  });

  test("IPv6 wildcard, loopback, IPv4-mapped and a global address", () => {
    assert.equal(parseTcpLine(LISTEN_ANY_V6, true)?.localAddress, "::");
    assert.equal(parseTcpLine(LISTEN_LOOPBACK_V6, true)?.localAddress, "::1");
    assert.equal(parseTcpLine(MAPPED_V6, true)?.localAddress, "::ffff:127.0.0.1");
    assert.equal(parseTcpLine(MAPPED_V6, true)?.remotePort, 50000);
    assert.equal(parseTcpLine(GLOBAL_V6, true)?.localAddress, "2001:db8::1");
  });

  test("a big-endian host prints addresses in network order", () => {
    const be = LISTEN_V4.replace("0100007F:", "7F000001:");
    assert.equal(parseTcpLine(be, false)?.localAddress, "127.0.0.1");
    const v6 = LISTEN_LOOPBACK_V6.replace(
      "00000000000000000000000001000000:",
      "00000000000000000000000000000001:",
    );
    assert.equal(parseTcpLine(v6, false)?.localAddress, "::1");
  });

  test("the header, blank and broken lines are not sockets", () => {
    for (const line of [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "",
      "   0: 0100007F:1F41 00000000:0000 0A",
      "   0: 0100007F:1F4 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
      "   0: 0100007G:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
      "   0: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x 1",
    ]) {
      assert.equal(parseTcpLine(line, true), undefined, line);
    }
  });
});

describe("describePortUse", () => {
  test("names the holding process, then counts the rest", () => {
    const one = [
      { address: "127.0.0.1", port: 8002, inode: 9, processes: [{ pid: 1234, name: "python3" }] },
    ];
    assert.equal(describePortUse(8002, one), "port 8002 is in use by pid 1234 (python3)");
    const workers = [1, 2, 3, 4, 5].map((pid) => ({ pid, name: "gunicorn" }));
    assert.equal(
      describePortUse(8002, [
        { address: "0.0.0.0", port: 8002, inode: 9, processes: workers },
        { address: "::", port: 8002, inode: 10, processes: workers.slice(0, 1) },
      ]),
      "port 8002 is in use by pid 1 (gunicorn), pid 2 (gunicorn), pid 3 (gunicorn) and 2 more",
    );
  });

  test("says so when no process was found, and nothing when the port is free", () => {
    assert.equal(
      describePortUse(8002, [{ address: "::1", port: 8002, inode: 77, processes: [] }]),
      "port 8002 is in use (socket inode 77; no process found holding it)",
    );
    assert.equal(describePortUse(8002, []), undefined);
  });

  test("a process name is printed safely", () => {
    const evil = [
      { address: "::1", port: 1, inode: 1, processes: [{ pid: 5, name: "\u001b]0;x" }] },
    ];
    assert.equal(describePortUse(1, evil), "port 1 is in use by pid 5 (\\x1b]0;x)");
  });
});

describe("this host's tables", () => {
  test("a listener of this process is found with its pid; each accepted connection counted", async () => {
    const server = net.createServer();
    const accepted: net.Socket[] = [];
    server.on("connection", (socket) => accepted.push(socket));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as net.AddressInfo;
    try {
      const listeners = await listeningOn(port);
      assert.equal(listeners.length, 1);
      assert.equal(listeners[0]?.address, "127.0.0.1");
      assert.ok(
        listeners[0]?.processes.some((p) => p.pid === process.pid),
        JSON.stringify(listeners),
      );
      assert.equal(await countEstablished(port), 0);

      const clients = [net.connect(port, "127.0.0.1"), net.connect(port, "127.0.0.1")];
      await Promise.all(clients.map((c) => once(c, "connect")));
      await waitFor(() => accepted.length === 2);
      // Only the server's side has the port as its local port: two, not four.
      assert.equal(await countEstablished(port), 2);

      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      await waitForAsync(async () => (await countEstablished(port)) === 0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.deepEqual(await listeningOn(port), []);
  });

  test("refuses what is not a port", async () => {
    await assert.rejects(countEstablished(0), /port 0 is not a TCP port/);
    await assert.rejects(listeningOn(70000), /port 70000 is not a TCP port/);
  });
});

async function waitFor(done: () => boolean): Promise<void> {
  await waitForAsync(async () => done());
}

async function waitForAsync(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail("condition not reached within 2 s");
}
