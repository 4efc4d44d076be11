// Every health check `agent check` runs for an app, in display order: the built-in ones, then the
// app's own (custom checks, by the names the config gives them).
import { isBlueGreen } from "../config/blue-green.js";
import type { AppConfig } from "../config/schema.js";
import { backupsCheck } from "./backups.js";
import { customCheck } from "./custom.js";
import { databaseCheck } from "./database.js";
import { diskCheck } from "./disk.js";
import { driftCheck } from "./drift.js";
import { endpointsCheck } from "./endpoints.js";
import { envFileCheck } from "./env-file.js";
import { healthCheck } from "./health.js";
import { logsCheck } from "./logs.js";
import { permissionsCheck } from "./permissions.js";
import { processesCheck } from "./processes.js";
import { promotionCheck } from "./promotion.js";
import { proxyCheck } from "./proxy.js";
import { releaseCheck } from "./release.js";
import { remoteCheck } from "./remote.js";
import { serviceCheck } from "./service.js";
import type { Check } from "./types.js";

// The checks every app gets. The optional ones below join only when configured, so a table
// holds no row that could only ever say "not configured".
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

// The checks that apply to an app, in display order.
export function checksFor(app: AppConfig): Check[] {
  const checks: Check[] = [];
  for (const check of allChecks) {
    if (check === databaseCheck && app.env_file) checks.push(envFileCheck);
    checks.push(check);
    if (check === healthCheck) {
      // A blue-green app has a proxy in front: after the serving color's health, the route to it.
      if (isBlueGreen(app)) checks.push(proxyCheck);
      if ((app.health?.endpoints.length ?? 0) > 0) checks.push(endpointsCheck);
    }
  }
  if (app.logs) checks.push(logsCheck);
  if (app.promote) checks.push(promotionCheck);
  if (app.repo.ssh_key || app.repo.token_file) checks.push(remoteCheck);
  return [...checks, ...app.checks.map(customCheck)];
}
