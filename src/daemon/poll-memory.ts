// What auto-update remembers per app in app_memory, so a daemon restart changes nothing: the
// branch head it last acted on, and a commit that failed (not retried until the branch moves).
import { recall, remember } from "../state/app-memory.js";
import type { StateDb } from "../state/state-db.js";

const HANDLED = "poll.handled_sha";
const FAILED = "poll.failed_sha";

export interface PollMemory {
  handled?: string;
  failed?: string;
}

export function readPollMemory(db: StateDb, app: string): PollMemory {
  return { handled: recall(db, app, HANDLED), failed: recall(db, app, FAILED) };
}

// After a sync of `sha`: it is handled either way; a failure also marks it failed, a success
// clears the mark.
export function rememberSyncResult(db: StateDb, app: string, sha: string, failed: boolean): void {
  remember(db, app, HANDLED, sha);
  remember(db, app, FAILED, failed ? sha : "");
}
