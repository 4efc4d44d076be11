// Whether the live revision still waits for its promotion: it was verified by a sync of this host
// (not put back by a rollback or restore) and no push of it to promote.branch has landed. Read
// from the state DB alone, so a poll can ask it every period for nothing.
import type { AppConfig } from "../config/schema.js";
import { lastPromotionOf, verifiedBySync } from "../state/promotions.js";
import type { StateDb } from "../state/state-db.js";

export function promotionDue(db: StateDb, app: AppConfig, live: string | undefined): boolean {
  if (!app.promote || !live) return false;
  if (!verifiedBySync(db, app.name, live)) return false;
  return lastPromotionOf(db, app.name, live, app.promote.branch)?.outcome !== "promoted";
}
