// The colors of a blue-green app as the status shows them: who serves, each color's release,
// state and connections, and the drain in progress.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ColorState } from "../../../src/check/color-state.js";
import type { DrainInfo } from "../../../src/check/drain.js";
import type { Color } from "../../../src/config/blue-green.js";
import { type BlueGreenFacts, describeBlueGreen } from "../../../src/views/colors-status.js";

const FILE = "/etc/nginx/deploy-agent/shop.upstream";
const OLD = "20261123T101500Z-3f2a1c9b0d1e";
const NEW = "20261123T120000Z-0123456789ab";
const SINCE = "2026-11-23T12:01:00.000Z";

function color(c: Color, activeState: string, connections: number): ColorState {
  return {
    color: c,
    unit: `shop@${c}.service`,
    port: c === "blue" ? 8001 : 8002,
    activeState,
    subState: activeState === "active" ? "running" : "dead",
    connections,
  };
}

function release(name: string) {
  return {
    name,
    dir: `/srv/shop/releases/${name}`,
    revision: `${name.slice(-12)}${"0".repeat(28)}`,
  };
}

function drain(alive: boolean): DrainInfo {
  return {
    record: { color: "blue", port: 8001, since: SINCE, timeoutMs: 120_000, pid: 4242 },
    alive,
  };
}

// Green just took over from blue, which still drains three connections.
function facts(fields: Partial<BlueGreenFacts> = {}): BlueGreenFacts {
  return {
    upstreamFile: FILE,
    upstreamPort: 8002,
    upstreamError: undefined,
    ports: { blue: 8001, green: 8002 },
    colors: { blue: color("blue", "active", 3), green: color("green", "active", 12) },
    releases: { blue: release(OLD), green: release(NEW) },
    drain: drain(true),
    ...fields,
  };
}

describe("describeBlueGreen", () => {
  test("the serving color and port, both colors, the drain in progress", () => {
    assert.deepEqual(describeBlueGreen(facts()), {
      strategy: "blue-green",
      color: "green",
      port: 8002,
      upstreamError: null,
      colors: {
        blue: {
          unit: "shop@blue.service",
          port: 8001,
          release: OLD,
          revision: release(OLD).revision,
          state: "active",
          connections: 3,
        },
        green: {
          unit: "shop@green.service",
          port: 8002,
          release: NEW,
          revision: release(NEW).revision,
          state: "active",
          connections: 12,
        },
      },
      drain: { color: "blue", since: SINCE, timeoutMs: 120_000, connections: 3 },
    });
  });

  test("a drain whose process died is not in progress", () => {
    assert.equal(describeBlueGreen(facts({ drain: drain(false) })).drain, null);
    assert.equal(describeBlueGreen(facts({ drain: undefined })).drain, null);
  });

  test("before the first deploy: no color, no port, no releases", () => {
    const status = describeBlueGreen(
      facts({
        upstreamPort: undefined,
        colors: { blue: color("blue", "inactive", 0), green: color("green", "inactive", 0) },
        releases: { blue: undefined, green: undefined },
        drain: undefined,
      }),
    );
    assert.equal(status.color, null);
    assert.equal(status.port, null);
    assert.equal(status.upstreamError, null);
    assert.equal(status.colors.blue.release, null);
    assert.equal(status.colors.green.revision, null);
    assert.equal(status.colors.blue.state, "inactive");
  });

  test("an upstream file naming neither color, or unreadable, says why", () => {
    const neither = describeBlueGreen(facts({ upstreamPort: 9000 }));
    assert.equal(neither.color, null);
    assert.match(neither.upstreamError ?? "", /port 9000, which is neither color's/);
    const broken = describeBlueGreen(
      facts({ upstreamPort: undefined, upstreamError: `${FILE} names no server` }),
    );
    assert.equal(broken.upstreamError, `${FILE} names no server`);
  });

  test("a unit systemd says nothing about reads as unknown", () => {
    const status = describeBlueGreen(
      facts({ colors: { blue: color("blue", "", 0), green: color("green", "active", 1) } }),
    );
    assert.equal(status.colors.blue.state, "unknown");
  });
});
