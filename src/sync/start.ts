// Step 7c: hand the DB to the app user, lift the hold and start the service.
import type { AppConfig } from "../config/schema.js";
import { unitAction } from "../system/systemd.js";
import { fixDatabaseOwnership } from "./db-files.js";
import { liftHold } from "./hold.js";

// Fix the DB's owner and mode (a migration or restore may have created files as root), lift the
// hold, so a start already waiting for it goes on, and start the service (joining that start if
// there is one). The socket is started too in case it was stopped by hand.
export async function startService(app: AppConfig): Promise<void> {
  await fixDatabaseOwnership(app);
  await liftHold(app);
  if (app.socket) await unitAction("start", app.socket);
  await unitAction("start", app.service);
}
