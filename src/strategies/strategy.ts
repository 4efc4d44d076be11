// A strategy is the order of named steps that brings a fetched commit into service, and the way
// back when one of them fails. `restart` (the default) stops the app to switch; `blue-green`
// starts the new release beside the old one and switches the proxy.
import type { AppConfig } from "../config/schema.js";
import type { SyncResult } from "../deploy/result.js";
import type { DeployRun } from "../deploy/run.js";

export interface Strategy {
  // Steps 4–9 of a sync for one fetched commit; every step recorded, a failure undone.
  deploy(run: DeployRun): Promise<SyncResult>;
}

// The app's strategy. Each is imported on first use: a host without blue-green apps never
// loads its code.
export async function strategyFor(app: AppConfig): Promise<Strategy> {
  if (app.strategy === "blue-green") return (await import("./blue-green.js")).blueGreen;
  return (await import("./restart.js")).restart;
}
