// One color of a blue-green app seen as an app of its own: its instance unit, its health URL on
// its own port, no socket. The checks, the verify step and the stop and start of a service then
// work on a color exactly as they work on a restart app, with no blue-green case inside them.
import { type BlueGreenApp, type Color, colorUnit, healthUrlFor } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";

export function colorView(app: BlueGreenApp, color: Color): AppConfig {
  const port = app.blue_green.ports[color];
  return {
    ...app,
    strategy: "restart",
    blue_green: undefined,
    socket: undefined,
    service: colorUnit(app.service, color),
    health: { ...app.health, url: healthUrlFor(app.health.url, port) },
  };
}

// The app as a client reaching it through the proxy sees it: the health probe goes to public_url.
export function publicView(app: BlueGreenApp): AppConfig {
  return { ...colorView(app, "blue"), health: { ...app.health, url: app.blue_green.public_url } };
}
