// `agent status` on a blue-green app: which color serves, and what the other one does.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { colorRows } from "../../../src/commands/status.js";
import type { BlueGreenStatus, ColorStatus } from "../../../src/views/colors-status.js";

process.env.TZ = "UTC";

const NEW = "20261123T120000Z-0123456789ab";

function color(port: number, state: string, connections: number): ColorStatus {
  return { unit: "u", port, release: NEW, revision: "r", state, connections };
}

function status(fields: Partial<BlueGreenStatus>): BlueGreenStatus {
  return {
    strategy: "blue-green",
    color: "green",
    port: 8002,
    upstreamError: null,
    colors: { blue: color(8001, "inactive", 0), green: color(8002, "active", 9) },
    drain: null,
    ...fields,
  };
}

const trimmed = (rows: string[]) => rows.map((r) => r.trim().replace(/ +/, " "));

describe("colorRows", () => {
  test("green serves, blue stopped", () => {
    assert.deepEqual(trimmed(colorRows(status({}))), [
      `serving green :8002 (release ${NEW})`,
      "idle blue stopped",
    ]);
  });

  test("blue draining its last connections", () => {
    const rows = colorRows(
      status({
        colors: { blue: color(8001, "active", 3), green: color(8002, "active", 9) },
        drain: {
          color: "blue",
          since: "2026-11-23T12:01:40.000Z",
          timeoutMs: 120_000,
          connections: 3,
        },
      }),
    );
    assert.deepEqual(trimmed(rows).slice(1), ["draining blue: 3 connections since 12:01"]);
  });

  test("blue left running with no drain", () => {
    const rows = colorRows(
      status({ colors: { blue: color(8001, "active", 1), green: color(8002, "active", 9) } }),
    );
    assert.deepEqual(trimmed(rows).slice(1), [
      "running blue active: 1 connection, its drain ended (agent sync stops it)",
    ]);
  });

  test("nothing serves yet", () => {
    assert.deepEqual(trimmed(colorRows(status({ color: null, port: null }))), [
      "serving no color serves yet: run agent sync",
    ]);
  });
});
