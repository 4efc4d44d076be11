// Strategy `blue-green` in the config (DESIGN.md "Strategy `blue-green`"): the two colors, the
// names and URLs each one gets, and the rules that tie `strategy`, `blue_green`, `service`,
// `socket` and `health.url` together.

import type { AppConfig, BlueGreenConfig, HealthConfig } from "./schema.js";

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];

// Stands for a color's port in `health.url`, so one URL verifies either color on its own port.
export const PORT_PLACEHOLDER = "{port}";

// An app deployed blue-green, with what a loaded config guarantees such an app has.
export type BlueGreenApp = AppConfig & {
  strategy: "blue-green";
  blue_green: BlueGreenConfig;
  health: HealthConfig;
};

export function isBlueGreen(app: AppConfig): app is BlueGreenApp {
  return app.strategy === "blue-green" && app.blue_green !== undefined && app.health !== undefined;
}

// A template unit: "shop@.service". Its instances are the colors: "shop@blue.service".
const TEMPLATE_UNIT = /^([^@]+)@\.service$/;

// The unit that runs one color: "shop@.service" and "blue" give "shop@blue.service".
export function colorUnit(service: string, color: Color): string {
  const match = TEMPLATE_UNIT.exec(service);
  if (!match) throw new Error(`${service} is not a template unit (name@.service)`);
  return `${match[1]}@${color}.service`;
}

// The health URL of the instance listening on `port`: `{port}` filled in. A URL without the
// placeholder (strategy restart) is returned as it is.
export function healthUrlFor(url: string, port: number): string {
  return url.replaceAll(PORT_PLACEHOLDER, String(port));
}

// The fields of an app the strategy rules read (structural, so the schema can call the rules
// without the app type referring to itself).
export interface StrategyFields {
  strategy: "restart" | "blue-green";
  service: string;
  socket?: string | undefined;
  blue_green?: { ports: Record<Color, number> } | undefined;
  health?: { url: string } | undefined;
}

// One broken rule: the key path inside the app, and what was expected.
export interface StrategyProblem {
  path: (string | number)[];
  message: string;
}

// Rules across keys of one app that a per-key schema cannot state. Blue-green runs two instances
// of a template unit on two ports behind the proxy, so it needs the block, a template, distinct
// ports and a health URL that names the port; restart runs one unit and fills in no port.
export function strategyProblems(app: StrategyFields): StrategyProblem[] {
  const problems: StrategyProblem[] = [];
  const hasPort = app.health?.url.includes(PORT_PLACEHOLDER) ?? false;
  if (app.strategy === "restart") {
    if (app.blue_green) {
      problems.push({
        path: ["blue_green"],
        message: 'only used with strategy "blue-green" (this app\'s strategy is "restart")',
      });
    }
    if (hasPort) {
      problems.push({
        path: ["health", "url"],
        message: `${PORT_PLACEHOLDER} is filled in only with strategy "blue-green": write the app's port`,
      });
    }
    return problems;
  }
  if (!app.blue_green) {
    problems.push({
      path: ["blue_green"],
      message: 'required with strategy "blue-green": ports, upstream_file and public_url',
    });
  }
  if (!TEMPLATE_UNIT.test(app.service)) {
    problems.push({
      path: ["service"],
      message: `strategy "blue-green" runs one instance per color: expected a template unit like "shop@.service", got "${app.service}"`,
    });
  }
  if (app.socket) {
    problems.push({
      path: ["socket"],
      message:
        'not with strategy "blue-green": each color listens on its own port (blue_green.ports) and the proxy switches between them',
    });
  }
  const ports = app.blue_green?.ports;
  if (ports && ports.blue === ports.green) {
    problems.push({
      path: ["blue_green", "ports"],
      message: `blue and green need different ports (both are ${ports.blue})`,
    });
  }
  if (!app.health) {
    problems.push({
      path: ["health"],
      message: `required with strategy "blue-green": a url with ${PORT_PLACEHOLDER}, so each color is verified on its own port`,
    });
  } else if (!hasPort) {
    problems.push({
      path: ["health", "url"],
      message: `with strategy "blue-green" the URL must contain ${PORT_PLACEHOLDER} where the port goes (each color is verified on its own port), e.g. http://127.0.0.1:${PORT_PLACEHOLDER}/health`,
    });
  }
  return problems;
}
