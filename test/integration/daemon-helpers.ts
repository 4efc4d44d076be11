// What the daemon integration tests read inside a machine: the daemon's journal entries, its
// unit's properties, the state DB (with the machine's python) and the status endpoint (curl).

import assert from "node:assert/strict";
import type { Machine } from "../machine/machine.js";
import { GUEST_REPO } from "../machine/paths.js";
import { unitProperty } from "../machine/units.js";

export const UNIT = "deploy-agent.service";
export const ENDPOINT = "http://127.0.0.1:9107";
export const TOKEN_FILE = "/etc/deploy-agent/token";

// One pino line from the daemon's journal.
export interface Entry {
  msg: string;
  time: string;
  level: string;
  app?: string;
  trigger?: string;
  status?: string;
  failing?: string[];
  outcome?: string;
  revision?: string;
  from?: string;
  to?: string;
  recovered?: boolean;
  [key: string]: unknown;
}

// Every pino entry of the daemon unit (systemd's own lines are not JSON and are left out).
export async function entries(machine: Machine): Promise<Entry[]> {
  const text = await machine.journal(UNIT);
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Entry);
}

// The whole journal text of the unit, systemd's lines included.
export async function journalText(machine: Machine): Promise<string> {
  return machine.journal(UNIT);
}

// Wait for the first entry at or after `since` (ISO time) that matches; returns it.
export async function waitForEntry(
  machine: Machine,
  since: string,
  match: (entry: Entry) => boolean,
  what: string,
  timeoutMs = 40_000,
): Promise<Entry> {
  return machine.waitFor(
    async () => (await entries(machine)).find((e) => e.time >= since && match(e)),
    timeoutMs,
    { what, intervalMs: 500 },
  );
}

// The machine's clock as an ISO string, the same format pino writes.
export async function now(machine: Machine): Promise<string> {
  const out = await machine.exec(["date", "-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"], { reject: true });
  return out.stdout.trim();
}

// A scheduled check entry of the shop app.
export function isScheduledCheck(entry: Entry): boolean {
  return entry.msg === "check finished" && entry.app === "shop" && entry.trigger === "schedule";
}

// The daemon's main PID inside the machine (0 when it is not running).
export async function mainPid(machine: Machine): Promise<number> {
  return Number(await unitProperty(machine, UNIT, "MainPID"));
}

// Rows of a state-DB query, as JSON objects, read with the machine's python.
export async function stateRows(machine: Machine, sql: string): Promise<Record<string, unknown>[]> {
  const py = `import json, sqlite3, sys
c = sqlite3.connect("file:/var/lib/deploy-agent/state.db?mode=ro", uri=True, timeout=10)
c.row_factory = sqlite3.Row
print(json.dumps([dict(r) for r in c.execute(sys.argv[1])]))`;
  const result = await machine.exec(["/usr/bin/python3", "-c", py, sql], { reject: true });
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

export interface HttpAnswer {
  code: number;
  body: string;
}

// One request to the status endpoint from inside the machine.
export async function http(
  machine: Machine,
  method: string,
  path: string,
  token?: string,
): Promise<HttpAnswer> {
  const args = ["curl", "-s", "-X", method, "-w", "\n%{http_code}", `${ENDPOINT}${path}`];
  if (token !== undefined) args.push("-H", `Authorization: Bearer ${token}`);
  const result = await machine.exec(args);
  assert.equal(result.exitCode, 0, `curl ${method} ${path}: ${result.stderr}`);
  const cut = result.stdout.lastIndexOf("\n");
  return { code: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
}

// Two POSTs fired back to back in one shell, so the second lands while the first sync runs.
export async function postTwice(machine: Machine, path: string, token: string): Promise<number[]> {
  const curl = `curl -s -o /dev/null -w '%{http_code}\\n' -X POST -H "Authorization: Bearer $1" ${ENDPOINT}${path}`;
  const result = await machine.exec(["sh", "-c", `${curl}; ${curl}`, "post-twice", token], {
    reject: true,
  });
  return result.stdout.trim().split("\n").map(Number);
}

// Hold the shop app's lock as a sync would, from a transient unit in the machine, until the
// returned function stops it: what the daemon's schedule must answer with "deploying".
export async function holdShopLock(machine: Machine): Promise<() => Promise<void>> {
  const script = `import("${GUEST_REPO}/dist/src/system/lock.js").then((m) => m.acquireLock("shop", "test holder")).then(() => setInterval(() => {}, 1000))`;
  await machine.exec(
    ["systemd-run", "--unit=hold-shop-lock", "--collect", process.execPath, "-e", script],
    { reject: true },
  );
  const release = async () => {
    await machine.exec(["systemctl", "stop", "hold-shop-lock"]);
  };
  try {
    // The lock file outlives every run (emptied, never removed): wait until it names the holder.
    await machine.waitFor(
      async () =>
        (await machine.exec(["grep", "-q", "test holder", "/run/deploy-agent/shop.lock"]))
          .exitCode === 0,
      10_000,
      { what: "the test lock" },
    );
  } catch (error) {
    await release();
    throw error;
  }
  return release;
}
