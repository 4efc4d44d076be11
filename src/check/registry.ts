// Every health check `agent check` runs, in display order.
import { backupsCheck } from "./backups.js";
import { databaseCheck } from "./database.js";
import { diskCheck } from "./disk.js";
import { driftCheck } from "./drift.js";
import { healthCheck } from "./health.js";
import { permissionsCheck } from "./permissions.js";
import { processesCheck } from "./processes.js";
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
