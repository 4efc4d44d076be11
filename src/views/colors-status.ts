// A blue-green app's colors as `agent status` and the status endpoint show them (DESIGN.md: "the
// serving `color` and `port`, each color's release, state and open connections, and the drain in
// progress"). Reads only: the upstream file, systemd, /proc/net/tcp, the colors' links, the state DB.
import { colorOfPort } from "../check/check-subject.js";
import { type ColorState, readColorState } from "../check/color-state.js";
import { type DrainInfo, readDrain } from "../check/drain.js";
import { type BlueGreenApp, COLORS, type Color, isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import { readUpstream } from "../proxy/upstream-file.js";
import { readColor } from "../release/colors.js";
import { appLayout, type LiveRelease } from "../release/layout.js";
import type { StateDb } from "../state/state-db.js";

export interface ColorStatus {
  unit: string;
  port: number;
  // The release colors/<color> points at; null before the color's first deploy.
  release: string | null;
  revision: string | null;
  // The unit's ActiveState: "active", "inactive", "failed", …
  state: string;
  connections: number;
}

export interface DrainStatus {
  color: string;
  since: string;
  timeoutMs: number;
  // Connections still open on the draining color's port.
  connections: number;
}

export interface BlueGreenStatus {
  strategy: "blue-green";
  // The color whose port the upstream file names, and that port; null before the first deploy
  // (or when the file names neither color: `upstreamError` then says why).
  color: Color | null;
  port: number | null;
  upstreamError: string | null;
  colors: Record<Color, ColorStatus>;
  // The drain a live deploy is running; null when none is (a record left by a run that died is
  // not a drain in progress).
  drain: DrainStatus | null;
}

export type StrategyStatus = { strategy: "restart" } | BlueGreenStatus;

export interface BlueGreenFacts {
  upstreamFile: string;
  upstreamPort: number | undefined;
  upstreamError: string | undefined;
  ports: Record<Color, number>;
  colors: Record<Color, ColorState>;
  releases: Record<Color, LiveRelease | undefined>;
  drain: DrainInfo | undefined;
}

// The strategy part of an app's status: its name, and for blue-green, the colors.
export async function readStrategyStatus(app: AppConfig, db?: StateDb): Promise<StrategyStatus> {
  if (!isBlueGreen(app)) return { strategy: "restart" };
  return describeBlueGreen(await readBlueGreenFacts(app, db));
}

// Everything the status says about the colors, read concurrently.
export async function readBlueGreenFacts(app: BlueGreenApp, db?: StateDb): Promise<BlueGreenFacts> {
  const layout = appLayout(app);
  const file = app.blue_green.upstream_file;
  const [upstream, blue, green, blueRelease, greenRelease, drain] = await Promise.all([
    // A broken upstream file is reported, not thrown: the status must answer when things are wrong.
    readUpstream(file).then(
      (found) => ({ port: found?.port, error: undefined }),
      (error: Error) => ({ port: undefined, error: error?.message ?? String(error) }),
    ),
    readColorState(app, "blue"),
    readColorState(app, "green"),
    readColor(layout, "blue"),
    readColor(layout, "green"),
    readDrain(app.name, db),
  ]);
  return {
    upstreamFile: file,
    upstreamPort: upstream.port,
    upstreamError: upstream.error,
    ports: app.blue_green.ports,
    colors: { blue, green },
    releases: { blue: blueRelease, green: greenRelease },
    drain,
  };
}

// The status of a blue-green app from what was read.
export function describeBlueGreen(facts: BlueGreenFacts): BlueGreenStatus {
  const serving = colorOfPort(facts.ports, facts.upstreamPort);
  const upstreamError =
    facts.upstreamError ??
    (facts.upstreamPort !== undefined && !serving
      ? `${facts.upstreamFile} sends traffic to port ${facts.upstreamPort}, which is neither color's`
      : null);
  const colors = Object.fromEntries(
    COLORS.map((c) => [c, colorStatus(facts.colors[c], facts.releases[c])]),
  ) as Record<Color, ColorStatus>;
  const drain = facts.drain?.alive ? facts.drain.record : undefined;
  const drained = COLORS.find((c) => c === drain?.color);
  return {
    strategy: "blue-green",
    color: serving ?? null,
    port: serving ? facts.ports[serving] : null,
    upstreamError,
    colors,
    drain:
      drain && drained
        ? {
            color: drained,
            since: drain.since,
            timeoutMs: drain.timeoutMs,
            connections: facts.colors[drained].connections,
          }
        : null,
  };
}

function colorStatus(state: ColorState, release: LiveRelease | undefined): ColorStatus {
  return {
    unit: state.unit,
    port: state.port,
    release: release?.name ?? null,
    revision: release?.revision ?? null,
    state: state.activeState || "unknown",
    connections: state.connections,
  };
}
