// Step 7c: hand the DB to the app user, lift the hold and start the service.
import type { AppConfig } from "../config/schema.js";
import { logger } from "../log.js";
import { fixDatabaseOwnership } from "../sqlite/db-files.js";
import { showUnit, unitAction } from "../system/systemd.js";
import { liftHold } from "./hold.js";

// Fix the DB's owner and mode (a migration or restore may have created files as root), lift the
// hold, so a start already waiting for it goes on, and start the service (joining that start if
// there is one). The socket is started too in case it was stopped by hand.
export async function startService(app: AppConfig): Promise<void> {
  await fixDatabaseOwnership(app);
  await liftHold(app);
  if (app.socket) await deliberateStart(app.socket);
  await deliberateStart(app.service);
}

// systemd refuses a sixth start within 10 s (DefaultStartLimitBurst/IntervalSec) with the result
// "start-limit-hit", and the unit stays down. That limit is there to stop Restart= loops; the
// agent's starts are deliberate and a failed deploy makes two within a second (start, then the
// rollback's start), so a few quick deploys would leave the app stopped. Only in that case is the
// counter cleared (reset-failed) and the start tried once more, with a warning; a crash loop of
// the app itself is still bounded, since only these starts clear it.
export async function deliberateStart(unit: string): Promise<void> {
  try {
    await unitAction("start", unit);
  } catch (error) {
    const { Result } = await showUnit(unit, ["Result"]);
    if (Result !== "start-limit-hit") throw error;
    logger.warn({ unit }, `${unit} hit its start limit: resetting it and starting again`);
    await unitAction("reset-failed", unit);
    await unitAction("start", unit);
  }
}
