// How a sync ended, as commands, the daemon and `agent status` see it.
import { remember } from "../state/app-memory.js";
import type { StateDb } from "../state/state-db.js";

// "refused": the fetched commit is not trusted (a rewritten branch, a missing or unknown
// signature); nothing was touched.
export type SyncOutcome =
  | "deployed"
  | "noop"
  | "rolled-back"
  | "failed"
  | "unreachable"
  | "refused";

export interface SyncResult {
  app: string;
  code: number;
  outcome: SyncOutcome;
  revision?: string;
  message?: string;
  // The push of the live commit to promote.branch, when one was due (src/promote/).
  promotion?: { branch: string; outcome: string; message: string | null; repeated?: boolean };
}

// Remember how the last sync ended (for `agent status`), whatever it was, and pass it on.
export function rememberResult(db: StateDb, result: SyncResult): SyncResult {
  remember(
    db,
    result.app,
    "last_sync",
    JSON.stringify({ at: new Date().toISOString(), ...result }),
  );
  return result;
}
