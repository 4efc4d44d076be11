// What the checks of one run judge. A restart app is judged as it is configured. A blue-green app
// is judged by the color that serves (DESIGN.md "Strategy `blue-green`"): its unit, its processes
// and its health URL, through colorView, while `current` (the serving color's release) stays what
// the release, health and drift checks compare with.
import { type BlueGreenApp, COLORS, type Color, isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import { readUpstream } from "../proxy/upstream-file.js";
import { colorView } from "../strategies/color-view.js";
import type { CheckOutcome } from "./types.js";

export interface BlueGreenSubject {
  // The app as configured: both colors, the upstream file, the proxy.
  app: BlueGreenApp;
  // The port the upstream file sends traffic to; undefined before the first deploy wrote it.
  upstreamPort: number | undefined;
  // Why the upstream file could not be read (not a file the agent wrote, an unsafe directory).
  upstreamError: string | undefined;
  // The color whose port the upstream file names.
  serving: Color | undefined;
}

export interface CheckSubject {
  // What the checks read as "the app": a blue-green app's serving color as an app of its own.
  app: AppConfig;
  blueGreen?: BlueGreenSubject;
}

// The checks that judge one running instance of the app: on a blue-green app they need a color
// to judge, and without one they say why instead of judging the template unit, which never runs.
export const COLOR_CHECKS: ReadonlySet<string> = new Set([
  "service",
  "processes",
  "health",
  "endpoints",
]);

// Read who serves, once per run. Reading the upstream file never throws here: a broken one is the
// proxy check's to report, and the checks that need a color say they cannot tell which.
export async function checkSubject(app: AppConfig): Promise<CheckSubject> {
  if (!isBlueGreen(app)) return { app };
  let upstreamPort: number | undefined;
  let upstreamError: string | undefined;
  try {
    upstreamPort = (await readUpstream(app.blue_green.upstream_file))?.port;
  } catch (error) {
    upstreamError = (error as Error)?.message ?? String(error);
  }
  const serving = colorOfPort(app.blue_green.ports, upstreamPort);
  return {
    app: serving ? colorView(app, serving) : app,
    blueGreen: { app, upstreamPort, upstreamError, serving },
  };
}

// The color listening on `port`; undefined for no port or a port of neither color.
export function colorOfPort(
  ports: Record<Color, number>,
  port: number | undefined,
): Color | undefined {
  return port === undefined ? undefined : COLORS.find((c) => ports[c] === port);
}

// Why a blue-green app has no color to judge, as the outcome of a check that needs one.
export function noServingColor(subject: BlueGreenSubject): CheckOutcome {
  const { upstream_file: file, ports } = subject.app.blue_green;
  const problem = servingProblem(file, ports, subject.upstreamPort, subject.upstreamError) ?? "";
  // Nothing deployed yet is certainly broken for anyone who expects the app to answer; a file we
  // cannot read leaves this check unable to tell (the proxy check reports the file as critical).
  if (subject.upstreamPort === undefined && subject.upstreamError === undefined) {
    return { status: "critical", summary: problem, details: {} };
  }
  return { status: "unknown", summary: `cannot tell which color serves: ${problem}`, details: {} };
}

// What keeps the upstream file from naming a serving color, in words; undefined when it names one.
export function servingProblem(
  file: string,
  ports: Record<Color, number>,
  upstreamPort: number | undefined,
  upstreamError: string | undefined,
): string | undefined {
  if (upstreamError !== undefined) return upstreamError;
  if (upstreamPort === undefined) return "no color serves yet: run agent sync";
  if (colorOfPort(ports, upstreamPort)) return undefined;
  return `${file} sends traffic to port ${upstreamPort}, which is neither blue (${ports.blue}) nor green (${ports.green})`;
}
