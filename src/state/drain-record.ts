// The drain of a blue-green app's old color, on record while it runs: `agent check`, `agent
// status` and the status endpoint (other processes) report a draining color as draining, never as
// a stray, and say since when. Cleared when the old color is stopped.
import { recall, remember } from "./app-memory.js";
import type { StateDb } from "./state-db.js";

const KEY = "blue-green.drain";

export interface DrainRecord {
  // The color being drained and its port.
  color: string;
  port: number;
  // ISO time the drain began, and its limit (0: none, it waits for every connection).
  since: string;
  timeoutMs: number;
  // The process that drains: a record whose pid is gone belongs to a run that died.
  pid: number;
}

export function recordDrain(db: StateDb, app: string, drain: DrainRecord): void {
  remember(db, app, KEY, JSON.stringify(drain));
}

export function clearDrain(db: StateDb, app: string): void {
  db.prepare("DELETE FROM app_memory WHERE app = ? AND key = ?").run(app, KEY);
}

// The drain on record, if any (whether its process still lives is for the caller to judge).
export function drainOnRecord(db: StateDb, app: string): DrainRecord | undefined {
  const text = recall(db, app, KEY);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as DrainRecord;
  } catch {
    return undefined;
  }
}
