// One color of a blue-green app as systemd and the kernel see it now: its unit's state and the
// connections open on its port. Read by the proxy check and by the status views.
import { type BlueGreenApp, type Color, colorUnit } from "../config/blue-green.js";
import { countEstablished } from "../system/connections.js";
import { showUnit } from "../system/systemd.js";

export interface ColorState {
  color: Color;
  unit: string;
  port: number;
  // systemd's ActiveState and SubState of the color's unit ("inactive", "active", "failed", …).
  activeState: string;
  subState: string;
  // ESTABLISHED connections on the color's port: the proxy's, and any made to it directly.
  connections: number;
}

export async function readColorState(app: BlueGreenApp, color: Color): Promise<ColorState> {
  const unit = colorUnit(app.service, color);
  const port = app.blue_green.ports[color];
  const [props, connections] = await Promise.all([
    showUnit(unit, ["ActiveState", "SubState"]),
    countEstablished(port),
  ]);
  return {
    color,
    unit,
    port,
    activeState: props.ActiveState ?? "",
    subState: props.SubState ?? "",
    connections,
  };
}

// Whether a color's unit has stopped: inactive, failed (its processes are gone all the same), or
// unknown to systemd. Anything else (active, activating, deactivating, reloading) may still hold
// connections.
export function isStopped(activeState: string): boolean {
  return activeState === "inactive" || activeState === "failed" || activeState === "";
}
