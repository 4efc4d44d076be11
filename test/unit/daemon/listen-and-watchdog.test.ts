// Small parsers: http.listen addresses and systemd's watchdog environment.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isLoopback, parseListenAddress } from "../../../src/daemon/listen-address.js";
import { createNotifier, watchdogIntervalMs } from "../../../src/daemon/notify.js";

test("listen addresses", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:9107"), { host: "127.0.0.1", port: 9107 });
  assert.deepEqual(parseListenAddress("[::1]:9107"), { host: "::1", port: 9107 });
  assert.deepEqual(parseListenAddress("localhost:80"), { host: "localhost", port: 80 });
});

test("loopback detection", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"])
    assert.ok(isLoopback(host), host);
  for (const host of ["0.0.0.0", "10.0.0.1", "::", "example.com"])
    assert.ok(!isLoopback(host), host);
});

test("watchdog interval from WATCHDOG_USEC, only for our PID", () => {
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 42), 30_000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42), 30_000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 42), undefined);
  assert.equal(watchdogIntervalMs({}, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "0" }, 42), undefined);
});

test("outside systemd the notifier does nothing and arms no timer", () => {
  const notifier = createNotifier({ WATCHDOG_USEC: "1000000" });
  notifier.ready();
  notifier.status("x");
  // Without NOTIFY_SOCKET nothing is sent, so no timer may keep the process alive.
  assert.equal(notifier.startWatchdog(), 1000);
  notifier.stopWatchdog();
});
