// Every health check `agent check` runs, in display order.
import { isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import { backupsCheck } from "./backups.js";
import { databaseCheck } from "./database.js";
import { diskCheck } from "./disk.js";
import { driftCheck } from "./drift.js";
import { healthCheck } from "./health.js";
import { permissionsCheck } from "./permissions.js";
import { processesCheck } from "./processes.js";
import { proxyCheck } from "./proxy.js";
import { releaseCheck } from "./release.js";
import { serviceCheck } from "./service.js";
import type { Check } from "./types.js";

export const allChecks: Check[] = [
  releaseCheck,
  serviceCheck,
  processesCheck,
  permissionsCheck,
  databaseCheck,
  healthCheck,
  backupsCheck,
  diskCheck,
  driftCheck,
];

// A blue-green app has a proxy in front: after the serving color's health, the route to it.
const blueGreenChecks: Check[] = allChecks.flatMap((check) =>
  check === healthCheck ? [check, proxyCheck] : [check],
);

// The checks that apply to an app, in display order.
export function checksFor(app: AppConfig): Check[] {
  return isBlueGreen(app) ? blueGreenChecks : allChecks;
}
