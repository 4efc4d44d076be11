// Check "proxy" (blue-green apps only): the upstream file names the serving color's port, the
// proxy runs and accepts its configuration, and the other color is idle or draining.
import type { Color } from "../config/blue-green.js";
import { printable } from "../output/sanitize.js";
import { ProxyConfigError, testProxyConfig } from "../proxy/nginx.js";
import { otherColor } from "../release/colors.js";
import { showUnit } from "../system/systemd.js";
import { colorOfPort, servingProblem } from "./check-subject.js";
import { type ColorState, isStopped, readColorState } from "./color-state.js";
import { type DrainInfo, readDrain } from "./drain.js";
import { formatClock } from "./format.js";
import { type Check, type CheckOutcome, type CheckStatus, severity, worstStatus } from "./types.js";

// What `nginx -t` said: passed, or why not (nginx's own lines, or ours when it printed none).
export type ConfigTest = { ok: true } | { ok: false; message: string; lines: string[] };

export interface ProxyFacts {
  upstreamFile: string;
  // The port the upstream file names; undefined when there is no file (or it could not be read).
  upstreamPort: number | undefined;
  upstreamError: string | undefined;
  ports: Record<Color, number>;
  proxy: { unit: string; activeState: string; subState: string };
  configTest: ConfigTest;
  colors: Record<Color, ColorState>;
  drain: DrainInfo | undefined;
}

export const proxyCheck: Check = {
  name: "proxy",
  async run(ctx) {
    const bg = ctx.blueGreen;
    if (!bg) return { status: "ok", summary: "not blue-green: no proxy", details: {} };
    const { app, upstreamPort, upstreamError } = bg;
    const [proxy, configTest, blue, green, drain] = await Promise.all([
      showUnit(app.blue_green.proxy, ["ActiveState", "SubState"]),
      runConfigTest(),
      readColorState(app, "blue"),
      readColorState(app, "green"),
      readDrain(app.name),
    ]);
    return judgeProxy({
      upstreamFile: app.blue_green.upstream_file,
      upstreamPort,
      upstreamError,
      ports: app.blue_green.ports,
      proxy: {
        unit: app.blue_green.proxy,
        activeState: proxy.ActiveState ?? "",
        subState: proxy.SubState ?? "",
      },
      configTest,
      colors: { blue, green },
      drain,
    });
  },
};

// `nginx -t` as an answer rather than an error: a refused configuration is what this check reports.
async function runConfigTest(): Promise<ConfigTest> {
  try {
    await testProxyConfig();
    return { ok: true };
  } catch (error) {
    if (!(error instanceof ProxyConfigError)) throw error;
    // The error's first line is our sentence; nginx's lines follow it and are kept apart.
    return { ok: false, message: error.message.split("\n")[0] ?? "", lines: error.lines };
  }
}

interface Finding {
  status: CheckStatus;
  text: string;
}

// Judge the route to the app: what is certainly broken (no serving color, a configuration nginx
// refuses, a proxy that does not run) is critical; an old color left running with nobody
// draining it is a warning (it holds memory and a port, and a stale release answers on it).
export function judgeProxy(facts: ProxyFacts): CheckOutcome {
  const { proxy, configTest } = facts;
  const serving = colorOfPort(facts.ports, facts.upstreamPort);
  const findings: Finding[] = [];
  const problem = servingProblem(
    facts.upstreamFile,
    facts.ports,
    facts.upstreamPort,
    facts.upstreamError,
  );
  if (problem) findings.push({ status: "critical", text: problem });
  if (!configTest.ok) {
    findings.push({ status: "critical", text: `nginx -t fails: ${firstErrorLine(configTest)}` });
  }
  if (!isUp(proxy.activeState)) {
    findings.push({
      status: "critical",
      text: `${proxy.unit} is ${proxy.activeState || "unknown"}${proxy.subState ? ` (${proxy.subState})` : ""}: nothing reaches the app`,
    });
  }
  const other = serving
    ? judgeOtherColor(facts.colors[otherColor(serving)], facts.drain)
    : undefined;
  if (other && other.status !== "ok") findings.push(other);
  const details = proxyDetails(facts, serving);
  const status = worstStatus(findings.map((f) => f.status));
  if (status !== "ok") {
    // The worst first: a reader of one line sees why the verdict is what it is.
    const worstFirst = [...findings].sort((a, b) => severity(b.status) - severity(a.status));
    return { status, summary: worstFirst.map((f) => f.text).join("; "), details };
  }
  const port = serving ? facts.ports[serving] : "?";
  return {
    status,
    summary: `${serving} :${port} serves through ${proxy.unit}; ${other?.text ?? ""}`,
    details,
  };
}

// The color that does not serve: stopped is as it should be; running while a live deploy drains
// it is too; running otherwise means a drain that ended without the stop (a run that died, or a
// person who started it by hand).
export function judgeOtherColor(other: ColorState, drain: DrainInfo | undefined): Finding {
  const { color, connections } = other;
  if (isStopped(other.activeState)) {
    return {
      status: "ok",
      text: `${color} idle${other.activeState === "failed" ? " (failed)" : ""}`,
    };
  }
  const n = `${connections} connection${connections === 1 ? "" : "s"}`;
  if (drain?.alive && drain.record.color === color) {
    return {
      status: "ok",
      text: `${color} draining: ${n} since ${formatClock(drain.record.since)}`,
    };
  }
  return {
    status: "warning",
    text: `${color} still running after its drain ended (${n}): agent sync stops it, or systemctl stop ${other.unit.replace(/\.service$/, "")}`,
  };
}

function proxyDetails(facts: ProxyFacts, serving: Color | undefined): Record<string, unknown> {
  const { proxy, configTest, drain } = facts;
  const other = serving ? facts.colors[otherColor(serving)] : undefined;
  const ownDrain = drain && other && drain.record.color === other.color ? drain : undefined;
  return {
    upstreamFile: facts.upstreamFile,
    upstreamPort: facts.upstreamPort ?? null,
    serving: serving ? { color: serving, port: facts.ports[serving] } : null,
    other: other
      ? {
          color: other.color,
          unit: other.unit,
          port: other.port,
          state: other.activeState,
          subState: other.subState,
          connections: other.connections,
          drain: ownDrain
            ? {
                since: ownDrain.record.since,
                timeoutMs: ownDrain.record.timeoutMs,
                pid: ownDrain.record.pid,
                alive: ownDrain.alive,
              }
            : null,
        }
      : null,
    proxy: {
      unit: proxy.unit,
      state: proxy.activeState,
      subState: proxy.subState,
      configTest: configTest.ok ? "ok" : { message: configTest.message, lines: configTest.lines },
    },
  };
}

// nginx's first line that says what is wrong ("[emerg] unexpected "}" in …:12"), without the
// "nginx: " every line starts with; our own sentence when nginx printed nothing.
export function firstErrorLine(test: { message: string; lines: string[] }): string {
  const line =
    test.lines.find((l) => /\[(emerg|alert|crit|error)\]/.test(l)) ?? test.lines[0] ?? test.message;
  return printable(line.replace(/^nginx: /, ""), 300);
}

function isUp(activeState: string): boolean {
  return activeState === "active" || activeState === "reloading";
}
